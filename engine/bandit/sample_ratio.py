"""Sample-ratio mismatch: do the rounds a rail observed per arm keep the ratio the arms were assigned in?"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl

from engine.bandit.stats import chi2_sf

SRM_ALPHA = 0.001  # a usual SRM threshold (a convention of this lab, not a calibrated number)


def srm(assigned: Sequence[float] | np.ndarray, observed: Sequence[float] | np.ndarray, alpha: float = SRM_ALPHA) -> dict[str, float | bool]:
    """Sample-ratio-mismatch check: chi-square goodness of fit of the observed counts per arm to
    the ratio in which the arms were assigned; `mismatch` when p < alpha."""
    exp_share = np.asarray(assigned, dtype=float)
    obs = np.asarray(observed, dtype=float)
    keep = exp_share > 0
    if obs[~keep].sum() > 0:
        return {"chi2": math.inf, "df": int(keep.sum()), "p_value": 0.0, "mismatch": True}
    expected = obs.sum() * exp_share[keep] / exp_share[keep].sum()
    df = int(keep.sum()) - 1
    if df < 1 or obs.sum() == 0:
        return {"chi2": 0.0, "df": max(df, 0), "p_value": 1.0, "mismatch": False}
    chi2 = float(((obs[keep] - expected) ** 2 / expected).sum())
    p = chi2_sf(chi2, df)
    return {"chi2": chi2, "df": df, "p_value": p, "mismatch": p < alpha}


def srm_counts(frame: pl.DataFrame, arms: int) -> tuple[np.ndarray, np.ndarray]:
    """Rounds assigned to each arm, and rounds the rail observed per arm."""
    arm = frame["arm"].to_numpy()
    return np.bincount(arm, minlength=arms), np.bincount(arm[frame["observed"].to_numpy()], minlength=arms)
