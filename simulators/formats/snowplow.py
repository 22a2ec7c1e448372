"""Snowplow tracker protocol v2: `POST /com.snowplowanalytics.snowplow/tp2` with a self-describing
`payload_data` body (`{"schema": "iglu:.../payload_data/jsonschema/1-0-4", "data": [...]}`), every
value a string. A page view is `e=pv`, a purchase a transaction (`e=tr`), anything else a
structured event (`e=se`). With analytics consent the events carry the domain user id (`duid`,
the analytics cookie) and the user id (`uid`, the full stack's keyed hash); without it, in
Consent Mode's advanced mode, they follow Snowplow's anonymous tracking: no user, domain or
session identifier and, like the full stack's ping, no page or referrer."""

from __future__ import annotations

import polars as pl

from simulators.formats import Options, event_uuid, json_object
from simulators.formats._common import CURRENCY, locale, when_full

TRACKER_VERSION = "drcl-1.0"


def encode(h: pl.DataFrame, opts: Options) -> pl.DataFrame:
    et = pl.col("event_type")
    purchase = et == "purchase"
    structured = (et != "page_view") & ~purchase
    return h.select(
        json_object(
            required={
                "e": pl.when(et == "page_view").then(pl.lit("pv")).when(purchase).then(pl.lit("tr")).otherwise(pl.lit("se")),
                "tv": pl.lit(TRACKER_VERSION),
                "p": pl.lit("web"),
                "aid": pl.lit(opts.app_id),
                "eid": event_uuid(opts.run_id),
                "dtm": pl.col("ts").dt.epoch("ms").cast(pl.String),
                "ua": pl.col("user_agent"),
            },
            optional={
                "tz": pl.col("timezone"),
                "lang": locale(),
                "url": when_full(pl.col("url")),
                "refr": when_full(pl.col("referrer")),
                "duid": when_full(pl.col("client_id")),
                "uid": pl.col("user_id"),
                "se_ca": pl.when(structured).then(pl.lit("ecommerce")),
                "se_ac": pl.when(structured).then(et),
                "tr_id": pl.when(purchase).then(when_full(pl.col("transaction_id"))),
                "tr_tt": pl.when(purchase).then(when_full(pl.col("revenue").round(2).cast(pl.String))),
                "tr_cu": pl.when(purchase & pl.col("analytics_storage")).then(pl.lit(CURRENCY)),
            },
        ).alias("json"),
        pl.lit(1, pl.Int64).alias("n"),
    )
