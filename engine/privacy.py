"""What the data gives away: fingerprint entropy, anonymity sets, k-anonymity per rail,
linkability across days, and why an unkeyed hash is no anonymisation.

Pure polars/numpy (plus hashlib for the enumeration demo). The rails' tables are linked to the
truth only through `event_id`, which both carry: that is how each rail is measured against the truth.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import polars as pl

from engine import datasets, masking

# The visitors table's fingerprint attributes (what a script can read without storing anything).
FINGERPRINT_ATTRIBUTES = ("user_agent", "screen", "timezone", "language", "canvas", "webgl", "fonts", "plugins",
                          "platform", "dnt", "cookies_enabled", "accept")
# What a "cookieless" fingerprinting tool typically combines (no cookie, no consent asked).
COOKIELESS_FINGERPRINT = ("user_agent", "screen", "timezone", "language", "canvas", "webgl", "fonts")
# Quasi-identifiers each rail stores (a rail's column is used only if it holds any value).
RAIL_QUASI_IDENTIFIERS: dict[str, tuple[str, ...]] = {
    "truth": ("country", "browser", "os", "device", "ipv4", "date"),
    "baseline": ("country", "browser_family", "os", "device_class", "ip_truncated", "date"),
    "fullstack": ("country", "browser_family", "os", "device_class", "ip_truncated", "date", "language", "device_id"),
}
K_THRESHOLD = 5
ANONYMITY_BINS = (1, 2, 5, 10, 50, 100, 1000)


# --- entropy and uniqueness -------------------------------------------------------------------


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
    perm = codes[np.random.default_rng(seed).permutation(len(codes))]
    rows = []
    for n in sizes if sizes is not None else population_sizes(len(codes)):
        counts = np.bincount(perm[:n])
        rows.append((int(n), float((counts == 1).sum() / max(n, 1))))
    return pl.DataFrame(rows, schema={"population": pl.Int64, "unique_share": pl.Float64}, orient="row")


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


# --- quasi-identifiers, k-anonymity and masking steps -----------------------------------------


def k_anonymity(records: pl.DataFrame, quasi_identifiers: Sequence[str], person: str | None = "visitor_id",
                threshold: int = K_THRESHOLD) -> dict[str, float]:
    """k (smallest number of distinct persons sharing one combination of quasi-identifiers), the share
    of records in groups of fewer than `threshold` persons, and the share that are alone in theirs."""
    qi = list(quasi_identifiers)
    if records.height == 0:
        return {"records": 0, "groups": 0, "k": 0, "share_below_k": 0.0, "unique_share": 0.0}
    size = pl.col(person).n_unique().over(qi) if person else pl.len().over(qi)
    n = records.select(size.alias("n"))["n"]
    return {
        "records": records.height,
        "groups": records.select(qi).n_unique(),
        "k": int(n.min()),
        "share_below_k": float((n < threshold).mean()),
        "unique_share": float((n == 1).mean()),
    }


def rail_records(tables: dict[str, pl.DataFrame], rail: str, quasi_identifiers: Sequence[str] | None = None) -> pl.DataFrame:
    """One record per (true visitor, distinct quasi-identifier values) a rail stores; columns that are
    entirely empty in this run (e.g. a truncated IP that is not kept) are left out."""
    qi = list(quasi_identifiers or RAIL_QUASI_IDENTIFIERS[rail])
    truth = tables["truth_events"]
    if rail == "truth":
        ev = truth.select("visitor_id", "date").unique().join(tables["visitors"].drop("date"), on="visitor_id", how="left")
    else:
        ev = tables[f"{rail}_events"].join(truth.select("event_id", "visitor_id"), on="event_id", how="inner")
    kept = [c for c in qi if c in ev.columns and ev[c].null_count() < ev.height]
    return ev.select("visitor_id", *kept).unique()


def k_anonymity_by_rail(tables: dict[str, pl.DataFrame], threshold: int = K_THRESHOLD) -> pl.DataFrame:
    """k-anonymity of each rail's stored quasi-identifiers, measured against the true visitors."""
    rows = []
    for rail, qi in RAIL_QUASI_IDENTIFIERS.items():
        rec = rail_records(tables, rail, qi)
        used = [c for c in rec.columns if c != "visitor_id"]
        rows.append({"rail": rail, "quasi_identifiers": ", ".join(used), **k_anonymity(rec, used, threshold=threshold)})
    return pl.DataFrame(rows)


