"""Google Analytics 4 Measurement Protocol: `POST /mp/collect?measurement_id=...&api_secret=...`,
one body per request: `{client_id, user_id?, consent: {ad_user_data, ad_personalization},
events: [{name, params, timestamp_micros}]}`. A body belongs to one visitor, so consecutive hits
of the same cookie, user id and consent state are grouped, at most 25 events a body (Google's
limit). The Measurement Protocol needs a client id and has no cookieless ping (gtag's pings go
to another endpoint): hits without analytics consent are not sent."""

from __future__ import annotations

import polars as pl

from simulators.formats import Options, json_object
from simulators.formats._common import CURRENCY, when_full

MAX_EVENTS = 25


def _granted(col: str) -> pl.Expr:
    return pl.when(pl.col(col)).then(pl.lit("GRANTED")).otherwise(pl.lit("DENIED"))


def encode(h: pl.DataFrame, opts: Options) -> pl.DataFrame:
    revenue = pl.col("revenue")
    key = pl.struct("client_id", "user_id", "ad_user_data", "ad_personalization")
    run = (key != key.shift()).fill_null(True).cum_sum()
    events = h.select(
        (run * 1_000_000 + (pl.int_range(pl.len()).over(run) // MAX_EVENTS)).alias("body"),
        "client_id", "user_id", "ad_user_data", "ad_personalization",
        json_object(
            required={"name": pl.col("event_type"), "timestamp_micros": pl.col("ts").dt.epoch("us")},
            raw={"params": json_object(
                required={"page_location": pl.col("url"), "session_id": pl.col("session_start").dt.epoch("s").cast(pl.String),
                          "engagement_time_msec": pl.lit(100)},
                optional={"page_referrer": pl.col("referrer"), "transaction_id": when_full(pl.col("transaction_id")),
                          "value": revenue, "currency": pl.when(revenue.is_not_null()).then(pl.lit(CURRENCY))},
            )},
        ).alias("event"),
    )
    bodies = events.group_by("body", maintain_order=True).agg(
        pl.first("client_id", "user_id", "ad_user_data", "ad_personalization"),
        pl.col("event").str.join(",").alias("events"),
        pl.len().cast(pl.Int64).alias("n"),
    )
    head = json_object(
        required={"client_id": pl.col("client_id"), "consent": pl.struct(
            ad_user_data=_granted("ad_user_data"), ad_personalization=_granted("ad_personalization"))},
        optional={"user_id": pl.col("user_id")},
    )
    return bodies.select(
        pl.concat_str([head.str.strip_suffix("}"), pl.lit(',"events":['), pl.col("events"), pl.lit("]}")]).alias("json"),
        "n",
    )
