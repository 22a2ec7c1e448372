"""Quasi-identifiers and k-anonymity: per rail, measured against the true visitors, and what each
masking step (IP truncation, user-agent reduction) buys."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from engine import masking

# Quasi-identifiers each rail stores (a rail's column is used only if it holds any value).
RAIL_QUASI_IDENTIFIERS: dict[str, tuple[str, ...]] = {
    "truth": ("country", "browser", "os", "device", "ipv4", "date"),
    "baseline": ("country", "browser_family", "os", "device_class", "ip_truncated", "date"),
    "fullstack": ("country", "browser_family", "os", "device_class", "ip_truncated", "date", "language", "device_id"),
}
K_THRESHOLD = 5


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