# (label, IPv4 bits kept or None = dropped, reduce the user agent?)
MASKING_STEPS: tuple[tuple[str, int | None, bool], ...] = (
    ("full IPv4, full user agent", 32, False),
    ("IPv4 /24, full user agent", 24, False),
    ("IPv4 /16, full user agent", 16, False),
    ("IP dropped, full user agent", None, False),
    ("IPv4 /24, reduced user agent", 24, True),
    ("IPv4 /16, reduced user agent", 16, True),
    ("IP dropped, reduced user agent", None, True),
)


def masking_steps(visitors: pl.DataFrame, truth_events: pl.DataFrame, threshold: int = K_THRESHOLD) -> pl.DataFrame:
    """What each masking step buys: k-anonymity of visitor-day records of (country, IPv4 at some
    truncation, user agent full or reduced, day) from the truth, step by step."""
    rec = truth_events.select("visitor_id", "date").unique().join(
        visitors.select("visitor_id", "country", "ipv4", "user_agent"), on="visitor_id", how="left")
    reduced = masking.reduce_user_agent(rec["user_agent"])
    rec = rec.with_columns(ua_reduced=pl.concat_str([reduced[c].fill_null("") for c in reduced.columns], separator="|"))
    ips = {bits: masking.truncate_ip(rec["ipv4"], bits, 128) for bits in {b for _, b, _ in MASKING_STEPS if b is not None}}
    rows = []
    for label, bits, reduce in MASKING_STEPS:
        frame = rec.with_columns(ip=ips[bits] if bits is not None else pl.lit(None, pl.String),
                                 ua=pl.col("ua_reduced") if reduce else pl.col("user_agent"))
        rows.append({"step": label, "ipv4_bits": bits, "user_agent": "reduced" if reduce else "full",
                     **k_anonymity(frame, ["country", "ip", "ua", "date"], threshold=threshold)})
    return pl.DataFrame(rows)


# --- linkability across days ------------------------------------------------------------------


def _transitions(truth_events: pl.DataFrame) -> pl.DataFrame:
    """Each true visitor's consecutive active days: (visitor_id, day_a, day_b)."""
    return (
        truth_events.select("visitor_id", "date").unique().sort("visitor_id", "date")
        .with_columns(day_a=pl.col("date").shift(1).over("visitor_id"))
        .drop_nulls("day_a")
        .select("visitor_id", "day_a", day_b="date")
    )


def linkability(rail_events: pl.DataFrame, truth_events: pl.DataFrame, id_column: str = "visitor_hash") -> dict[str, float]:
    """How many of the true visitors' day-to-next-active-day transitions a rail could follow: the
    rail holds the same identifier for that visitor on both days (e.g. the baseline's visitor hash)."""
    tr = _transitions(truth_events)
    ids = (
        rail_events.select("event_id", "date", id_column).drop_nulls(id_column)
        .join(truth_events.select("event_id", "visitor_id"), on="event_id", how="inner")
        .select("visitor_id", "date", pl.col(id_column).alias("_id")).unique()
    )
    linked = (
        tr.join(ids.rename({"date": "day_a"}), on=["visitor_id", "day_a"], how="inner")
        .join(ids.rename({"date": "day_b"}), on=["visitor_id", "day_b", "_id"], how="inner")
        .select("visitor_id", "day_a").unique()
    )
    return _link_summary(tr, linked)


