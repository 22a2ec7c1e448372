"""Beta-Bernoulli posteriors per arm from the rewards a rail delivered: P(best) and densities."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl


def posteriors(frame: pl.DataFrame, arms: int) -> tuple[np.ndarray, np.ndarray]:
    """Beta(1,1)-Bernoulli posteriors (alpha, beta) per arm from the rewards the rail saw; one row
    per seed (shape seeds x arms; a frame without `seed` is one run)."""
    seen = frame.filter(pl.col("observed"))
    seed_ids = np.unique(frame["seed"].to_numpy()) if "seed" in frame.columns else np.zeros(1, dtype=np.int64)
    row = np.searchsorted(seed_ids, seen["seed"].to_numpy()) if "seed" in frame.columns else np.zeros(seen.height, dtype=np.int64)
    idx = row * arms + seen["arm"].to_numpy()
    size = len(seed_ids) * arms
    wins = np.bincount(idx, weights=seen["reward"].to_numpy().astype(float), minlength=size).reshape(-1, arms)
    total = np.bincount(idx, minlength=size).reshape(-1, arms)
    return 1.0 + wins, 1.0 + total - wins


def prob_best(alpha: np.ndarray, beta: np.ndarray, draws: int = 20_000, seed: int = 0) -> np.ndarray:
    """Monte Carlo probability that each arm has the highest rate under Beta posteriors (same shape as alpha)."""
    a, b = np.atleast_2d(alpha), np.atleast_2d(beta)
    theta = np.random.default_rng(seed).beta(a, b, size=(draws, *a.shape))
    winner = theta.argmax(axis=-1)
    p = (winner[..., None] == np.arange(a.shape[-1])).mean(axis=0)
    return p.reshape(np.shape(alpha))


def posterior_density(alpha: np.ndarray, beta: np.ndarray, labels: Sequence[str], points: int = 200) -> pl.DataFrame:
    """Beta posterior densities per arm on a grid of rates (up to a little beyond the widest posterior)."""
    a, b = np.asarray(alpha, dtype=float), np.asarray(beta, dtype=float)
    mean, sd = a / (a + b), np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    upper = float(min(1.0, (mean + 5 * sd).max()))
    x = np.linspace(upper / points, upper, points) - upper / (2 * points)
    log_norm = np.array([math.lgamma(p) + math.lgamma(q) - math.lgamma(p + q) for p, q in zip(a, b)])
    dens = np.exp((a[:, None] - 1) * np.log(x) + (b[:, None] - 1) * np.log1p(-x) - log_norm[:, None])
    return pl.DataFrame({"arm": np.repeat(np.array(labels, dtype=object), points).astype(str),
                         "rate": np.tile(x, len(a)), "density": dens.ravel()})
