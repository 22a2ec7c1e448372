"""Window funnels: ClickHouse-style ``windowFunnel`` levels and per-step funnel tables.

Semantics of :func:`window_funnel` (ClickHouse ``windowFunnel(window)`` default mode,
plus one-event-per-step):

* A chain is a sequence of *distinct* events e1..eK of one user with
  ``event(ek) == steps[k]``, ``ts(e1) <= ts(e2) <= ... <= ts(eK)`` and
  ``ts(eK) - ts(e1) <= window`` (inclusive, measured from the step-1 event).
  Other events may sit in between. ``level`` is the longest chain over all step-1 starts.
* Equal timestamps: ClickHouse sorts its (timestamp, condition-index) pairs, so at equal
  timestamps a later step always sorts after an earlier one whatever the input row order;
  we match that -- a later step may share the timestamp of the previous step, and input
  row order never matters.
* Deviation from ClickHouse: its default mode lets ONE row that satisfies several
  conditions advance several steps (e.g. steps ["a", "a"] with a single "a" gives 2);
  here every step needs its own event, as ClickHouse's ``'strict_once'`` mode does. With
  distinct step names the two coincide.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import polars as pl

from engine.metrics import RAILS, rail_events, sample_rate

REQUIRED_COLUMNS = ("user_id", "ts", "event")
_UNITS_PER_SECOND = {"ns": 1_000_000_000, "us": 1_000_000, "ms": 1_000}


def _validate(events: pl.DataFrame, steps: Sequence[str], window_seconds: int | float) -> list[str]:
    """Check inputs and return the steps as a list; raise ValueError naming the problem."""
    if not isinstance(events, pl.DataFrame):
        raise ValueError(f"events must be a polars DataFrame, got {type(events).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in events.columns]
    if missing:
        raise ValueError(f"events is missing required column(s) {missing}; has {events.columns}")
    if isinstance(steps, str):
        raise ValueError("steps must be a sequence of event names, not a single string")
    steps = list(steps)
    if not steps:
        raise ValueError("steps must contain at least one event name")
    if not all(isinstance(s, str) for s in steps):
        raise ValueError(f"every step must be an event name (str), got {steps!r}")
    if isinstance(window_seconds, bool) or not isinstance(window_seconds, (int, float)):
        raise ValueError(f"window_seconds must be a number, got {window_seconds!r}")
    if math.isnan(window_seconds) or window_seconds < 0:
        raise ValueError(f"window_seconds must be >= 0, got {window_seconds!r}")
    if events["user_id"].null_count():
        raise ValueError("user_id contains nulls; every event needs a user")
    event_dtype = events.schema["event"]
    if not (event_dtype == pl.String or isinstance(event_dtype, (pl.Categorical, pl.Enum))):
        raise ValueError(f"event column must be strings, got {event_dtype}")
    return steps


def _time_axis(dtype: pl.DataType, window_seconds: int | float) -> tuple[pl.Expr, int | float]:
    """Return a numeric ts expression and the window expressed in that expression's unit."""
    ts = pl.col("ts")
    if isinstance(dtype, pl.Datetime):
        # Raw integer in the column's own unit (UTC for tz-aware): exact, no float rounding.
        return ts.cast(pl.Int64), window_seconds * _UNITS_PER_SECOND[dtype.time_unit]
    if dtype == pl.Date:
        return ts.cast(pl.Int64) * 86_400, window_seconds
    if dtype.is_integer():
        return ts.cast(pl.Int64), window_seconds
    if dtype.is_float():
        return ts.cast(pl.Float64), window_seconds
    raise ValueError(f"ts must be integer/float seconds, Date or Datetime, got {dtype}")