def _link_summary(tr: pl.DataFrame, linked: pl.DataFrame) -> dict[str, float]:
    """Day-to-day transitions and how many of them (and of the visitors, throughout) were linked."""
    multi = tr["visitor_id"].n_unique()
    followed = linked.group_by("visitor_id").len().join(tr.group_by("visitor_id").len(), on="visitor_id", suffix="_all")
    return {
        "transitions": tr.height,
        "linked": linked.height,
        "share_linked": linked.height / tr.height if tr.height else 0.0,
        "multi_day_visitors": multi,
        "share_followed_throughout": followed.filter(pl.col("len") == pl.col("len_all")).height / multi if multi else 0.0,
    }


def fingerprint_linkability(visitors: pl.DataFrame, truth_events: pl.DataFrame,
                            columns: Sequence[str] = COOKIELESS_FINGERPRINT) -> dict[str, float]:
    """What a cookieless fingerprinting tool links: a transition counts when the visitor's fingerprint
    is unique among that day's visitors on both days, so matching it picks the right person."""
    tr = _transitions(truth_events)
    fp = visitors.select("visitor_id", _fp=pl.struct(list(columns)).hash(11))
    daily = truth_events.select("visitor_id", "date").unique().join(fp, on="visitor_id").with_columns(
        alone=pl.len().over("date", "_fp") == 1).select("visitor_id", "date", "alone")
    linked = (
        tr.join(daily.rename({"date": "day_a", "alone": "a"}), on=["visitor_id", "day_a"])
        .join(daily.rename({"date": "day_b", "alone": "b"}), on=["visitor_id", "day_b"])
        .filter(pl.col("a") & pl.col("b"))
    )
    return _link_summary(tr, linked)


# --- hashing is not anonymisation -------------------------------------------------------------


def sha256_hex(values: Iterable[str]) -> list[str]:
    """Plain (unkeyed) SHA-256 of each value, hex: what a naive 'anonymised' log stores."""
    return [hashlib.sha256(v.encode()).hexdigest() for v in values]


@dataclass(frozen=True)
class CrackResult:
    found: pl.DataFrame   # hash, value: every target hash the enumeration reversed
    targets: int
    candidates: int
    seconds: float

    @property
    def seconds_per_candidate(self) -> float:
        return self.seconds / max(self.candidates, 1)

    def extrapolate(self, candidates: float) -> float:
        """Seconds this machine would need for a space of `candidates` values, at the measured rate."""
        return candidates * self.seconds_per_candidate


class _Matcher:
    """Compares digests with target hashes on their first 8 bytes (vectorised), then in full.

    Targets may be shorter than a SHA-256 digest (the rails keep 64-bit keyed hashes): a target
    matches a candidate whose digest starts with it."""

    def __init__(self, target_hashes: Iterable[str]) -> None:
        self.targets = {h.lower() for h in target_hashes if h}
        if any(len(h) < 16 or len(h) % 2 for h in self.targets):
            raise ValueError("target hashes must be hex strings of at least 16 digits")
        self.prefix = np.unique(np.frombuffer(b"".join(bytes.fromhex(h[:16]) for h in self.targets), dtype=np.uint64)) \
            if self.targets else np.zeros(0, np.uint64)

    def match(self, candidates: list[bytes]) -> list[tuple[str, str]]:
        sha = hashlib.sha256
        digests = [sha(c).digest() for c in candidates]
        heads = np.frombuffer(b"".join(digests), dtype=np.uint64)[::4]
        out = []
        for i in np.flatnonzero(np.isin(heads, self.prefix)):
            hx = digests[i].hex()
            out += [(t, candidates[i].decode()) for t in self.targets if hx.startswith(t)]
        return out


