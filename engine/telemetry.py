"""Live telemetry: the requests each rail fires for a batch of hits, with the payload before and
after masking, and the "be a visitor" override of one visitor's consent and ad blocker.

The "after" payloads are the rows the real rail code (engine.rails) stores for the same hits, so
what the page shows is exactly what is stored; nothing here re-implements the masking.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from engine import datasets, pipeline
from engine.consent import SIGNALS, gcs_code
from engine.scenario import Scenario

REQUESTS = ("collector", "collect", "capture")
REQUEST_RAIL = {"collector": "baseline", "collect": "fullstack", "capture": "fullstack"}
REQUEST_LABELS = {
    "collector": "Baseline collector (server side)",
    "collect": "Analytics /g/collect",
    "capture": "Product analytics /capture",
}
STATUSES = ("sent", "ping", "blocked", "no_consent")
STATUS_LABELS = {
    "sent": "sent",
    "ping": "ping (cookieless)",
    "blocked": "blocked by ad blocker",
    "no_consent": "not sent (no consent)",
}
Choice = Literal["accept_all", "reject_all", "custom", "ignore"]
CHOICES: tuple[Choice, ...] = ("accept_all", "reject_all", "custom", "ignore")
# Columns of the full-stack row a product-analytics tool keeps (no consent or ad fields).
CAPTURE_COLUMNS = ("event_id", "ts", "event", "device_id", "session_id", "user_id", "url", "referrer_host",
                   "country", "browser_family", "os", "device_class", "revenue")
MEASUREMENT_ID = "G-DEMO000000"
COLUMNS = ("hit", "event_id", "ts", "event", "request", "rail", "endpoint", "status", "before", "after")


def endpoints(scenario: Scenario) -> dict[str, str]:
    """Where each request goes; a first-party server-side proxy moves the client calls onto the site's domain."""
    domain = datasets.site(scenario.site.kind)["domain"]
    if scenario.rails.server_side_proxy:
        collect, capture = f"https://{domain}/g/collect", f"https://{domain}/ingest/capture/"
    else:
        collect, capture = "https://region1.google-analytics.com/g/collect", "https://eu.i.posthog.com/capture/"
    return {"collector": f"https://{domain}/api/baseline", "collect": collect, "capture": capture}


def _json(*fields: str | pl.Expr, **named: pl.Expr) -> pl.Expr:
    """A JSON object of the given fields with null fields left out (as a browser leaves out unset
    parameters). JSON escapes every quote inside a value, so `,"key":null` only matches a field."""
    return (
        pl.struct(*fields, *(e.alias(k) for k, e in named.items())).struct.json_encode()
        .str.replace_all(r',"[^"]+":null', "")
        .str.replace(r'^\{"[^"]+":null,', "{")
        .str.replace(r'^\{"[^"]+":null\}$', "{}")
    )


def _row_json(rows: pl.DataFrame, columns: tuple[str, ...] | None = None) -> pl.DataFrame:
    """event_id and the stored row as JSON (every column, nulls kept: that is the stored row)."""
    cols = list(columns) if columns else rows.columns
    return rows.select("event_id", after=pl.struct(cols).struct.json_encode())