def window_funnel(
    events: pl.DataFrame, steps: Sequence[str], window_seconds: int | float
) -> pl.DataFrame:
    """Return one row per user (sorted by user_id) with the furthest funnel ``level`` reached.

    Rows with a null ``ts`` or ``event`` never match a step but their user is still listed.
    """
    steps = _validate(events, steps, window_seconds)
    ts, window = _time_axis(events.schema["ts"], window_seconds)
    repeated = {s for s in steps if steps.count(s) > 1}
    frame = events.lazy().select("user_id", ts.alias("ts"), pl.col("event").cast(pl.String))

    def candidates(name: str) -> pl.LazyFrame:
        # Sorting by time alone is enough for join_asof(by=user_id): it only needs each
        # user's rows ordered, and a one-key sort is ~2x cheaper than (user_id, ts).
        part = frame.filter((pl.col("event") == name) & pl.col("ts").is_not_null())
        part = part.select("user_id", m_ts="ts")
        if name in repeated:
            # m_n = events of this name at this instant: how many steps one instant can feed.
            part = part.group_by("user_id", "m_ts").agg(m_n=pl.len())
        return part.sort("m_ts")

    names = list(dict.fromkeys(steps))
    users_lf = frame.select(pl.col("user_id").unique()).sort("user_id")
    users, *tables = pl.collect_all([users_lf, *(candidates(n) for n in names)])
    by_name = dict(zip(names, tables))

    # DP over steps. A chain = one step-1 event time (start), the time of its latest matched
    # step (prev) and g = index of the first step matched at time prev. Greedily taking the
    # earliest feasible event per step is optimal: an earlier time never removes later options.
    chains = by_name[steps[0]].select("user_id", start="m_ts", prev="m_ts", g=pl.lit(0, pl.Int32))
    finished: list[pl.DataFrame] = []  # (user_id, level) for every chain that stopped
    for k in range(1, len(steps)):
        if chains.is_empty():
            break
        matched = chains.join_asof(
            by_name[steps[k]],
            left_on="prev",
            right_on="m_ts",
            by="user_id",
            strategy="forward",  # earliest candidate with m_ts >= prev
            check_sortedness=False,  # both sides are sorted by time
        )
        same_instant = pl.col("m_ts") == pl.col("prev")
        if steps[k] in repeated:
            # Events named steps[k] already used at time prev = its occurrences in steps[g:k];
            # a same-instant match needs one of them left over (one event, one step).
            used: pl.Expr = pl.lit(0)
            for g in range(k):
                if count := steps[g:k].count(steps[k]):
                    used = pl.when(pl.col("g") == g).then(count).otherwise(used)
            exhausted = same_instant & (pl.col("m_n") <= used)
            matched = matched.with_columns(exhausted.fill_null(False).alias("exhausted"))
            retry = matched.filter("exhausted").select("user_id", "start", "prev", "g").join_asof(
                by_name[steps[k]],
                left_on="prev",
                right_on="m_ts",
                by="user_id",
                strategy="forward",
                allow_exact_matches=False,  # next later instant instead
                check_sortedness=False,
            )
            matched = pl.concat([matched.filter(~pl.col("exhausted")).drop("exhausted"), retry])
        matched = matched.with_columns(
            g=pl.when(same_instant).then("g").otherwise(pl.lit(k, pl.Int32)),
            alive=pl.col("m_ts").is_not_null() & (pl.col("m_ts") - pl.col("start") <= window),
        )
        finished.append(matched.filter(~pl.col("alive")).select("user_id", level=pl.lit(k, pl.Int64)))
        chains = (
            matched.filter("alive")
            .select("user_id", "start", prev="m_ts", g="g")
            .sort("prev")
        )
    finished.append(chains.select("user_id", level=pl.lit(len(steps), pl.Int64)))
    # Each chain is recorded once, at the level it reached; a user's level is the best chain.
    levels = pl.concat(finished).group_by("user_id").agg(pl.col("level").max())
    return users.join(levels, on="user_id", how="left", maintain_order="left").with_columns(
        pl.col("level").fill_null(0)
    )


_TABLE_SCHEMA = {
    "step": pl.Int64,
    "event": pl.String,
    "users": pl.Int64,
    "conversion_from_start": pl.Float64,
    "conversion_from_previous": pl.Float64,
    "drop_off": pl.Int64,
}


def funnel_table(
    events: pl.DataFrame, steps: Sequence[str], window_seconds: int | float
) -> pl.DataFrame:
    """Return one row per step: users reaching it, conversions and drop-off."""
    steps = list(steps)
    levels = window_funnel(events, steps, window_seconds)["level"]
    users = [int((levels >= i).sum()) for i in range(1, len(steps) + 1)]
    previous = [users[0], *users[:-1]]  # step 1 is compared with itself
    return pl.DataFrame(
        {
            "step": range(1, len(steps) + 1),
            "event": steps,
            "users": users,
            "conversion_from_start": [u / users[0] if users[0] else 0.0 for u in users],
            "conversion_from_previous": [u / p if p else 0.0 for u, p in zip(users, previous)],
            "drop_off": [p - u for u, p in zip(users, previous)],
        },
        schema=_TABLE_SCHEMA,
    )


def funnel_by_rail(
    rails: Mapping[str, pl.DataFrame], steps: Sequence[str], window_seconds: int | float
) -> pl.DataFrame:
    """Concatenate :func:`funnel_table` for each rail, with a leading ``rail`` column."""
    tables = [
        funnel_table(frame, steps, window_seconds).select(pl.lit(rail, pl.String).alias("rail"), pl.all())
        for rail, frame in rails.items()
    ]
    return pl.concat(tables) if tables else pl.DataFrame(schema={"rail": pl.String, **_TABLE_SCHEMA})


def rail_funnels(tables: Mapping[str, pl.DataFrame], steps: Sequence[str], window_seconds: int | float) -> pl.DataFrame:
    """Funnel table per rail of a run (truth, baseline, full stack), each with its own user ids:
    visitor id, daily visitor hash, device cookie. Full-stack pings carry no id and are left out; a
    sampled full stack's user counts are scaled back by its sampling rate."""
    frames = {
        rail: rail_events(tables, rail).select(user_id="user", ts="ts", event="event").drop_nulls("user_id")
        for rail in RAILS
    }
    return scale_fullstack_counts(funnel_by_rail(frames, steps, window_seconds), sample_rate(tables), ("users", "drop_off"))


def scale_fullstack_counts(table: pl.DataFrame, rate: float, counts: Sequence[str]) -> pl.DataFrame:
    """The full stack's rows of a per-rail table with their `counts` scaled back by 1 / its sampling
    rate (rounded; rates computed from the sample stay as they are), like `engine.metrics.kpis`."""
    if rate >= 1:
        return table
    full = pl.col("rail") == "fullstack"
    return table.with_columns(
        pl.when(full).then((pl.col(c) / rate).round()).otherwise(pl.col(c)).cast(table.schema[c]).alias(c) for c in counts
    )
