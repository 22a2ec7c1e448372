"""Everything the copy-tests page shows about one policy on one rail, in one call."""

from __future__ import annotations

import numpy as np
import polars as pl

from engine.bandit.context import CONTEXTS
from engine.bandit.curves import allocation, regret_curve
from engine.bandit.group_fairness import fairness
from engine.bandit.lab_problem import Problem
from engine.bandit.policies import simulate_many
from engine.bandit.posterior import posterior_density, posteriors, prob_best
from engine.bandit.sample_ratio import srm, srm_counts


def summary(prob: Problem, policy: str, rail: str, rounds: int, seeds: int, context: str = "persona",
            day_length: int = 1000) -> dict[str, pl.DataFrame]:
    """Everything the page shows about one policy on one rail, over `seeds` seeds: regret curve,
    allocation, P(best) and who gets crowned, posterior densities (first seed), SRM, fairness."""
    frame = simulate_many(policy, prob.rates, rounds, range(seeds), **prob.options(rail, context, day_length))
    k = len(prob.arms)
    alpha, beta = posteriors(frame, k)
    p_best = prob_best(alpha, beta, draws=4000)
    crowned = np.bincount(p_best.argmax(axis=1), minlength=k) / seeds
    assigned, seen = srm_counts(frame, k)
    check = srm(assigned, seen)
    fair = pl.concat([fairness(frame, prob.rates, prob.segments(by)).with_columns(by=pl.lit(by)) for by in CONTEXTS])
    return {
        "regret": regret_curve(frame),
        "allocation": allocation(frame, prob.arms),
        "arms": pl.DataFrame({"arm": list(prob.arms), "p_best": p_best.mean(axis=0), "crowned": crowned,
                              "assigned": assigned, "observed": seen}),
        "density": posterior_density(alpha[0], beta[0], prob.arms),
        "srm": pl.DataFrame([{"chi2": check["chi2"], "df": check["df"], "p_value": check["p_value"], "mismatch": check["mismatch"]}]),
        "fairness": fair.select("by", pl.exclude("by")),
        "totals": pl.DataFrame([{"regret": float(frame.group_by("seed").agg(pl.col("regret").sum())["regret"].mean()),
                                 "conversion": float(frame["reward"].mean()), "observed_share": float(frame["observed"].mean())}]),
    }
