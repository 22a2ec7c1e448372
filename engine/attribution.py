"""Multi-touch attribution: who gets the credit for a conversion, on the truth and on each rail.

`credit` shares each conversion's value among the touches of its journey inside the lookback
window (``conversion.ts - lookback <= touch.ts <= conversion.ts``, both ends inclusive) under one
of five rule-based models. It is one join and one sort, no per-conversion Python
(`engine/attribution_reference.py` is the slow oracle it is tested against).

Order of touches, ties included: by ``ts``, then by ``channel`` (alphabetical). So with two touches
at the same instant the first touch is the alphabetically smaller channel and the last touch the
larger one; linear and time decay do not depend on the order.

`rail_journeys` says how each rail forms a journey (see its docstring); `credit_by_rail` runs a
model on the truth and on both rails.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from engine import datasets, metrics

MODELS = ("first_touch", "last_touch", "linear", "position_based", "time_decay")
MODEL_LABELS = {
    "first_touch": "First touch",
    "last_touch": "Last touch",
    "linear": "Linear",
    "position_based": "Position-based (40/20/40)",
    "time_decay": "Time decay",
}
NONE_CHANNEL = "(none)"
RAILS = ("truth", "baseline", "fullstack")
_US_PER_DAY = 86_400 * 1_000_000
_SECONDS_PER_DAY = 86_400.0


def _age_days(conv_ts: pl.Expr, touch_ts: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Days from touch to conversion; numeric timestamps count in seconds."""
    if dtype.is_temporal():
        return (conv_ts - touch_ts).dt.total_microseconds().cast(pl.Float64) / _US_PER_DAY
    return (conv_ts - touch_ts).cast(pl.Float64) / _SECONDS_PER_DAY


def _weight(model: str, half_life_days: float) -> pl.Expr:
    """Each touch's share of its conversion, from its position (`_pos`), the touch count (`_n`)
    and its age (`_age`); every model's shares sum to 1 per conversion."""
    pos, n = pl.col("_pos"), pl.col("_n")
    if model == "first_touch":
        return (pos == 0).cast(pl.Float64)
    if model == "last_touch":
        return (pos == n - 1).cast(pl.Float64)
    if model == "linear":
        return 1.0 / n.cast(pl.Float64)
    if model == "position_based":
        ends = (pos == 0) | (pos == n - 1)
        return (
            pl.when(n == 1).then(1.0)
            .when(n == 2).then(0.5)
            .when(ends).then(0.4)
            .otherwise(0.2 / (n - 2).cast(pl.Float64))
        )
    if model == "time_decay":
        raw = pl.lit(2.0).pow(-pl.col("_age") / half_life_days)
        return raw / _group_sum(raw)
    raise ValueError(f"unknown model {model!r}; use one of {MODELS}")


# Rows of one conversion are contiguous (sorted by conversion), so position, count and sums per
# conversion are linear scans: a window `.over` per conversion hashes a million groups and was the
# slowest step of the benchmark.
_IDX = pl.int_range(pl.len(), dtype=pl.Int64)
_START = pl.when(pl.col("_conv") != pl.col("_conv").shift()).then(_IDX).forward_fill().fill_null(0)
_END = pl.when(pl.col("_conv") != pl.col("_conv").shift(-1)).then(_IDX).backward_fill().fill_null(pl.len() - 1)


def _group_sum(x: pl.Expr) -> pl.Expr:
    """Sum of `x` over each conversion's contiguous rows."""
    cs = x.cum_sum()
    return cs.gather(pl.col("_end")) - cs.gather(pl.col("_start")) + x.gather(pl.col("_start"))


