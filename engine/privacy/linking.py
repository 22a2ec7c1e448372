"""Linkability across days: how many of a visitor's day-to-day transitions a rail's identifier, or a
cookieless fingerprint, could follow."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

# What a "cookieless" fingerprinting tool typically combines (no cookie, no consent asked).
COOKIELESS_FINGERPRINT = ("user_agent", "screen", "timezone", "language", "canvas", "webgl", "fonts")


def transitions(truth_events: pl.DataFrame) -> pl.DataFrame:
    """Each true visitor's consecutive active days: (visitor_id, day_a, day_b); a caller that links
    several rails against one truth computes it once and passes it on."""
    return (
        truth_events.select("visitor_id", "date").unique().sort("visitor_id", "date")
        .with_columns(day_a=pl.col("date").shift(1).over("visitor_id"))
        .drop_nulls("day_a")
        .select("visitor_id", "day_a", day_b="date")
    )


def linkability(rail_events: pl.DataFrame, truth_events: pl.DataFrame, id_column: str = "visitor_hash",
                tr: pl.DataFrame | None = None) -> dict[str, float]:
    """How many of the true visitors' day-to-next-active-day transitions a rail could follow: the
    rail holds the same identifier for that visitor on both days (e.g. the baseline's visitor hash)."""
    tr = transitions(truth_events) if tr is None else tr
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
                            columns: Sequence[str] = COOKIELESS_FINGERPRINT, tr: pl.DataFrame | None = None) -> dict[str, float]:
    """What a cookieless fingerprinting tool links: a transition counts when the visitor's fingerprint
    is unique among that day's visitors on both days, so matching it picks the right person."""
    tr = transitions(truth_events) if tr is None else tr
    fp = visitors.select("visitor_id", _fp=pl.struct(list(columns)).hash(11))
    daily = truth_events.select("visitor_id", "date").unique().join(fp, on="visitor_id").with_columns(
        alone=pl.len().over("date", "_fp") == 1).select("visitor_id", "date", "alone")
    linked = (
        tr.join(daily.rename({"date": "day_a", "alone": "a"}), on=["visitor_id", "day_a"])
        .join(daily.rename({"date": "day_b", "alone": "b"}), on=["visitor_id", "day_b"])
        .filter(pl.col("a") & pl.col("b"))
    )
    return _link_summary(tr, linked)