def reverse_by_dictionary(target_hashes: Iterable[str], candidates: Iterable[str], chunk: int = 1 << 16) -> CrackResult:
    """Hash every candidate (plain SHA-256) and keep those that match a target: a dictionary attack."""
    m = _Matcher(target_hashes)
    found: list[tuple[str, str]] = []
    tried = 0
    t0 = time.perf_counter()
    batch: list[bytes] = []
    for c in candidates:
        batch.append(c.encode())
        if len(batch) == chunk:
            found += m.match(batch)
            tried += len(batch)
            batch = []
    if batch:
        found += m.match(batch)
        tried += len(batch)
    return _result(found, len(m.targets), tried, time.perf_counter() - t0)


@cache
def _host_suffixes() -> list[bytes]:
    return [f".{c}.{d}".encode() for c in range(256) for d in range(256)]


def reverse_ipv4(target_hashes: Iterable[str], prefixes16: Iterable[int]) -> CrackResult:
    """Enumerate every address of the given /16 prefixes (ints a << 8 | b), hash each with plain
    SHA-256 and keep the matches: 65,536 candidates per prefix."""
    m = _Matcher(target_hashes)
    hosts = _host_suffixes()
    found: list[tuple[str, str]] = []
    tried = 0
    t0 = time.perf_counter()
    for p in dict.fromkeys(int(x) for x in prefixes16):
        head = f"{p >> 8}.{p & 255}".encode()
        found += m.match([head + h for h in hosts])
        tried += len(hosts)
    return _result(found, len(m.targets), tried, time.perf_counter() - t0)


def _result(found: list[tuple[str, str]], targets: int, tried: int, seconds: float) -> CrackResult:
    frame = pl.DataFrame(found, schema={"hash": pl.String, "value": pl.String}, orient="row").unique("hash", keep="first")
    return CrackResult(frame, targets, tried, seconds)


def prefix16(ipv4: pl.Series) -> pl.Series:
    """The /16 prefix of dotted IPv4 addresses as an int (a << 8 | b); null if malformed."""
    parts = ipv4.str.extract_groups(r"^(\d{1,3})\.(\d{1,3})\.")
    return (parts.struct.field("1").cast(pl.Int64) * 256 + parts.struct.field("2").cast(pl.Int64)).rename("prefix16")


def email_dictionary(names: Iterable[tuple[str, str]], domains: Sequence[str], numbers: Iterable[int] = range(100)) -> list[str]:
    """Every address of the pattern first.last<number>@domain for the given (first, last) names."""
    nums = [str(n) for n in numbers]
    return [f"{f}.{la}{n}@{d}" for f, la in names for n in nums for d in domains]


def hashing_demo(values: pl.Series, key: bytes, attack: Callable[[set[str]], CrackResult]) -> tuple[pl.DataFrame, CrackResult]:
    """Hash the distinct values plain (SHA-256) and keyed (HMAC, as the rails do), run one attack
    against both sets of hashes, and count per scheme how many it reversed to the right value."""
    distinct = values.drop_nulls().unique()
    plain = pl.DataFrame({"value": distinct, "hash": sha256_hex(distinct.to_list())})
    keyed = pl.DataFrame({"value": distinct, "hash": masking.keyed_hash(distinct, key)})
    result = attack(set(plain["hash"]) | set(keyed["hash"]))
    rows = []
    for scheme, frame in (("SHA-256, no key", plain), ("HMAC-SHA-256 with a secret key", keyed)):
        right = frame.join(result.found, on=["hash", "value"], how="inner").height
        rows.append({"scheme": scheme, "hashes": frame.height, "reversed": right, "share_reversed": right / max(frame.height, 1)})
    return pl.DataFrame(rows), result


def crack_timings(result: CrackResult, spaces: dict[str, float]) -> pl.DataFrame:
    """Measured and extrapolated enumeration times for several candidate spaces (same machine, same code)."""
    rows: list[dict[str, Any]] = [{"space": "measured here", "candidates": float(result.candidates), "seconds": result.seconds}]
    rows += [{"space": k, "candidates": float(v), "seconds": result.extrapolate(v)} for k, v in spaces.items()]
    return pl.DataFrame(rows).with_columns(hours=pl.col("seconds") / 3600)
