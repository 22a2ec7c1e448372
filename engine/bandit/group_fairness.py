"""Fairness across groups: does a policy serve some group its worse copy?"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from engine.bandit.calibration import bandit_calibration


def gap_flag(values: Mapping[str, float], gap: float, relative: bool = True) -> tuple[float, bool]:
    """The gap between the best and the worst group and whether it exceeds `gap`. Relative: 1 -
    worst / best (a share of the best group's value); absolute: best - worst (same unit as values)."""
    v = np.array(list(values.values()), dtype=float)
    top, bottom = float(v.max()), float(v.min())
    size = (1 - bottom / top if top > 0 else 0.0) if relative else top - bottom
    return size, size > gap


def fairness(frame: pl.DataFrame, true_rates: Mapping[str, Sequence[float]], groups: Mapping[str, str],
             gap: float | None = None) -> pl.DataFrame:
    """Per group: sessions, realised conversion, the conversion its own best copy would give, and
    `attainment` (expected conversion under the policy / that best). A group is flagged when its
    attainment trails the best-served group's by more than `gap`, relatively (1 - its / best's);
    attainment, not raw conversion, so that groups with different buying intent compare fairly."""
    gap = float(bandit_calibration()["fairness_gap"]) if gap is None else gap
    lookup = pl.DataFrame({"visitor": list(true_rates), "group": [groups[v] for v in true_rates],
                           "best": [max(r) for r in true_rates.values()]})
    table = (frame.with_columns(pl.col("visitor").cast(pl.String)).join(lookup, on="visitor")
             .group_by("group").agg(sessions=pl.len(), conversion=pl.col("reward").mean(),
                                    expected=(pl.col("best") - pl.col("regret")).mean(), best=pl.col("best").mean())
             .with_columns(attainment=pl.col("expected") / pl.col("best")))
    return (table.with_columns(shortfall=1 - pl.col("attainment") / pl.col("attainment").max())
            .with_columns(flagged=pl.col("shortfall") > gap).sort("group"))