def requests(hits: pl.DataFrame, scenario: Scenario) -> pl.DataFrame:
    """One row per hit x request fired (the collector only for page views and server events):
    hit (position in `hits`), event_id, ts, event, request, rail, endpoint, status, before, after.

    `before` is the JSON the browser (or web server) sends; `after` the JSON of the row the rail
    stores, computed by engine.rails on the same hits (null when nothing is stored)."""
    stored_base, stored_full = pipeline.event_rails(hits, scenario)
    site = datasets.site(scenario.site.kind)
    url = endpoints(scenario)
    h = hits.with_row_index("hit").rename({"event_type": "event"})
    granted = pl.col("analytics_storage")
    blocked = pl.col("blocker") & (not scenario.rails.server_side_proxy)
    advanced = scenario.consent.mode == "advanced"
    keys = [pl.col("hit"), pl.col("event_id"), pl.col("ts"), pl.col("event")]

    collector = h.filter(pl.col("event").is_in(["page_view", *site["server_events"]])).select(
        *keys,
        request=pl.lit("collector"),
        status=pl.lit("sent"),
        before=_json("event", "url", "referrer", "ip", "user_agent", "transaction_id", "revenue"),
    ).join(_row_json(stored_base), on="event_id", how="left", maintain_order="left")

    collect_status = (
        pl.when(~(granted | advanced)).then(pl.lit("no_consent"))
        .when(blocked).then(pl.lit("blocked"))
        .when(granted).then(pl.lit("sent"))
        .otherwise(pl.lit("ping"))
    )
    gcs = gcs_code(pl.col("ad_storage"), granted)
    full_params = _json(v=pl.lit("2"), tid=pl.lit(MEASUREMENT_ID), en=pl.col("event"), gcs=gcs, cid=pl.col("client_id"),
                        uid=pl.col("user_email"), dl=pl.col("url"), dr=pl.col("referrer"), ip=pl.col("ip"),
                        user_agent=pl.col("user_agent"))
    # A cookieless ping: no client id, no page detail, only the ad-click flag (Consent Mode v2).
    ping_params = _json(v=pl.lit("2"), tid=pl.lit(MEASUREMENT_ID), en=pl.col("event"), gcs=gcs, dr=pl.col("referrer"),
                        ad_click=pl.col("url").str.contains("gclid=", literal=True), ip=pl.col("ip"),
                        user_agent=pl.col("user_agent"))
    collect = h.select(
        *keys,
        request=pl.lit("collect"),
        status=collect_status,
        before=pl.when(~(granted | advanced)).then(None).when(granted).then(full_params).otherwise(ping_params),
    ).join(_row_json(stored_full), on="event_id", how="left", maintain_order="left")

    capture_status = pl.when(~granted).then(pl.lit("no_consent")).when(blocked).then(pl.lit("blocked")).otherwise(pl.lit("sent"))
    capture_event = pl.when(pl.col("event") == "page_view").then(pl.lit("$pageview")).otherwise(pl.col("event"))
    capture_body = _json(
        event=capture_event, distinct_id=pl.col("client_id"),
        properties=pl.struct(pl.col("url").alias("$current_url"), pl.col("referrer").alias("$referrer"), pl.col("ip").alias("$ip"),
                             pl.col("user_agent").alias("$raw_user_agent"), pl.col("user_email").alias("email")),
    )
    capture = (
        h.select(*keys, request=pl.lit("capture"), status=capture_status, before=pl.when(granted).then(capture_body))
        .join(_row_json(stored_full, CAPTURE_COLUMNS), on="event_id", how="left", maintain_order="left")
        .with_columns(after=pl.when(pl.col("status") == "sent").then(pl.col("after")))
    )

    order = {r: i for i, r in enumerate(REQUESTS)}
    return (
        pl.concat([collector, collect, capture])
        .with_columns(
            rail=pl.col("request").replace_strict(REQUEST_RAIL),
            endpoint=pl.col("request").replace_strict(url),
            _order=pl.col("request").replace_strict(order, return_dtype=pl.Int8),
        )
        .sort("hit", "_order")
        .select(*COLUMNS)
    )


def tally(reqs: pl.DataFrame) -> pl.DataFrame:
    """Requests per request kind and status (every combination, zeros included)."""
    grid = pl.DataFrame({"request": REQUESTS}).join(pl.DataFrame({"status": STATUSES}), how="cross")
    counts = reqs.group_by("request", "status").agg(requests=pl.len())
    return (
        grid.join(counts, on=["request", "status"], how="left", maintain_order="left")
        .with_columns(
            pl.col("requests").fill_null(0).cast(pl.Int64),
            rail=pl.col("request").replace_strict(REQUEST_RAIL),
            request_label=pl.col("request").replace_strict(REQUEST_LABELS),
            status_label=pl.col("status").replace_strict(STATUS_LABELS),
        )
    )


