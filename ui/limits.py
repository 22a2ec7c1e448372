"""The server's limits, read once from the environment: the learner's run budget and the total memory
the caches may hold. One server serves a whole classroom, so every learner-triggered cost is bounded."""

from __future__ import annotations

import os

import streamlit as st

from engine.budget import Budget

PRESENTER_BUDGET_KEY = "budget.presenter_visitor_days"
PRESENTER_MAX_VISITOR_DAYS = 50_000_000  # what a presenter may raise their own session to
# A learner's largest copy test: sessions, and sessions x seeds. One new setting runs up to seven
# tests; at 120,000 that is about 4 s of CPU on a 2-core server (benchmarks/bandit.py prints it).
LEARNER_ROUNDS = 20_000
LEARNER_WORK = 120_000
_ENV = {"max_visitors": "DRCL_LEARNER_MAX_VISITORS", "max_days": "DRCL_LEARNER_MAX_DAYS",
        "max_visitor_days": "DRCL_LEARNER_MAX_VISITOR_DAYS"}


def learner_budget() -> Budget:
    """Defaults: 100,000 visitors, 30 days, 1,000,000 visitor-days (DRCL_LEARNER_MAX_* override them)."""
    return Budget.model_validate({k: os.environ[v] for k, v in _ENV.items() if os.environ.get(v)})


def session_budget(presenter: bool) -> Budget:
    """A learner's budget, or the one the logged-in presenter set for their session (never below a learner's)."""
    base = learner_budget()
    if not presenter:
        return base
    raised = int(st.session_state.get(PRESENTER_BUDGET_KEY, base.max_visitor_days))
    return Budget(max_visitors=max(base.max_visitors, min(raised, 100_000_000)), max_days=90,
                  max_visitor_days=max(base.max_visitor_days, raised))


def cache_bytes() -> int:
    """Total size the caches may hold: DRCL_CACHE_MB (default 3 GB)."""
    return int(float(os.environ.get("DRCL_CACHE_MB", "3072")) * 1024 * 1024)
