"""The Copy tests page's knobs: which policies, how long a test, fed by which rail. They own the `ct.*` keys."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from engine import bandit
from ui.charts.theme import rail_label
from ui.components import auth
from ui.limits import LEARNER_ROUNDS, LEARNER_WORK
from ui.present import note
from ui.services.copy_tests import RAILS
from ui.words import num, t

ROUNDS = [2_000, 5_000, 10_000, 20_000, 50_000, 100_000]


@dataclass(frozen=True)
class Settings:
    policies: list[str]
    rounds: int
    seeds: int
    rail: str
    context: str
    focus: str


def policy_name(policy: str) -> str:
    """A bandit policy's name for people ("Thompson sampling" for thompson)."""
    return t(f"common.policy.{policy}")


def settings() -> Settings:
    """Two rows of knobs: policies, sessions and seeds; feedback rail, context, and the policy compared across rails."""
    c1, c2, c3 = st.columns([3, 2, 1])
    policies = c1.multiselect(t("copy_tests.policies"), bandit.POLICIES, default=list(bandit.POLICIES), format_func=policy_name, key="ct.policies")
    presenter = auth.is_presenter()
    rounds = c2.select_slider(t("copy_tests.rounds"), ROUNDS if presenter else [r for r in ROUNDS if r <= LEARNER_ROUNDS],
                              value=10_000, key="ct.rounds", format_func=num)
    seeds = c3.slider(t("copy_tests.seeds"), 2, 20, 8, key="ct.seeds")
    if not presenter and rounds * seeds > LEARNER_WORK:
        seeds = max(2, LEARNER_WORK // rounds)
        note(t("copy_tests.seeds_capped", rounds=num(rounds), asked=num(st.session_state["ct.seeds"]), seeds=num(seeds)))
    c4, c5, c6 = st.columns(3)
    rail = c4.selectbox(t("copy_tests.feedback_rail"), RAILS, index=2, format_func=rail_label, key="ct.rail")
    context = c5.selectbox(t("copy_tests.context"), bandit.CONTEXTS, key="ct.context", format_func=lambda c: t(f"copy_tests.context_{c}"))
    focus = c6.selectbox(t("copy_tests.focus"), bandit.POLICIES[:4], index=3, format_func=policy_name, key="ct.focus")
    return Settings(policies, rounds, seeds, rail, context, focus)