def running_tally(reqs: pl.DataFrame) -> pl.DataFrame:
    """`tally` of the first n hits for every n, computed once: `hit` = n - 1 plus tally's columns and
    row order, so a live panel looks its tally up instead of grouping the stream on every tick."""
    n_hits = int(reqs["hit"].to_numpy().max()) + 1 if reqs.height else 0
    shape = tally(reqs.clear())
    rows = shape.drop("requests").with_row_index("_i")
    hits = pl.DataFrame({"hit": pl.int_range(n_hits, eager=True)}).cast({"hit": reqs.schema.get("hit", pl.UInt32)})
    counts = reqs.group_by("hit", "request", "status").agg(n=pl.len())
    return (
        hits.join(rows, how="cross")
        .join(counts, on=["hit", "request", "status"], how="left")
        .sort("_i", "hit")
        .with_columns(requests=pl.col("n").fill_null(0).cum_sum().over("_i").cast(pl.Int64))
        .sort("hit", "_i")
        .select("hit", *shape.columns)
    )


def advance(cursor: int, step: int, n_hits: int) -> int:
    """The stream's next cursor (hits shown so far): `step` more, starting over after the last hit."""
    if n_hits <= 0:
        return 0
    return step if cursor >= n_hits else min(cursor + step, n_hits)


def as_visitor(hits: pl.DataFrame, choice: Choice, blocker: bool, default_granted: bool) -> pl.DataFrame:
    """One visitor's hits as if they answered the banner with `choice` on their first hit (or,
    for "ignore", kept their region's default state) and had an ad blocker on or off.

    The analytics cookie exists only while analytics storage is granted; a visitor who had none
    gets a stable one derived from their first hit."""
    if choice not in CHOICES:
        raise ValueError(f"unknown choice {choice!r}; expected one of {', '.join(CHOICES)}")
    analytics = {"accept_all": True, "reject_all": False, "custom": True, "ignore": default_granted}[choice]
    ads = {"accept_all": True, "reject_all": False, "custom": False, "ignore": default_granted}[choice]
    decided = choice != "ignore"
    h = hits.sort("ts", "event_id")
    first = pl.int_range(pl.len()) == 0
    seed = pl.concat_str([pl.col("ip").first(), pl.col("user_agent").first()], separator="|").hash(7).cast(pl.String)
    cookie = pl.col("client_id").fill_null(strategy="backward").fill_null(pl.concat_str([pl.lit("GA1.1."), seed]))
    consent_id = pl.col("consent_id").drop_nulls().first().fill_null(pl.concat_str([pl.lit("cmp-"), seed]))
    return h.with_columns(
        **{s: pl.lit(analytics if s == "analytics_storage" else ads) for s in SIGNALS},
        client_id=cookie if analytics else pl.lit(None, pl.String),
        consent_choice=pl.when(first & decided).then(pl.lit(choice)),
        consent_id=pl.when(first & decided).then(consent_id),
        consent_ts=pl.when(first & decided).then(pl.col("ts")),
        blocker=pl.lit(blocker),
    ).select(hits.columns)


def journey_candidates(events: pl.DataFrame, conversion_event: str, k: int = 10, max_events: int = 14) -> list[int]:
    """Up to k visitor ids with a short journey (3..max_events events), converters first."""
    per = events.group_by("visitor_id").agg(n=pl.len(), converted=(pl.col("event") == conversion_event).any())
    short = per.filter(pl.col("n").is_between(3, max_events))
    pool = short if short.height else per
    return pool.sort(["converted", "visitor_id"], descending=[True, False]).head(k)["visitor_id"].to_list()
