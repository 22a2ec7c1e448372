"""The Copy tests page's knobs: which policies, how long a test, fed by which rail. They own the `ct.*` keys."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from engine import bandit
from ui.charts.theme import LABELS
from ui.components import auth
from ui.limits import LEARNER_ROUNDS, LEARNER_WORK
from ui.services.copy_tests import RAILS

ROUNDS = [2_000, 5_000, 10_000, 20_000, 50_000, 100_000]


@dataclass(frozen=True)
class Settings:
    policies: list[str]
    rounds: int
    seeds: int
    rail: str
    context: str
    focus: str


def settings() -> Settings:
    """Two rows of knobs: policies, sessions and seeds; feedback rail, context, and the policy compared across rails."""
    c1, c2, c3 = st.columns([3, 2, 1])
    policies = c1.multiselect("Policies", bandit.POLICIES, default=list(bandit.POLICIES), format_func=bandit.POLICY_LABELS.get, key="ct.policies")
    presenter = auth.is_presenter()
    rounds = c2.select_slider("Sessions in the test", ROUNDS if presenter else [r for r in ROUNDS if r <= LEARNER_ROUNDS],
                              value=10_000, key="ct.rounds")
    seeds = c3.slider("Seeds", 2, 20, 8, key="ct.seeds")
    if not presenter and rounds * seeds > LEARNER_WORK:
        seeds = max(2, LEARNER_WORK // rounds)
        st.caption(f"{rounds:,} sessions × {st.session_state['ct.seeds']} seeds is more than one learner may run on this "
                   f"shared server: using {seeds} seeds.")
    c4, c5, c6 = st.columns(3)
    rail = c4.selectbox("Feedback rail", RAILS, index=2, format_func=LABELS.get, key="ct.rail")
    context = c5.selectbox("Context of the contextual policy", bandit.CONTEXTS, key="ct.context")
    focus = c6.selectbox("Policy compared across rails", bandit.POLICIES[:4], index=3, format_func=bandit.POLICY_LABELS.get, key="ct.focus")
    return Settings(policies, rounds, seeds, rail, context, focus)
