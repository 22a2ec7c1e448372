"""The collector's wire format: pydantic models of what clients POST, and the two-way mapping
between hits (engine.schema.HITS, what the rails read) and JSON events.

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

- `context.consent`: optional, and so is each of its four fields. Each takes `true`/`false` or
  Google Consent Mode's `"granted"`/`"denied"`. A signal that is not sent is no consent signal:
  the site's regional default (the scenario's `consent.defaults`, by the country of the IP)
  applies, and the rails treat the event like one from a visitor who has not answered the banner;
  with `consent.honour_gpc` a browser sending `context.gpc: true` is refused instead.

- `event_id`: string or integer, 1-128 characters; the idempotency key. A canonical decimal
  integer, alone or scoped as "<scope>:<integer>" (the simulator sends "<run_id>:<n>", so two runs
  into one collector never collide), is stored as that integer; any other id as a stable 63-bit
  hash of it.
- `session_id`: a decimal integer is read as the session start in microseconds since the epoch
  (like GA4's `ga_session_id`, which is the session start time); any other value is hashed.
- `anonymous_id`: the first-party analytics cookie; send it only when analytics storage is granted.
- `client_timestamp`: optional; the browser's own clock when the event happened (clocks can be
  off: the collector's data-quality report compares it with `timestamp` and with its receive time).
- `context.ip`: optional; without it the collector uses the connecting address.
- `context.ad_blocker`: an ad blocker stopped the page's client-side tags, so only the
  server-side baseline sees the event (the full stack only through a first-party proxy).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import operator
import types
from typing import Annotated, Any, Literal, NotRequired, Union, get_args, get_origin

import numpy as np
import polars as pl
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    TypeAdapter,
    ValidationError,
)
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from engine.consent import SIGNALS

MAX_BODY_BYTES = 1_000_000
MAX_EVENTS = 1_000
TS_FORMAT = "%Y-%m-%dT%H:%M:%S%.6fZ"
ConsentMethod = Literal["accept_all", "reject_all", "custom", "gpc"]
CONSENT_METHODS: tuple[str, ...] = get_args(ConsentMethod)
# "<scope>:<integer>" or "<integer>": the integer is stored as the event id (the scope keeps the
# ids of different runs apart in the idempotency ledger); any other id is stored as a hash.
_SCOPED_INT = r"^(?:[^:]{1,64}:)?(0|-?[1-9][0-9]{0,18})$"


_NO_NUL = r"^[^\x00]*$"  # checked by pydantic-core (Rust), no Python call per field
_EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)


_V4 = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}"
_H = r"[0-9a-fA-F]{1,4}"
_V6 = "|".join([
    rf"({_H}:){{7}}{_H}", rf"({_H}:){{1,7}}:", rf"({_H}:){{1,6}}:{_H}", rf"({_H}:){{1,5}}(:{_H}){{1,2}}",
    rf"({_H}:){{1,4}}(:{_H}){{1,3}}", rf"({_H}:){{1,3}}(:{_H}){{1,4}}", rf"({_H}:){{1,2}}(:{_H}){{1,5}}",
    rf"{_H}:(:{_H}){{1,6}}", rf":((:{_H}){{1,7}}|:)", rf"({_H}:){{6}}{_V4}", rf"::(ffff(:0{{1,4}})?:)?{_V4}",
    rf"({_H}:){{1,5}}:{_V4}", rf"({_H}:){{1,4}}(:{_H}){{1,1}}:{_V4}", rf"({_H}:){{1,3}}(:{_H}){{1,2}}:{_V4}",
    rf"({_H}:){{1,2}}(:{_H}){{1,3}}:{_V4}", rf"{_H}:(:{_H}){{1,4}}:{_V4}", rf"::({_H}:){{1,5}}{_V4}",
])
# An IPv4 or IPv6 address (no zone id), checked by pydantic-core's regex engine: the same
# addresses Python's ipaddress accepts (tests/test_collector_fuzz.py checks both ways).
IP_PATTERN = rf"^({_V4}|{_V6})$"


# Bounded text without NUL characters, one alias per length (a type checker needs names, not calls).
Text64 = Annotated[str, Field(min_length=0, max_length=64, pattern=_NO_NUL)]
Text128 = Annotated[str, Field(min_length=0, max_length=128, pattern=_NO_NUL)]
Text256 = Annotated[str, Field(min_length=0, max_length=256, pattern=_NO_NUL)]
NonEmptyText256 = Annotated[str, Field(min_length=1, max_length=256, pattern=_NO_NUL)]
Text320 = Annotated[str, Field(min_length=0, max_length=320, pattern=_NO_NUL)]
Text2048 = Annotated[str, Field(min_length=0, max_length=2048, pattern=_NO_NUL)]
NonEmptyText2048 = Annotated[str, Field(min_length=1, max_length=2048, pattern=_NO_NUL)]
Text8192 = Annotated[str, Field(min_length=0, max_length=8192, pattern=_NO_NUL)]
NonEmptyText8192 = Annotated[str, Field(min_length=1, max_length=8192, pattern=_NO_NUL)]


Timestamp = Annotated[AwareDatetime, Field(gt=_EARLIEST, lt=_LATEST)]
Id = Annotated[str, Field(min_length=1, max_length=128, pattern=_NO_NUL)] | Annotated[int, Field(strict=True, ge=-(2**63), lt=2**63)]
IP = Annotated[str, Field(max_length=64, pattern=IP_PATTERN)]


class _Wire(BaseModel):
    # Unknown keys are ignored (clients often send more); known keys are type-checked strictly.
    model_config = ConfigDict(extra="ignore", strict=False, allow_inf_nan=False)


def _granted(value: str) -> bool:
    return value == "granted"


# A consent signal: a boolean, or Consent Mode's words (read as a boolean; only these cost a Python call).
Signal = StrictBool | Annotated[Literal["granted", "denied"], AfterValidator(_granted)]


class Consent(_Wire):
    """The banner's four signals as the browser holds them (an absent one: the regional default)."""

    analytics_storage: Signal | None = None
    ad_storage: Signal | None = None
    ad_user_data: Signal | None = None
    ad_personalization: Signal | None = None


