"""The formats other tools speak: hits as Google Analytics 4 Measurement Protocol, Segment,
PostHog or Snowplow requests (`--format`), for the HTTP sender and for `.jsonl` output.

Every format follows the consent of each hit exactly as the full-stack rail does
(`engine.rails.fullstack`): a hit whose client-side tags an ad blocker stopped is not sent
(unless the scenario has a first-party server-side proxy); a hit without analytics consent is
sent only in Consent Mode's advanced mode, and then only as the vendor's own cookieless event
where the vendor documents one (PostHog's cookieless mode, Snowplow's anonymous tracking);
GA4's Measurement Protocol and Segment have none, so those hits are not sent at all. Below the
100 % sampling tier only the browsers inside the sample send anything, as on the rail. No format
carries the raw IP address or e-mail: the collector sees the connecting address, and a signed-in
visitor's user id is the full stack's keyed hash of the e-mail, sent only with analytics consent.

The conversion is vectorised: polars expressions build one JSON text per unit (an event, or for
GA4 a request body of up to 25 events of one visitor), `body` frames a batch of them without
re-encoding anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args
from urllib.parse import unquote_plus, urlsplit, urlunsplit

import polars as pl

from engine import masking
from engine.rails import USER_ID_LABEL, fullstack_sends
from engine.scenario import Scenario

FormatName = Literal["native", "ga4", "segment", "posthog", "snowplow"]
FORMATS: tuple[str, ...] = get_args(FormatName)
# Keys whose value is null are left out (vendors read a missing key as "not set"; Snowplow's
# schema allows strings only). `json_object` puts a constant key first, so a null key always
# follows a comma; a key inside an escaped string reads \"key\" and is never matched. One regex
# pass without alternation or captures: the cheapest this gets in polars.
_NULL_KEY = r',"[$A-Za-z0-9_]+":null'


@dataclass(frozen=True)
class Format:
    name: str
    path: str  # the vendor's collection path, appended to the --out URL (see `endpoint`)
    cookieless: bool  # the vendor documents a cookieless event for visitors without consent
    per_request: int  # units per request at most (GA4: one body per request)
    label: str  # for people


SPECS: dict[str, Format] = {
    "native": Format("native", "/api/v1/events", True, 1_000, "this project's collector"),
    "ga4": Format("ga4", "/mp/collect", False, 1, "Google Analytics 4 Measurement Protocol"),
    "segment": Format("segment", "/v1/batch", False, 1_000, "Segment HTTP Tracking API (also RudderStack)"),
    "posthog": Format("posthog", "/batch/", True, 1_000, "PostHog batch API"),
    "snowplow": Format("snowplow", "/com.snowplowanalytics.snowplow/tp2", True, 1_000, "Snowplow tracker protocol v2"),
}


class FormatError(ValueError):
    """An unknown format or an option it cannot take."""


def spec(name: str) -> Format:
    try:
        return SPECS[name]
    except KeyError:
        raise FormatError(f"unknown --format {name!r}: use one of {', '.join(FORMATS)}") from None


def endpoint(url: str, name: str) -> str:
    """The URL a format posts to. The vendor's path is appended to the URL's path unless that
    path already ends with it: http://h:9000 and http://h:9000/v1/batch both post Segment to
    http://h:9000/v1/batch, http://h/proxy to http://h/proxy/v1/batch. The query string stays
    (GA4 takes measurement_id and api_secret there)."""
    vendor_path = spec(name).path
    parts = urlsplit(url)
    path = parts.path
    if path.rstrip("/").endswith(vendor_path.rstrip("/")):
        return url
    return urlunsplit(parts._replace(path=path.rstrip("/") + vendor_path))


# Query parameters that carry a credential (GA4's api_secret; keys and tokens of other collectors).
_SECRET_PARAM = re.compile(r"(?i)^(api[_-]?secret|api[_-]?key|apikey|key|token|access[_-]?token|secret|write[_-]?key|password|auth)$")


def redact(url: str) -> str:
    """The URL as it may be printed: credentials in its query string or user info masked ("***"),
    everything else as given (GA4 takes `api_secret` in the query string)."""
    parts = urlsplit(url)
    query = "&".join(
        f"{k}=***" if _SECRET_PARAM.match(unquote_plus(k)) else (f"{k}={v}" if sep else k)
        for k, sep, v in (item.partition("=") for item in parts.query.split("&") if item)
    ) if parts.query else ""
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username}:***@" + netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(query=query, netloc=netloc))


def sent_mask(hits: pl.DataFrame, scenario: Scenario, name: str) -> pl.Series:
    """Which hits this format sends: the full-stack rail's rule (blocker, consent, sampling tier),
    with pings only where the vendor has them."""
    return fullstack_sends(hits, scenario, pings=spec(name).cookieless).alias("sent")


def drop_nulls(json: pl.Expr) -> pl.Expr:
    return json.str.replace_all(_NULL_KEY, "")


def json_object(required: dict[str, pl.Expr], optional: dict[str, pl.Expr] | None = None,
                raw: dict[str, pl.Expr] | None = None) -> pl.Expr:
    """One JSON object (text) per row: the `required` keys (never null), the `raw` ones (values
    that are JSON text already, e.g. a nested `json_object`), then the `optional` keys that are not
    null. Only the optional part is scanned for nulls: the regex pass costs as much as the
    encoding, so the long values that are always there (user agents, ids) stay out of it."""
    parts = [pl.struct([v.alias(k) for k, v in required.items()]).struct.json_encode().str.strip_suffix("}")]
    for key, value in (raw or {}).items():
        parts += [pl.lit(f',"{key}":'), value]
    if optional:
        # A constant first key, so every optional null key follows a comma; it is cut off again.
        fields = [pl.lit(0).alias("_"), *(v.alias(k) for k, v in optional.items())]
        tail = drop_nulls(pl.struct(fields).struct.json_encode()).str.strip_prefix('{"_":0')
        parts.append(tail)
    else:
        parts.append(pl.lit("}"))
    return pl.concat_str(parts)


def user_ids(hits: pl.DataFrame, scenario: Scenario) -> pl.Series:
    """The full stack's user id (keyed hash of the e-mail, daily key if rotated), null without analytics consent."""
    email = hits.select(pl.when(pl.col("analytics_storage")).then(pl.col("user_email"))).to_series()
    rotate = scenario.masking.key_rotation == "daily"
    return masking.keyed_hash_daily(email, hits["ts"].dt.date(), USER_ID_LABEL, rotate).alias("user_id")


