"""Fingerprint entropy and uniqueness: bits per attribute, anonymity sets, 'one in N' and how
uniqueness falls as the population grows."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence

import numpy as np
import polars as pl

from engine import datasets

# The visitors table's fingerprint attributes (what a script can read without storing anything).
FINGERPRINT_ATTRIBUTES = ("user_agent", "screen", "timezone", "language", "canvas", "webgl", "fonts", "plugins",
                          "platform", "dnt", "cookies_enabled", "accept")
ANONYMITY_BINS = (1, 2, 5, 10, 50, 100, 1000)


def attribute_entropy(df: pl.DataFrame, columns: Sequence[str]) -> dict[str, float]:
    """Shannon entropy (bits) of each column's empirical distribution (nulls count as a value)."""
    out: dict[str, float] = {}
    for c in columns:
        p = df[c].value_counts()["count"].to_numpy() / max(df.height, 1)
        out[c] = float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0: no "-0.0" for a constant
    return out


def _group_sizes(df: pl.DataFrame, columns: Sequence[str]) -> pl.Series:
    """For each row, how many rows share its combination of values (its anonymity set)."""
    return df.select(pl.len().over(list(columns)).alias("set_size"))["set_size"]


def unique_share(df: pl.DataFrame, columns: Sequence[str]) -> float:
    """Share of rows whose combination of values occurs exactly once."""
    if df.height == 0:
        return 0.0
    return float((_group_sizes(df, columns) == 1).mean())


def one_in(bits: float) -> float:
    """'One in X browsers' for an attribute of this entropy: 2**bits (an average, not a given value)."""
    return float(2.0**bits)


def published_entropy() -> pl.DataFrame:
    """Published per-attribute entropies (bits; null = not measured) from datasets/calibration.toml."""
    entry = datasets.calibration()["fingerprint"]["entropy_bits"]
    rows = [(a, *[None if v < 0 else float(v) for v in entry[a]]) for a in FINGERPRINT_ATTRIBUTES if a in entry]
    return pl.DataFrame(rows, schema={"attribute": pl.String, "panopticlick_bits": pl.Float64, "amiunique_bits": pl.Float64},
                        orient="row")


def study_mix_overrides() -> dict[str, float]:
    """Scenario overrides for the fingerprint studies' device split (datasets/calibration.toml), with
    the Safari share the device profiles give on their own for that split (no re-weighting)."""
    mix = datasets.calibration()["fingerprint"]["study_device_mix"]
    profiles = datasets.device_profiles()
    safari = 0.0
    for device in ("desktop", "mobile", "tablet"):
        weights = [(p["weight"], p["browser"] == "Safari") for p in profiles if p["device"] == device]
        if mix[device] > 0:
            safari += mix[device] * sum(w for w, is_safari in weights if is_safari) / sum(w for w, _ in weights)
    return {f"traffic.device_mix.{d}": float(mix[d]) for d in ("desktop", "mobile", "tablet")} | {"traffic.safari_share": safari}


def entropy_table(df: pl.DataFrame, columns: Sequence[str] = FINGERPRINT_ATTRIBUTES) -> pl.DataFrame:
    """Per attribute: distinct values, entropy, 'one in X', and the published values beside them."""
    bits = attribute_entropy(df, columns)
    ours = pl.DataFrame({
        "attribute": list(columns),
        "distinct_values": [df[c].n_unique() for c in columns],
        "bits": [bits[c] for c in columns],
    }).with_columns(one_in=2.0 ** pl.col("bits"))
    return ours.join(published_entropy(), on="attribute", how="left", maintain_order="left").with_columns(
        panopticlick_one_in=2.0 ** pl.col("panopticlick_bits"), amiunique_one_in=2.0 ** pl.col("amiunique_bits")
    )