class StrictConsent(_Wire):
    """A recorded decision: all four signals, each one stated."""

    analytics_storage: Signal
    ad_storage: Signal
    ad_user_data: Signal
    ad_personalization: Signal


class Properties(_Wire):
    url: NonEmptyText8192
    title: Text2048 | None = None
    referrer: Text8192 | None = None
    revenue: Annotated[float, Field(ge=-1e12, le=1e12, strict=True)] | Annotated[int, Field(ge=-10**12, le=10**12, strict=True)] | None = None
    transaction_id: Text128 | None = None
    user_email: Text320 | None = None


class Context(_Wire):
    user_agent: NonEmptyText2048
    locale: Text128 | None = None
    timezone: Text64 | None = None
    ip: IP | None = None
    consent: Consent | None = None
    ad_blocker: StrictBool = False
    gpc: StrictBool = False


class Event(_Wire):
    event_id: Id
    event_type: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_.:-]{0,63}$")]
    timestamp: Timestamp
    client_timestamp: Timestamp | None = None
    session_id: Id | None = None
    anonymous_id: Text256 | None = None
    properties: Properties
    context: Context


class EventBatch(_Wire):
    batch_id: Id
    sent_at: Timestamp
    events: Annotated[list[Event], Field(min_length=1, max_length=MAX_EVENTS)]


class ConsentContext(_Wire):
    user_agent: NonEmptyText2048
    ip: IP | None = None


class ConsentRecord(_Wire):
    anonymous_id: NonEmptyText256
    timestamp: Timestamp
    method: ConsentMethod
    consent: StrictConsent
    context: ConsentContext


class ConsentBatch(_Wire):
    batch_id: Id | None = None
    records: Annotated[list[ConsentRecord], Field(min_length=1, max_length=MAX_EVENTS)]


class ErasureRequest(_Wire):
    """POST /api/gdpr/delete: erase what is stored about the visitor with this anonymous id."""

    anonymous_id: NonEmptyText256


