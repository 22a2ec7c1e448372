"""Cached helpers and chart builders for the Copy tests page.

Same pattern as ui/data.py: bounded caches keyed by JSON strings and small arguments. The copy
test itself is keyed by the problem (true rates, shares and, for the full-stack rail only, the
observation rates), not by the scenario: a consent knob re-runs only the full-stack tests, and
two learners whose runs give the same problem share the results.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

import altair as alt
import polars as pl
import streamlit as st

from engine import bandit
from engine.scenario import Scenario
from ui.charts import theme
from ui.services import simulation as data

Runs = Mapping[tuple[str, str], dict[str, pl.DataFrame]]
POLICY_COLOURS = {"uniform": "#757575", "epsilon_greedy": "#8e24aa", "ucb1": "#00897b", "thompson": "#d81b60",
                  "contextual_thompson": "#f9a825"}
ARM_COLOURS = ["#6d4c41", "#e53935", "#3949ab", "#43a047", "#fb8c00", "#00acc1"]
RAILS = ("truth", "baseline", "fullstack")  # theme order


@st.cache_data(max_entries=32, ttl=3600, show_spinner=False)
def _types(scenario_json: str) -> pl.DataFrame:
    return bandit.visitor_types(data.run(Scenario.model_validate_json(scenario_json)))


def visitor_types(scenario: Scenario) -> pl.DataFrame:
    """Sessions and full-stack observation rate per persona x device, from the scenario's run."""
    return _types(scenario.canonical_json())


def problem(scenario: Scenario) -> bandit.Problem:
    return bandit.problem(visitor_types(scenario))


def day_length(scenario: Scenario, rounds: int) -> int:
    """Rounds per baseline report: the test's sessions spread over the scenario's days."""
    return max(1, math.ceil(rounds / scenario.traffic.days))


@st.cache_data(max_entries=96, ttl=3600, show_spinner="Running the copy tests…")
def _summary(problem_json: str, policy: str, rail: str, rounds: int, seeds: int, context: str,
             day_len: int) -> dict[str, pl.DataFrame]:
    return bandit.summary(bandit.Problem.from_json(problem_json), policy, rail, rounds, seeds, context, day_len)


def summary(prob: bandit.Problem, policy: str, rail: str, rounds: int, seeds: int, context: str,
            day_len: int) -> dict[str, pl.DataFrame]:
    """engine.bandit.summary, cached; arguments that cannot change the result are left out of the key."""
    if rail != "fullstack":
        prob = replace(prob, observe=dict.fromkeys(prob.observe, 1.0))
    if policy != "contextual_thompson":
        context = bandit.CONTEXTS[0]
    if rail != "baseline":
        day_len = 1
    return _summary(prob.to_json(), policy, rail, rounds, seeds, context, day_len)


def stacked(runs: Runs, key: str) -> pl.DataFrame:
    """One summary part of every run, with `policy` and `rail` columns."""
    return pl.concat([out[key].with_columns(policy=pl.lit(p), rail=pl.lit(r)) for (p, r), out in runs.items()])


def results(runs: Runs) -> pl.DataFrame:
    """Per policy and rail: regret, conversion, share observed, the arm crowned most often, and the SRM check."""
    rows = []
    for (policy, rail), out in runs.items():
        total, check, arms = out["totals"].row(0, named=True), out["srm"].row(0, named=True), out["arms"]
        rows.append({"policy": policy, "rail": rail, "cumulative_regret": total["regret"], "conversion": total["conversion"],
                     "observed_share": total["observed_share"], "crowned_most": arms["arm"][int(arms["crowned"].arg_max())],
                     "assigned": " / ".join(map(str, arms["assigned"])), "observed": " / ".join(map(str, arms["observed"])),
                     "chi2": check["chi2"], "p_value": check["p_value"], "srm_flag": check["mismatch"]})
    return pl.DataFrame(rows)


def arm_colour(arms: tuple[str, ...]) -> alt.Color:
    return alt.Color("arm:N", scale=alt.Scale(domain=list(arms), range=ARM_COLOURS[: len(arms)]), title="Copy variant")


def policy_colour(policies: list[str]) -> alt.Color:
    return alt.Color("policy:N", scale=alt.Scale(domain=policies, range=[POLICY_COLOURS[p] for p in policies]), title="Policy")


def regret_chart(curves: pl.DataFrame, field: str, color: alt.Color) -> alt.LayerChart:
    """Mean cumulative regret (line) and its band over seeds (area), one colour per `field` value."""
    base = alt.Chart(curves).encode(x=alt.X("round:Q", title="round (session)"), color=color)
    band = base.mark_area(opacity=0.18).encode(y=alt.Y("low:Q", title="cumulative regret (expected orders lost)"), y2="high:Q")
    line = base.mark_line().encode(y="mean:Q", tooltip=[field, "round",
                                                        alt.Tooltip("mean:Q", format=",.1f"), alt.Tooltip("low:Q", format=",.1f"),
                                                        alt.Tooltip("high:Q", format=",.1f")])
    return (band + line).properties(height=300)


def allocation_chart(alloc: pl.DataFrame, arms: tuple[str, ...], policies: list[str]) -> alt.FacetChart:
    return (alt.Chart(alloc).mark_area().encode(
        x=alt.X("round:Q", title="round (session)"), y=alt.Y("share:Q", stack="normalize", title="share of sessions", axis=alt.Axis(format="%")),
        color=arm_colour(arms), order=alt.Order("arm:N"), tooltip=["policy", "round", "arm", alt.Tooltip("share:Q", format=".1%")],
    ).properties(height=110, width=600).facet(row=alt.Row("policy:N", sort=policies, title=None)))


def density_chart(density: pl.DataFrame, arms: tuple[str, ...]) -> alt.Chart:
    return alt.Chart(density).mark_line().encode(
        x=alt.X("rate:Q", title="conversion rate", axis=alt.Axis(format="%")), y=alt.Y("density:Q", title="posterior density"),
        color=arm_colour(arms), tooltip=["arm", alt.Tooltip("rate:Q", format=".2%"), alt.Tooltip("density:Q", format=",.1f")],
    ).properties(height=280)


def p_best_chart(arms_by_rail: pl.DataFrame, arms: tuple[str, ...]) -> alt.Chart:
    rails = tuple(r for r in RAILS if r in set(arms_by_rail["rail"]))
    return alt.Chart(arms_by_rail).mark_bar().encode(
        x=alt.X("arm:N", sort=list(arms), title=None, axis=alt.Axis(labelAngle=0)), xOffset=alt.XOffset("rail:N", sort=list(rails)),
        y=alt.Y("p_best:Q", title="P(best), mean over seeds", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        color=theme.rail_color(rails=rails), tooltip=["rail", "arm", alt.Tooltip("p_best:Q", format=".1%"), alt.Tooltip("crowned:Q", format=".0%")],
    ).properties(height=280)
