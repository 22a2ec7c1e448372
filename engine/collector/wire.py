"""The collector's wire format: pydantic models of what clients POST, and the two-way mapping
between hits (simulators.hits.HIT_COLUMNS, what the rails read) and JSON events.

Both directions live here so the simulator's HTTP sink and the collector cannot drift apart:
`decode_events(encode_events(hits))` gives back the hit columns the rails use.

An event (POST /api/v1/events, up to 1,000 per batch):

    {"event_id": "42", "event_type": "page_view", "timestamp": "2026-11-04T19:30:51.278262Z",
     "session_id": "1762284651278262", "anonymous_id": "GA1.1.1995342983530306976",
     "properties": {"url": "https://shop.example/p?utm_source=x", "title": null, "referrer": null,
                    "revenue": null, "transaction_id": null, "user_email": null},
     "context": {"user_agent": "Mozilla/5.0 ...", "locale": "en-US", "timezone": "Europe/Paris",
                 "ip": "85.134.173.234",
                 "consent": {"analytics_storage": true, "ad_storage": false,
                             "ad_user_data": false, "ad_personalization": false},
                 "ad_blocker": false}}

- `event_id`: string or integer, 1-128 characters; the idempotency key. A canonical decimal
  integer is stored as itself; any other id is stored as a stable 63-bit hash of it.
- `session_id`: a decimal integer is read as the session start in microseconds since the epoch
  (like GA4's `ga_session_id`, which is the session start time); any other value is hashed.
- `anonymous_id`: the first-party analytics cookie; send it only when analytics storage is granted.
- `context.ip`: optional; without it the collector uses the connecting address.
- `context.ad_blocker`: an ad blocker stopped the page's client-side tags, so only the
  server-side baseline sees the event (the full stack only through a first-party proxy).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Annotated, Literal

import polars as pl
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
)

from engine.consent import SIGNALS

MAX_BODY_BYTES = 1_000_000
MAX_EVENTS = 1_000
TS_FORMAT = "%Y-%m-%dT%H:%M:%S%.6fZ"
CONSENT_METHODS = ("accept_all", "reject_all", "custom", "gpc")
_CANONICAL_INT = r"^(0|-?[1-9][0-9]{0,17})$"


_NO_NUL = r"^[^\x00]*$"  # checked by pydantic-core (Rust), no Python call per field
_EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)


def _ip(s: str) -> str:
    ipaddress.ip_address(s)  # raises ValueError with a clear message; the text is kept as sent
    return s


def Text(max_length: int, min_length: int = 0):
    return Annotated[str, Field(min_length=min_length, max_length=max_length, pattern=_NO_NUL)]


Timestamp = Annotated[AwareDatetime, Field(gt=_EARLIEST, lt=_LATEST)]
Id = Annotated[str, Field(min_length=1, max_length=128, pattern=_NO_NUL)] | Annotated[int, Field(strict=True, ge=-(2**63), lt=2**63)]
IP = Annotated[str, Field(max_length=64), AfterValidator(_ip)]


class _Wire(BaseModel):
    # Unknown keys are ignored (clients often send more); known keys are type-checked strictly.
    model_config = ConfigDict(extra="ignore", strict=False, allow_inf_nan=False)


class Consent(_Wire):
    analytics_storage: StrictBool
    ad_storage: StrictBool
    ad_user_data: StrictBool
    ad_personalization: StrictBool


class Properties(_Wire):
    url: Text(8192, 1)
    title: Text(2048) | None = None
    referrer: Text(8192) | None = None
    revenue: Annotated[float, Field(ge=-1e12, le=1e12, strict=True)] | Annotated[int, Field(strict=True)] | None = None
    transaction_id: Text(128) | None = None
    user_email: Text(320) | None = None


class Context(_Wire):
    user_agent: Text(2048, 1)
    locale: Text(128) | None = None
    timezone: Text(64) | None = None
    ip: IP | None = None
    consent: Consent
    ad_blocker: StrictBool = False
    gpc: StrictBool = False


class Event(_Wire):
    event_id: Id
    event_type: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_.:-]{0,63}$")]
    timestamp: Timestamp
    session_id: Id | None = None
    anonymous_id: Text(256) | None = None
    properties: Properties
    context: Context


class EventBatch(_Wire):
    batch_id: Id
    sent_at: Timestamp
    events: Annotated[list[Event], Field(min_length=1, max_length=MAX_EVENTS)]


class ConsentContext(_Wire):
    user_agent: Text(2048, 1)
    ip: IP | None = None


class ConsentRecord(_Wire):
    anonymous_id: Text(256, 1)
    timestamp: Timestamp
    method: Literal[CONSENT_METHODS]
    consent: Consent
    context: ConsentContext


class ConsentBatch(_Wire):
    batch_id: Id | None = None
    records: Annotated[list[ConsentRecord], Field(min_length=1, max_length=MAX_EVENTS)]


_UNION_TAGS = {"str", "int", "float", "bool", "none"}


def field_errors(err: ValidationError, limit: int = 50) -> list[dict[str, str]]:
    """pydantic errors as [{"field": "events[0].event_type", "message": ...}], one per field
    (pydantic's union-member tags such as "constrained-float" are dropped from the path)."""
    out: dict[str, str] = {}
    for e in err.errors(include_url=False):
        path = ""
        for part in e["loc"]:
            if isinstance(part, int):
                path += f"[{part}]"
            elif part in _UNION_TAGS or not part.isidentifier():
                continue
            else:
                path += f".{part}" if path else part
        nul = e["type"] == "string_pattern_mismatch" and e.get("ctx", {}).get("pattern") == _NO_NUL
        out.setdefault(path or "body", "must not contain NUL characters" if nul else e["msg"].removeprefix("Value error, "))
        if len(out) >= limit:
            break
    return [{"field": f, "message": m} for f, m in out.items()]


# --- hits -> JSON (the simulator's HTTP sink) ---------------------------------------------------

def _iso(col: str) -> pl.Expr:
    return pl.col(col).dt.strftime(TS_FORMAT)


def encode_events(hits: pl.DataFrame) -> pl.Series:
    """One JSON object (text) per hit, in the wire format above. Vectorised."""
    return hits.select(
        pl.struct(
            event_id=pl.col("event_id").cast(pl.String),
            event_type=pl.col("event_type"),
            timestamp=_iso("ts"),
            session_id=pl.col("session_start").dt.epoch("us").cast(pl.String),
            anonymous_id=pl.col("client_id"),
            properties=pl.struct("url", "referrer", "revenue", "transaction_id", "user_email"),
            context=pl.struct(
                "user_agent", pl.col("language").alias("locale"), "timezone", "ip",
                pl.struct(*SIGNALS).alias("consent"), pl.col("blocker").alias("ad_blocker"), "gpc",
            ),
        ).struct.json_encode().alias("json")
    ).to_series()


def encode_consents(hits: pl.DataFrame) -> pl.Series:
    """One consent record (JSON text) per hit that carries a banner decision, in hit order."""
    return hits.filter(pl.col("consent_choice").is_not_null()).select(
        pl.struct(
            anonymous_id=pl.col("consent_id"),
            timestamp=_iso("consent_ts"),
            method=pl.col("consent_choice"),
            consent=pl.struct(*SIGNALS),
            context=pl.struct("user_agent", "ip"),
        ).struct.json_encode().alias("json")
    ).to_series()


def batch_body(batch_id: str, sent_at: dt.datetime, items: list[str], key: str = "events") -> bytes:
    """A batch body from pre-encoded JSON objects (no re-encoding per event)."""
    return (
        f'{{"batch_id":"{batch_id}","sent_at":"{sent_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}","{key}":['
        + ",".join(items) + "]}"
    ).encode()


# --- JSON -> hits (the collector) ---------------------------------------------------------------

def _stable_int(text: pl.Expr) -> pl.Expr:
    """Canonical decimal integers as themselves; anything else as a stable 63-bit hash."""
    return (
        pl.when(text.str.contains(_CANONICAL_INT))
        .then(text.cast(pl.Int64, strict=False))
        .otherwise((text.hash(0x5EED) // 2).cast(pl.Int64))
    )


_CONSENT_STRUCT = pl.Struct({k: pl.Boolean for k in SIGNALS})
_EVENT_SCHEMA = {
    "event_id": pl.String, "event_type": pl.String, "timestamp": pl.Datetime("us", "UTC"), "session_id": pl.String,
    "anonymous_id": pl.String,
    "properties": pl.Struct({"url": pl.String, "referrer": pl.String, "revenue": pl.Float64,
                             "transaction_id": pl.String, "user_email": pl.String}),
    "context": pl.Struct({"user_agent": pl.String, "locale": pl.String, "timezone": pl.String, "ip": pl.String,
                          "consent": _CONSENT_STRUCT, "ad_blocker": pl.Boolean, "gpc": pl.Boolean}),
}
_DUMP = {
    "event_id": True, "event_type": True, "timestamp": True, "session_id": True, "anonymous_id": True,
    "properties": {"url", "referrer", "revenue", "transaction_id", "user_email"},
    "context": {"user_agent", "locale", "timezone", "ip", "consent", "ad_blocker", "gpc"},
}


def event_rows(batch: EventBatch, client_ip: str) -> list[dict]:
    """The batch's events as plain dicts (pydantic-core's dump), the connecting address filled in
    where the event has no `context.ip`. Cheap: decoding to a frame happens once per group."""
    rows = batch.model_dump(include={"events": {"__all__": _DUMP}})["events"]
    for r in rows:
        if r["context"]["ip"] is None:
            r["context"]["ip"] = client_ip
    return rows


def decode_events(rows: list[dict], site: str) -> pl.DataFrame:
    """Event dicts (`event_rows`) -> hits: every column the rails read, plus `key`, the
    idempotency key ("e:" + the raw event id). One frame for many batches, no per-event loop."""
    raw = pl.DataFrame(rows, schema=_EVENT_SCHEMA, strict=False).unnest("properties", "context").unnest("consent")
    text_id = pl.col("event_id").cast(pl.String)
    return raw.select(
        pl.concat_str([pl.lit("e:"), text_id]).alias("key"),
        _stable_int(text_id).alias("event_id"),
        "event_type",
        pl.col("timestamp").alias("ts"),
        pl.from_epoch(_stable_int(pl.col("session_id").cast(pl.String)), time_unit="us").dt.replace_time_zone("UTC").alias("session_start"),
        "url", "referrer", "ip", "user_agent", pl.col("locale").alias("language"), "timezone",
        pl.lit(site).alias("site"),
        pl.col("anonymous_id").alias("client_id"), "user_email", "revenue", "transaction_id", *SIGNALS,
        pl.lit(None, pl.String).alias("consent_choice"),
        pl.lit(None, pl.String).alias("consent_id"),
        pl.lit(None, pl.Datetime("us", "UTC")).alias("consent_ts"),
        pl.col("ad_blocker").alias("blocker"), "gpc",
    )


def consent_rows(batch: ConsentBatch, client_ip: str) -> list[dict]:
    rows = batch.model_dump()["records"]
    for r in rows:
        if r["context"]["ip"] is None:
            r["context"]["ip"] = client_ip
    return rows


_CONSENT_SCHEMA = {
    "anonymous_id": pl.String, "timestamp": pl.Datetime("us", "UTC"), "method": pl.String, "consent": _CONSENT_STRUCT,
    "context": pl.Struct({"user_agent": pl.String, "ip": pl.String}),
}


def decode_consents(rows: list[dict]) -> pl.DataFrame:
    """Consent record dicts -> the hit columns the consent log reads, plus `key` (visitor + time)."""
    raw = pl.DataFrame(rows, schema=_CONSENT_SCHEMA, strict=False).unnest("consent", "context")
    return raw.select(
        pl.concat_str([pl.lit("c:"), pl.col("anonymous_id"), pl.lit("|"), pl.col("timestamp").dt.strftime(TS_FORMAT)]).alias("key"),
        pl.col("anonymous_id").alias("consent_id"),
        pl.col("method").alias("consent_choice"),
        pl.col("timestamp").alias("consent_ts"),
        "ip", "user_agent", *SIGNALS,
    )