def credit(
    touches: pl.DataFrame,
    conversions: pl.DataFrame,
    model: str,
    *,
    lookback_days: float = 30,
    half_life_days: float = 7.0,
) -> pl.DataFrame:
    """Credit per channel: one row per channel (`channel`, `credit`), summing to the total value.

    `touches`: `journey_id`, `ts`, `channel`; `conversions`: `journey_id`, `ts`, `value`. A conversion
    without a touch in its window goes to channel "(none)". Timestamps are datetimes, or numbers in
    seconds.
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; use one of {MODELS}")
    if lookback_days < 0 or half_life_days <= 0:
        raise ValueError("lookback_days must be >= 0 and half_life_days > 0")
    ts_type = touches.schema["ts"]
    if ts_type.is_temporal() != conversions.schema["ts"].is_temporal():
        raise TypeError("touches.ts and conversions.ts must both be datetimes or both numbers")
    conv = conversions.lazy().select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("_conv"),
        "journey_id", pl.col("ts").alias("_cts"), pl.col("value").cast(pl.Float64).fill_null(0.0),
    )
    t = touches.lazy().select("journey_id", "ts", pl.col("channel").cast(pl.String))
    pairs = (
        conv.join(t, on="journey_id", how="inner")
        .with_columns(_age=_age_days(pl.col("_cts"), pl.col("ts"), ts_type))
        .filter((pl.col("_age") >= 0) & (pl.col("_age") <= lookback_days))
    )
    if model in ("first_touch", "last_touch", "position_based"):
        # The touch order these models read, ties broken by channel name (module docstring). An Enum
        # of the sorted names sorts as a small integer in the same order: cheaper than the strings.
        names = touches.get_column("channel").cast(pl.String).unique().drop_nulls().sort().to_list()
        pairs = pairs.with_columns(pl.col("channel").cast(pl.Enum(names))).sort("_conv", "ts", "channel")
    else:
        pairs = pairs.sort("_conv")  # only to make each conversion's rows contiguous
    pairs = (
        pairs.with_columns(_start=_START, _end=_END)
        .with_columns(_pos=_IDX - pl.col("_start"), _n=pl.col("_end") - pl.col("_start") + 1)
        .with_columns(credit=pl.col("value") * _weight(model, half_life_days))
    )
    touched = pairs.select("_conv").unique()
    unattributed = conv.join(touched, on="_conv", how="anti").select(
        pl.lit(NONE_CHANNEL).alias("channel"), pl.col("value").alias("credit"))
    out = pl.concat([pairs.select(pl.col("channel").cast(pl.String), "credit"), unattributed]).group_by("channel").agg(pl.col("credit").sum())
    return out.sort("channel").collect()


def rail_journeys(
    tables: Mapping[str, pl.DataFrame], rail: str, conversion_event: str, value: str = "revenue"
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(touches, conversions) as one rail can stitch them.

    A touch is a session (`metrics.rail_events`: its start time and landing channel, "direct"
    without a source). A conversion is an event `conversion_event`, worth its revenue
    (`value="revenue"`) or 1 (`value="count"`, for sites that sell nothing). A journey is:
    - truth: the visitor, across days and devices;
    - baseline: one visitor hash on one day (the hash is all it keeps, and it cannot outlive the day);
    - fullstack: the device cookie, joined to the login's user id wherever that cookie ever logged
      in (the first user id it carries), so a logged-in visitor's devices share one journey.
      Cookie resets, refusals, blocks and ITP caps already start new device ids in the rail.
      Cookieless pings carry no id and no revenue: they are left out here and counted by
      `unattributable_pings`.
    """
    ev = metrics.rail_events(tables, rail)
    if rail == "truth":
        journey = pl.col("user")
    elif rail == "baseline":
        journey = pl.concat_str([pl.col("user"), pl.col("ts").dt.date().cast(pl.String)], separator="@")
    else:
        fs = tables["fullstack_events"].filter(~pl.col("is_ping"))
        login = (fs.filter(pl.col("user_id").is_not_null()).sort("ts")
                 .group_by("device_id", maintain_order=True).agg(pl.col("user_id").first()))
        ev = ev.join(login, left_on="user", right_on="device_id", how="left")
        journey = pl.coalesce(pl.concat_str([pl.lit("u:"), pl.col("user_id")]), pl.concat_str([pl.lit("d:"), pl.col("user")]))
    ev = ev.with_columns(journey_id=journey)
    touches = ev.group_by("session").agg(
        pl.col("journey_id").first(), pl.col("ts").min(), pl.col("channel").first()).drop("session")
    worth = pl.col("revenue").fill_null(0.0) if value == "revenue" else pl.lit(1.0)
    conversions = ev.filter(pl.col("event") == conversion_event).select("journey_id", "ts", worth.alias("value"))
    return touches.sort("journey_id", "ts", "channel"), conversions.sort("journey_id", "ts")


def unattributable_pings(tables: Mapping[str, pl.DataFrame], conversion_event: str) -> int:
    """Conversions the full stack saw only as cookieless pings: no id to stitch, no revenue."""
    fs = tables["fullstack_events"]
    return int(fs.filter(pl.col("is_ping") & (pl.col("event") == conversion_event)).height)


def credit_by_rail(
    tables: Mapping[str, pl.DataFrame], site_kind: str, model: str, *,
    lookback_days: float = 30, half_life_days: float = 7.0,
) -> pl.DataFrame:
    """One row per rail and channel: `credit`, `share` of the rail's total, and the truth's share
    beside it (`truth_share`, `share_error` in points of share, rail minus truth). A sampled full
    stack's credit and conversions are scaled back by its sampling rate."""
    site = datasets.site(site_kind)
    value = "revenue" if float(site.get("order_value_median", 0.0)) > 0 else "count"
    parts, counts = [], {}
    rate = metrics.sample_rate(tables)
    for rail in RAILS:
        touches, conversions = rail_journeys(tables, rail, site["conversion_event"], value)
        c = credit(touches, conversions, model, lookback_days=lookback_days, half_life_days=half_life_days)
        counts[rail] = conversions.height
        if rail == "fullstack" and rate < 1:  # a sampled full stack's value and count, scaled back like metrics.kpis
            c = c.with_columns(pl.col("credit") / rate)
            counts[rail] = round(conversions.height / rate)
        parts.append(c.with_columns(rail=pl.lit(rail)))
    out = pl.concat(parts)
    if out.is_empty():
        return out.select("rail", "channel", "credit").with_columns(
            share=pl.lit(0.0), truth_share=pl.lit(0.0), share_error=pl.lit(0.0),
            conversions=pl.lit(0, pl.UInt32), value=pl.lit(value))
    total = pl.col("credit").sum().over("rail")
    out = out.with_columns(share=pl.when(total > 0).then(pl.col("credit") / total).otherwise(0.0))
    # Every channel on every rail (even a rail that credits nothing), 0 where a rail gives it
    # nothing, so a missing bar reads as 0.
    grid = pl.DataFrame({"rail": list(RAILS)}).join(out.select("channel").unique(), how="cross")
    out = grid.join(out, on=["rail", "channel"], how="left").with_columns(
        pl.col("credit", "share").fill_null(0.0),
        conversions=pl.col("rail").replace_strict(counts, return_dtype=pl.UInt32),
    )
    truth = out.filter(pl.col("rail") == "truth").select("channel", truth_share="share")
    out = out.join(truth, on="channel", how="left").with_columns(share_error=pl.col("share") - pl.col("truth_share"))
    order = {r: i for i, r in enumerate(RAILS)}
    return out.sort(pl.col("rail").replace_strict(order, return_dtype=pl.Int8), "channel").select(
        "rail", "channel", "credit", "share", "truth_share", "share_error", "conversions", pl.lit(value).alias("value"))