def event_uuid(run_id: str) -> pl.Expr:
    """A UUID per event, stable across resends: the run id and the event number (version 8, RFC 9562)."""
    n = pl.col("event_id").cast(pl.String).str.zfill(14)
    r = run_id.ljust(16, "0")[:16]
    return pl.concat_str([pl.lit(f"{r[:8]}-{r[8:12]}-8{r[12:15]}-8{r[15]}"), n.str.slice(0, 2), pl.lit("-"), n.str.slice(2, 12)])


@dataclass(frozen=True)
class Options:
    run_id: str
    api_key: str = "phc_drcl_simulator"  # PostHog's project key (public by design: it can only send events)
    app_id: str = "drcl"  # Snowplow's aid


def encode(hits: pl.DataFrame, scenario: Scenario, name: str, opts: Options) -> pl.DataFrame:
    """The units a vendor format sends for these hits: columns `json` (text) and `n` (events in it)."""
    from simulators.formats import ga4, posthog, segment, snowplow

    module = {"ga4": ga4, "segment": segment, "posthog": posthog, "snowplow": snowplow}.get(name)
    if module is None:
        raise FormatError(f"{name!r} is not a vendor format")
    h = hits.filter(sent_mask(hits, scenario, name))
    if h.height == 0:
        return pl.DataFrame(schema={"json": pl.String, "n": pl.Int64})
    h = h.with_columns(user_ids(h, scenario), *page_addresses(h, scenario))
    return module.encode(h, opts)


def page_addresses(hits: pl.DataFrame, scenario: Scenario) -> tuple[pl.Series, pl.Series, pl.Series]:
    """The page address as the full stack keeps it: only the scenario's allowed query parameters,
    e-mail addresses in them masked, the ad-click id only with ad_storage consent; the referrer as
    its origin only (the rails keep its host); and the page's path. A page like
    /newsletter?email=... never carries the address to a vendor."""
    origin = hits["url"].str.extract(r"^([a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*)")
    parts = masking.url_parts(hits["url"])
    allowed = scenario.masking.url_allowed_params
    kept = masking.per_unique(parts.select("query"), ["query"],
                              lambda u: u.with_columns(k=masking.filter_query(u["query"], allowed)))["k"]
    # The ad-click id goes only with ad_storage consent (the full stack's gclid column).
    no_ad = kept.str.replace(r"(?:^|&)gclid=[^&]*", "").str.strip_prefix("&")
    kept = pl.select(pl.when(pl.lit(hits["ad_storage"])).then(pl.lit(kept)).otherwise(pl.lit(no_ad).replace("", None))).to_series()
    url = pl.select(pl.concat_str([pl.lit(origin), pl.lit(parts["path"]),
                                   pl.when(pl.lit(kept).is_not_null()).then(pl.concat_str([pl.lit("?"), pl.lit(kept)])).otherwise(pl.lit(""))])
                    ).to_series().alias("url")
    referrer = hits["referrer"].str.extract(r"^([a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*)").alias("referrer")
    return url, referrer, parts["path"].alias("path")


def body(name: str, items: list[str], opts: Options) -> bytes:
    """One request body from pre-encoded units (no re-encoding per event)."""
    joined = ",".join(items)
    if name == "ga4":
        if len(items) != 1:
            raise FormatError("a GA4 Measurement Protocol request carries one body")
        return joined.encode()
    if name == "segment":
        return ('{"batch":[' + joined + "]}").encode()
    if name == "posthog":
        return ('{"api_key":' + _json_str(opts.api_key) + ',"batch":[' + joined + "]}").encode()
    if name == "snowplow":
        return ('{"schema":"iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4","data":[' + joined + "]}").encode()
    raise FormatError(f"{name!r} is not a vendor format")


def _json_str(text: str) -> str:
    import json

    return json.dumps(text)
