"""Segment HTTP Tracking API: `POST /v1/batch` with `{"batch": [message, ...]}` (RudderStack
accepts the same). A page view is a `page` call, anything else a `track` call named after
Segment's e-commerce spec where one fits. Consent travels in `context.consent.categoryPreferences`
(Segment Consent Management), one category per Consent Mode signal. Segment has no cookieless
call: hits without analytics consent are not sent."""

from __future__ import annotations

import polars as pl

from engine.consent import SIGNALS
from simulators.formats import Options, json_object
from simulators.formats._common import CURRENCY, iso, locale, path

# Segment's e-commerce spec (Products Searched, Product Viewed, ...); other events keep their name.
SPEC_NAMES = {
    "search": "Products Searched", "view_item": "Product Viewed", "add_to_cart": "Product Added",
    "begin_checkout": "Checkout Started", "purchase": "Order Completed",
}


def encode(h: pl.DataFrame, opts: Options) -> pl.DataFrame:
    page = pl.col("event_type") == "page_view"
    revenue = pl.col("revenue")
    properties = json_object(
        required={"url": pl.col("url"), "path": path()},
        optional={"referrer": pl.col("referrer"), "revenue": revenue, "order_id": pl.col("transaction_id"),
                  "currency": pl.when(revenue.is_not_null()).then(pl.lit(CURRENCY))},
    )
    context = json_object(
        required={"userAgent": pl.col("user_agent"), "consent": pl.struct(categoryPreferences=pl.struct(*SIGNALS))},
        raw={"page": json_object(required={"url": pl.col("url"), "path": path()}, optional={"referrer": pl.col("referrer")})},
        optional={"locale": locale(), "timezone": pl.col("timezone")},
    )
    return h.select(
        json_object(
            required={
                "type": pl.when(page).then(pl.lit("page")).otherwise(pl.lit("track")),
                "anonymousId": pl.col("client_id"),
                "messageId": pl.concat_str([pl.lit(f"{opts.run_id}:"), pl.col("event_id").cast(pl.String)]),
                "timestamp": iso(),
            },
            raw={"properties": properties, "context": context},
            optional={"event": pl.when(~page).then(pl.col("event_type").replace(SPEC_NAMES)), "userId": pl.col("user_id")},
        ).alias("json"),
        pl.lit(1, pl.Int64).alias("n"),
    )
