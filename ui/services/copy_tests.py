"""Cached data for the Copy tests page.

The copy test itself is keyed by the problem (true rates, shares and, for the full-stack rail only,
the observation rates), not by the scenario: a consent knob re-runs only the full-stack tests, and
two learners whose runs give the same problem share the results.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import polars as pl

from engine import bandit
from engine.scenario import Scenario
from ui.cache import Codec, cached
from ui.services import simulation

Runs = Mapping[tuple[str, str], dict[str, pl.DataFrame]]
RAILS = ("truth", "baseline", "fullstack")  # theme order
PROBLEM: Codec[bandit.Problem] = Codec(bandit.Problem.to_json, bandit.Problem.from_json)


@cached("data", max_entries=32)
def visitor_types(scenario: Scenario) -> pl.DataFrame:
    """Sessions and full-stack observation rate per persona x device, from the scenario's run."""
    return bandit.visitor_types(simulation.run(scenario))


def problem(scenario: Scenario) -> bandit.Problem:
    return bandit.problem(visitor_types(scenario))


def day_length(scenario: Scenario, rounds: int) -> int:
    """Rounds per baseline report: the test's sessions spread over the scenario's days."""
    return max(1, math.ceil(rounds / scenario.traffic.days))


@cached("data", max_entries=96, codec=PROBLEM, heavy=True)  # the page's spinner says what runs, in its language
def _summary(prob: bandit.Problem, policy: str, rail: str, rounds: int, seeds: int, context: str,
             day_len: int) -> dict[str, pl.DataFrame]:
    return bandit.summary(prob, policy, rail, rounds, seeds, context, day_len)


def summary(prob: bandit.Problem, policy: str, rail: str, rounds: int, seeds: int, context: str,
            day_len: int) -> dict[str, pl.DataFrame]:
    """engine.bandit.summary, cached; arguments that cannot change the result are left out of the key."""
    if rail != "fullstack":
        prob = replace(prob, observe=dict.fromkeys(prob.observe, 1.0))
    if policy != "contextual_thompson":
        context = bandit.CONTEXTS[0]
    if rail != "baseline":
        day_len = 1
    return _summary(prob, policy, rail, rounds, seeds, context, day_len)


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


@dataclass(frozen=True)
class CopyTestRuns:
    """Every policy picked fed by the chosen rail, then the compared policy fed by each rail (in this order)."""

    every: dict[tuple[str, str], dict[str, pl.DataFrame]]
    on_rail: Runs  # the policies picked, on the chosen rail
    across: Runs  # the compared policy, on every rail


def test_runs(prob: bandit.Problem, policies: list[str], rail: str, focus: str, rounds: int, seeds: int, context: str,
              day_len: int) -> CopyTestRuns:
    runs = {(p, rail): summary(prob, p, rail, rounds, seeds, context, day_len) for p in policies}
    runs |= {(focus, r): summary(prob, focus, r, rounds, seeds, context, day_len) for r in RAILS}
    on_rail = {k: v for k, v in runs.items() if k[1] == rail and k[0] in policies}
    return CopyTestRuns(runs, on_rail, {k: v for k, v in runs.items() if k[0] == focus})


def fairness(on_rail: Runs) -> pl.DataFrame:
    """Per policy and visitor group: conversion, attainment of the group's best, and whether the group trails."""
    return stacked(on_rail, "fairness").select("policy", "by", "group", "sessions", "conversion", "expected", "best", "attainment",
                                               "shortfall", "flagged")
