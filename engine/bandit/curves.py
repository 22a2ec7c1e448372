"""A run over rounds: cumulative regret with a band over seeds, and the share of rounds per arm."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl


def allocation(frame: pl.DataFrame, labels: Sequence[str], buckets: int = 40) -> pl.DataFrame:
    """Share of rounds given to each arm in consecutive windows of rounds (averaged over seeds)."""
    last = int(frame["round"].max())
    width = max(1, math.ceil(last / buckets))
    counts = (frame.group_by(window=((pl.col("round") - 1) // width + 1) * width, arm="arm").len()
              .with_columns(share=pl.col("len") / pl.col("len").sum().over("window")))
    grid = pl.DataFrame({"window": sorted(set(counts["window"]))}).join(pl.DataFrame({"arm": range(len(labels))}), how="cross")
    return (grid.join(counts, on=["window", "arm"], how="left").fill_null(0.0)
            .select(pl.col("window").clip(upper_bound=last).alias("round"),
                    pl.col("arm").replace_strict(dict(enumerate(labels)), return_dtype=pl.String).alias("arm"),
                    pl.col("share").cast(pl.Float64))
            .sort("round", "arm"))


def regret_curve(frame: pl.DataFrame, points: int = 150, band: tuple[float, float] = (0.1, 0.9)) -> pl.DataFrame:
    """Cumulative regret over rounds: mean and a quantile band over seeds, at about `points` rounds."""
    seeds = ["seed"] if "seed" in frame.columns else []
    marks = np.unique(np.linspace(1, int(frame["round"].max()), points).round().astype(np.int64)).tolist()
    cum = (frame.sort([*seeds, "round"]).with_columns(cum=pl.col("regret").cum_sum().over(seeds) if seeds else pl.col("regret").cum_sum())
           .filter(pl.col("round").is_in(marks)))
    return (cum.group_by("round").agg(mean=pl.col("cum").mean(), low=pl.col("cum").quantile(band[0]),
                                      high=pl.col("cum").quantile(band[1])).sort("round"))