def anonymity_histogram(df: pl.DataFrame, columns: Sequence[str], bins: Sequence[int] = ANONYMITY_BINS) -> pl.DataFrame:
    """Browsers by the size of their anonymity set (how many share their exact fingerprint)."""
    sizes = _group_sizes(df, columns).to_numpy()
    edges = [*bins, np.inf]
    labels = [_bin_label(lo, hi) for lo, hi in itertools.pairwise(edges)]
    idx = np.searchsorted(np.asarray(edges[1:]), sizes, side="right")
    counts = np.bincount(idx, minlength=len(labels))[: len(labels)]
    return pl.DataFrame({"set_size": labels, "order": np.arange(len(labels)), "browsers": counts}).with_columns(
        share=pl.col("browsers") / max(df.height, 1)
    )


def _bin_label(lo: float, hi: float) -> str:
    if hi == lo + 1:
        return f"{int(lo)}" + (" (unique)" if lo == 1 else "")
    return f"{int(lo)}+" if math.isinf(hi) else f"{int(lo)}–{int(hi) - 1}"


def population_sizes(n: int, start: int = 1000, per_decade: int = 4) -> list[int]:
    """Log-spaced subsample sizes from `start` (or n, if smaller) up to n, n included."""
    lo = min(start, n)
    k = max(int(per_decade * math.log10(max(n / lo, 1))) + 1, 2)
    return sorted(set(np.rint(np.geomspace(lo, n, k)).astype(np.int64).tolist()) | {n})


def uniqueness_curve(df: pl.DataFrame, columns: Sequence[str], sizes: Iterable[int] | None = None, seed: int = 0) -> pl.DataFrame:
    """Unique share in nested random subsamples of growing size: uniqueness falls as the population grows."""
    codes = df.select(pl.struct(list(columns)).rank("dense").cast(pl.Int64) - 1).to_series().to_numpy()
    return curve_from_codes(codes, sizes, seed)


def curve_from_codes(codes: np.ndarray, sizes: Iterable[int] | None = None, seed: int = 0) -> pl.DataFrame:
    """Uniqueness curve of browsers given as one fingerprint code each (any integers, e.g. 64-bit
    hashes): the unique share in the first n of one seeded shuffle, for each n of `sizes`. Nested
    subsamples of one population, so the curve is smooth and each point a true subsample."""
    dense = np.unique(codes, return_inverse=True)[1].ravel() if codes.size else codes.astype(np.int64)
    perm = dense[np.random.default_rng(seed).permutation(len(dense))]
    rows = []
    for n in sizes if sizes is not None else population_sizes(len(dense)):
        counts = np.bincount(perm[:n])
        rows.append((int(n), float((counts == 1).sum() / max(n, 1))))
    return pl.DataFrame(rows, schema={"population": pl.Int64, "unique_share": pl.Float64}, orient="row")


def unique_share_of_codes(codes: np.ndarray) -> float:
    """Share of browsers whose code occurs exactly once."""
    if codes.size == 0:
        return 0.0
    _, inverse, counts = np.unique(codes, return_inverse=True, return_counts=True)
    return float((counts[inverse.ravel()] == 1).mean())


def visitor_rarity(df: pl.DataFrame, columns: Sequence[str], row: int) -> pl.DataFrame:
    """'Your browser is one in N', attribute by attribute (N = rows / rows sharing the value), then for
    the whole combination, and the sum of bits an independence assumption would claim."""
    n = df.height
    counts = df.select([pl.len().over(c).alias(c) for c in columns]).row(row)
    values = df.select([pl.col(c).cast(pl.String) for c in columns]).row(row)
    per = pl.DataFrame({"attribute": list(columns), "value": list(values), "sharing": list(counts)}, schema_overrides={"value": pl.String})
    per = per.with_columns(share=pl.col("sharing") / n, one_in=n / pl.col("sharing"), bits=(n / pl.col("sharing")).log(2))
    combined = int(_group_sizes(df, columns)[row])
    tail = pl.DataFrame({
        "attribute": ["all together (measured)", "all together if independent"],
        "value": [None, None],
        "sharing": [combined, None],
        "share": [combined / n, None],
        "one_in": [n / combined, 2.0 ** per["bits"].sum()],
        "bits": [math.log2(n / combined), per["bits"].sum()],
    }, schema=per.schema)
    return pl.concat([per, tail])