# --- the request path's validators: the models above, read into plain dicts ----------------------
# A model instance per event, per properties, per context and per consent costs more than the checks
# themselves; the same fields, constraints and config as TypedDicts run the same checks in
# pydantic-core and build dicts. A field the client left out is absent (not its default): the
# decoder below fills it as the model would.


def _plain(tp: Any, made: dict[type, Any]) -> Any:
    """`tp` with every model in it (inside unions, lists and Annotated) replaced by its TypedDict."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _typed_dict(tp, made)
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        return Annotated[(_plain(args[0], made), *tp.__metadata__)]
    if origin in (Union, types.UnionType):
        return functools.reduce(operator.or_, [_plain(a, made) for a in args])
    if origin is list:
        return list[_plain(args[0], made)]  # type: ignore[misc]
    return tp


def _typed_dict(model: type[BaseModel], made: dict[type, Any]) -> Any:
    if model not in made:
        fields: dict[str, Any] = {}
        for name, f in model.model_fields.items():
            tp = _plain(f.annotation, made)
            if f.metadata:
                tp = Annotated[(tp, *f.metadata)]
            fields[name] = tp if f.is_required() else NotRequired[tp]
        td = TypedDict(model.__name__, fields)  # type: ignore[misc]
        td.__pydantic_config__ = model.model_config  # type: ignore[attr-defined]
        made[model] = td
    return made[model]


def plain_validator(model: type[BaseModel]) -> TypeAdapter:
    """A validator that checks exactly what `model` checks and gives plain dicts (without the
    defaults of fields not sent)."""
    return TypeAdapter(_typed_dict(model, {}))


EVENT_BATCH_IN = plain_validator(EventBatch)
CONSENT_BATCH_IN = plain_validator(ConsentBatch)
CONSENT_RECORD_IN = plain_validator(ConsentRecord)


# --- what the collector answers (published as JSON Schemas; the tests check real answers against them)


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")  # an answer may carry more than documented


class FieldError(_Answer):
    field: str
    message: str


class ErrorAnswer(_Answer):
    """Every error: 400, 401, 404, 405, 408, 413, 415, 429, 431, 500, 503."""

    status: Literal["error"]
    code: str
    message: str
    errors: list[FieldError] | None = None


class EventsAccepted(_Answer):
    """202 to POST /api/v1/events, once the batch is durably stored."""

    status: Literal["accepted"]
    batch_id: Id | None
    events_received: int
    events_stored: int
    duplicates: int
    timestamp: str


class ConsentAccepted(_Answer):
    """202 to POST /api/v1/consent."""

    status: Literal["accepted"]
    batch_id: Id | None
    records_received: int
    records_stored: int
    duplicates: int
    timestamp: str


class HealthAnswer(_Answer):
    """GET /api/v1/health: 200 when healthy, 503 when the database cannot be reached."""

    status: Literal["healthy", "unhealthy"]
    version: str
    timestamp: str
    checks: dict[Literal["database"], Literal["connected", "disconnected"]]


class SubjectIdentifiers(_Answer):
    device_ids: list[str]
    user_ids: list[str]
    consent_id: str


class SubjectExport(_Answer):
    """200 to GET /api/v1/subjects/{anonymous_id}: every stored row linked to the id, per table."""

    status: Literal["found"]
    run_id: str
    identifiers: SubjectIdentifiers
    how_linked: dict[str, str]
    tables: dict[str, list[dict[str, Any]]]
    timestamp: str


class SubjectErasure(_Answer):
    """200 to DELETE /api/v1/subjects/{anonymous_id} and POST /api/gdpr/delete."""

    status: Literal["erased"]
    run_id: str
    identifiers: SubjectIdentifiers
    erased: dict[str, int]
    kept: dict[str, int]
    notes: dict[str, str]
    timestamp: str


_UNION_TAGS = {"str", "int", "float", "bool", "none"}
_SHOULD = "Input should be "
_OBJECT = "Input should be an object"  # what a plain validator says from JSON where an object is due
_PATTERN_MESSAGES = {_NO_NUL: "must not contain NUL characters", IP_PATTERN: "must be an IPv4 or IPv6 address"}


def field_errors(err: ValidationError, limit: int | None = 50) -> list[dict[str, str]]:
    """pydantic errors as [{"field": "events[0].event_type", "message": ...}], one per field
    (pydantic's union-member tags such as "constrained-float" are dropped from the path, and the
    members' messages are joined: "Input should be a valid boolean, or 'granted' or 'denied'")."""
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
        pattern = e.get("ctx", {}).get("pattern") if e["type"] == "string_pattern_mismatch" else None
        msg = _PATTERN_MESSAGES.get(pattern, e["msg"]) if pattern else e["msg"]
        if e["type"] == "model_type":  # "...or instance of Properties": a class name means nothing to a client
            msg = _OBJECT
        msg, field = msg.removeprefix("Value error, "), path or "body"
        if field in out:  # another member of a union: say every form the field takes
            more = msg.removeprefix(_SHOULD)
            if msg.startswith(_SHOULD) and out[field].startswith(_SHOULD) and more not in out[field]:
                out[field] += ", or " + more
            continue
        if limit is not None and len(out) >= limit:
            break
        out[field] = msg
    return [{"field": f, "message": m} for f, m in out.items()]


# --- hits -> JSON (the simulator's HTTP sink) ---------------------------------------------------

def _iso(col: str) -> pl.Expr:
    return pl.col(col).dt.strftime(TS_FORMAT)


def encode_events(hits: pl.DataFrame, scope: str | None = None) -> pl.Series:
    """One JSON object (text) per hit, in the wire format above. Vectorised. With a `scope` (the
    run id), event ids go out as "<scope>:<id>": unique across runs, stored as <id>."""
    event_id = pl.col("event_id").cast(pl.String)
    return hits.select(
        pl.struct(
            event_id=event_id if scope is None else pl.concat_str([pl.lit(f"{scope}:"), event_id]),
            event_type=pl.col("event_type"),
            timestamp=_iso("ts"),
            client_timestamp=_iso("client_ts"),
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
    """A (scoped) canonical integer that fits 64 bits as itself; anything else as a stable 63-bit hash."""
    return pl.coalesce(text.str.extract(_SCOPED_INT, 1).cast(pl.Int64, strict=False), (text.hash(0x5EED) // 2).cast(pl.Int64))


_CONSENT_STRUCT = pl.Struct({k: pl.Boolean for k in SIGNALS})
_EVENT_STRUCT = pl.Struct({
    "event_id": pl.String, "event_type": pl.String, "timestamp": pl.String, "client_timestamp": pl.String, "session_id": pl.String,
    "anonymous_id": pl.String,
    "properties": pl.Struct({"url": pl.String, "referrer": pl.String, "revenue": pl.Float64,
                             "transaction_id": pl.String, "user_email": pl.String}),
    "context": pl.Struct({"user_agent": pl.String, "locale": pl.String, "timezone": pl.String, "ip": pl.String,
                          "consent": _CONSENT_STRUCT, "ad_blocker": pl.Boolean, "gpc": pl.Boolean}),
})
_CONSENT_RECORD_STRUCT = pl.Struct({
    "anonymous_id": pl.String, "timestamp": pl.String, "method": pl.String, "consent": _CONSENT_STRUCT,
    "context": pl.Struct({"user_agent": pl.String, "ip": pl.String}),
})
_DUMP: dict[str, Any] = {  # pydantic's `include` spec for an event
    "event_id": True, "event_type": True, "timestamp": True, "client_timestamp": True, "session_id": True, "anonymous_id": True,
    "properties": {"url", "referrer", "revenue", "transaction_id", "user_email"},
    "context": {"user_agent", "locale", "timezone", "ip", "consent", "ad_blocker", "gpc"},
}


def events_json(batch: EventBatch | dict) -> bytes:
    """The validated events (a model, or `EVENT_BATCH_IN`'s dict), re-serialised by pydantic-core
    (normalised, known fields only): b'{"events":[...]}'. Decoding to a frame happens once per group."""
    include = {"events": {"__all__": _DUMP}}
    if isinstance(batch, BaseModel):
        return batch.model_dump_json(include=include).encode()
    return EVENT_BATCH_IN.dump_json(batch, include=include)


def consents_json(batch: ConsentBatch | dict) -> bytes:
    if isinstance(batch, BaseModel):
        return batch.model_dump_json(include={"records"}).encode()
    return CONSENT_BATCH_IN.dump_json(batch, include={"records"})


def _read_many(parts: list[tuple[bytes, str]], key: str, struct: pl.Struct) -> pl.DataFrame:
    """Concatenate the item arrays of many dumps and read them with polars' JSON reader (Rust);
    `_client` is each row's connecting address (for a missing `ip`)."""
    head = f'{{"{key}":['.encode()
    inner = []
    for payload, _ in parts:
        if not (payload.startswith(head) and payload.endswith(b"]}")):
            raise ValueError(f"not a {key} dump")
        inner.append(payload[len(head):-2])
    return pl.read_json(io.BytesIO(b"[" + b",".join(inner) + b"]"), schema=dict(struct.to_schema()))


def _with_client(rows: pl.DataFrame, parts: list[tuple[bytes, str]], sizes: list[int]) -> pl.DataFrame:
    client = pl.Series("_client", [ip for _, ip in parts], pl.String).gather(
        pl.Series(np.repeat(np.arange(len(parts), dtype=np.uint32), sizes))
    )
    return rows.with_columns(pl.col("ip").fill_null(client))


def _ts(col: str) -> pl.Expr:
    return pl.col(col).str.to_datetime(time_zone="UTC", time_unit="us")


def decode_events(parts: list[tuple[bytes, str]], sizes: list[int], site: str) -> pl.DataFrame:
    """`events_json` dumps (with each batch's connecting address) -> hits: every column the
    rails read, plus `key`, the idempotency key ("e:" + the raw event id). No per-event loop."""
    raw = _read_many(parts, "events", _EVENT_STRUCT).unnest("properties", "context").unnest("consent")
    raw = _with_client(raw, parts, sizes)
    return raw.select(
        pl.concat_str([pl.lit("e:"), pl.col("event_id")]).alias("key"),
        _stable_int(pl.col("event_id")).alias("event_id"),
        "event_type",
        _ts("timestamp").alias("ts"),
        pl.from_epoch(_stable_int(pl.col("session_id")), time_unit="us").dt.replace_time_zone("UTC").alias("session_start"),
        "url", "referrer", "ip", "user_agent", pl.col("locale").alias("language"), "timezone",
        pl.lit(site).alias("site"),
        pl.col("anonymous_id").alias("client_id"), "user_email", "revenue", "transaction_id", *SIGNALS,
        pl.lit(None, pl.String).alias("consent_choice"),
        pl.lit(None, pl.String).alias("consent_id"),
        pl.lit(None, pl.Datetime("us", "UTC")).alias("consent_ts"),
        pl.col("ad_blocker").fill_null(False).alias("blocker"), pl.col("gpc").fill_null(False),  # not sent: false
        _ts("client_timestamp").alias("client_ts"),
        pl.lit(None, pl.Datetime("us", "UTC")).alias("received_at"),  # stamped by the ingestor on arrival
    )


def decode_consents(parts: list[tuple[bytes, str]], sizes: list[int]) -> pl.DataFrame:
    """`consents_json` dumps -> the hit columns the consent log reads (the ingestor adds the
    idempotency key: the keyed hash of the visitor's id and the time, never the raw id)."""
    raw = _with_client(_read_many(parts, "records", _CONSENT_RECORD_STRUCT).unnest("consent", "context"), parts, sizes)
    ts = _ts("timestamp")
    return raw.select(
        pl.col("anonymous_id").alias("consent_id"),
        pl.col("method").alias("consent_choice"),
        ts.alias("consent_ts"),
        "ip", "user_agent", *SIGNALS,
    )
