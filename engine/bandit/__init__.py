"""Copy tests as multi-armed bandits: policies, feedback through a rail, and the checks around them.

A round is one session that sees one copy variant (an arm) and orders or not (reward 1/0). The
world knows each visitor type's true rate per arm; the policy only sees rewards, and only those
its rail delivers: the truth (every reward at once), the full stack (only consenting, non-blocked
visitors report, each with a per-visitor-type probability) or the privacy baseline (server-side
orders without identity: counts per arm arrive once a day). Every learning policy explores
uniformly until each arm has `exploration_floor` observations (calibration.toml [bandit]).

Pure numpy/polars; no Streamlit, no I/O beyond reading `datasets/`. One concern per module:
calibration, context (the sensitive-trait rule), policies (the environment and the learning loop),
posterior, curves, stats (chi-square), sample_ratio (SRM), group_fairness, lab_problem (the copy
test from a run) and report (the page's summary). Callers use `from engine import bandit`.
"""

from __future__ import annotations

from engine.bandit.calibration import bandit_calibration, exploration_floor
from engine.bandit.context import CONTEXTS, SENSITIVE_TRAITS, check_context
from engine.bandit.curves import allocation, regret_curve
from engine.bandit.group_fairness import fairness, gap_flag
from engine.bandit.lab_problem import Problem, arm_table, observed_share, problem, variants, visitor_types
from engine.bandit.policies import (
    POLICIES,
    POLICY_LABELS,
    RAILS,
    SINGLE,
    observed_rates,
    population_rates,
    simulate,
    simulate_many,
)
from engine.bandit.posterior import posterior_density, posteriors, prob_best
from engine.bandit.report import summary
from engine.bandit.sample_ratio import SRM_ALPHA, srm, srm_counts
from engine.bandit.stats import chi2_sf

__all__ = [
    "CONTEXTS",
    "POLICIES",
    "POLICY_LABELS",
    "RAILS",
    "SENSITIVE_TRAITS",
    "SINGLE",
    "SRM_ALPHA",
    "Problem",
    "allocation",
    "arm_table",
    "bandit_calibration",
    "check_context",
    "chi2_sf",
    "exploration_floor",
    "fairness",
    "gap_flag",
    "observed_rates",
    "observed_share",
    "population_rates",
    "posterior_density",
    "posteriors",
    "prob_best",
    "problem",
    "regret_curve",
    "simulate",
    "simulate_many",
    "srm",
    "srm_counts",
    "summary",
    "variants",
    "visitor_types",
]
