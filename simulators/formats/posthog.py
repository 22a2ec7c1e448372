"""PostHog batch API: `POST /batch/` with `{"api_key", "batch": [{event, distinct_id, properties,
timestamp, uuid}]}`. With analytics consent the distinct id is the visitor's user id (the full
stack's keyed hash) once signed in, else the analytics cookie. Without consent, in Consent Mode's
advanced mode, the event is PostHog's cookieless one (posthog-js `cookieless_mode`): distinct,
device and session ids are the sentinel `$posthog_cookieless`, `$cookieless_mode` is true, and
PostHog's server derives a daily hash from the connecting address, user agent, timezone and host;
no page detail goes with it (like the full stack's ping)."""

from __future__ import annotations

import polars as pl

from simulators.formats import Options, event_uuid, json_object
from simulators.formats._common import LIB, iso, path, when_full

SENTINEL = "$posthog_cookieless"


def encode(h: pl.DataFrame, opts: Options) -> pl.DataFrame:
    ping = ~pl.col("analytics_storage")
    sentinel = pl.lit(SENTINEL)
    properties = json_object(
        required={
            "$host": pl.col("site"),
            "$raw_user_agent": pl.col("user_agent"),
            "$timezone": pl.col("timezone"),
            "$lib": pl.lit(LIB),
            "$device_id": pl.when(ping).then(sentinel).otherwise(pl.col("client_id")),
            "$session_id": pl.when(ping).then(sentinel).otherwise(pl.col("session_start").dt.epoch("ms").cast(pl.String)),
            "$process_person_profile": pl.col("user_id").is_not_null(),
            **{f"consent_{s}": pl.col(s) for s in ("ad_storage", "ad_user_data", "ad_personalization")},
        },
        optional={
            "$cookieless_mode": pl.when(ping).then(pl.lit(True)),
            "$current_url": when_full(pl.col("url")),
            "$pathname": when_full(path()),
            "$referrer": when_full(pl.col("referrer")),
            "revenue": when_full(pl.col("revenue")),
            "transaction_id": when_full(pl.col("transaction_id")),
        },
    )
    return h.select(
        json_object(
            required={
                "event": pl.when(pl.col("event_type") == "page_view").then(pl.lit("$pageview")).otherwise(pl.col("event_type")),
                "distinct_id": pl.when(ping).then(sentinel).otherwise(pl.coalesce("user_id", "client_id")),
                "timestamp": iso(),
                "uuid": event_uuid(opts.run_id),
            },
            raw={"properties": properties},
        ).alias("json"),
        pl.lit(1, pl.Int64).alias("n"),
    )
