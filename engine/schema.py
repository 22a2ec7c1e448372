"""The one registry of stored columns: per table, each column's dtype, PII level, masking action and
description. DuckDB DDL, the masking classification, empty frames and column lists are all derived
from here, so a column is written down exactly once.

Also here: the PII levels and their retention (days kept per level, which timestamp each table's
retention counts from), and the fields a hit carries with what each rail does to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import polars as pl


class Level(IntEnum):
    NONE = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4


# Days a row is kept, by the highest PII level among its non-null columns (None: forever).
RETENTION_DAYS: dict[Level, int | None] = {
    Level.NONE: None,
    Level.LOW: 730,
    Level.MEDIUM: 90,
    Level.HIGH: 30,
    Level.CRITICAL: 7,
}

ACTIONS = ("keep", "truncate", "generalise", "keyed_hash", "derived", "scrub", "drop")


@dataclass(frozen=True)
class Column:
    dtype: pl.DataType
    level: Level
    action: str  # one of ACTIONS: what the rail did to the raw value before storing it
    note: str = ""


S, I64, I32, F64, B, D = pl.String(), pl.Int64(), pl.Int32(), pl.Float64(), pl.Boolean(), pl.Date()
TS = pl.Datetime("us", "UTC")
N, L, M, H, C = Level.NONE, Level.LOW, Level.MEDIUM, Level.HIGH, Level.CRITICAL


def _c(dtype: pl.DataType, level: Level, action: str = "keep", note: str = "") -> Column:
    return Column(dtype, level, action, note)


_RUN_ID = {"run_id": _c(S, N, note="the run (a hash of its scenario)")}

# Columns both rails store, in this order, right after run_id.
_EVENT_COMMON = {
    "event_id": _c(I64, N, note="random event id, no person behind it"),
    "ts": _c(TS, L),
    "date": _c(D, N, "generalise"),
    "event": _c(S, N),
    "path": _c(S, L, "scrub", "URL path without query"),
    "utm_source": _c(S, N),
    "utm_medium": _c(S, N),
    "utm_campaign": _c(S, N),
    "referrer_host": _c(S, L, "generalise", "referrer URL reduced to its host"),
    "channel": _c(S, N, "derived"),
    "country": _c(S, L, "generalise", "from the IP, which is then dropped"),
    "ip_truncated": _c(S, M, "truncate", "null unless masking.store_truncated_ip"),
    "browser_family": _c(S, L, "generalise"),
    "os": _c(S, L, "generalise"),
    "device_class": _c(S, L, "generalise"),
}
_REVENUE = {
    "revenue": _c(F64, L),
    "transaction_id": _c(S, L, note="order number"),
}
SIGNALS = ("analytics_storage", "ad_storage", "ad_user_data", "ad_personalization")

TABLES: dict[str, dict[str, Column]] = {
    "runs": _RUN_ID | {
        "traffic_key": _c(S, N),
        "scenario_json": _c(S, N),
        "created_at": _c(TS, N),
        "source": _c(S, N, note="cli, app or collector"),
        "visitors": _c(I64, N),
        "truth_events": _c(I64, N),
        "baseline_events": _c(I64, N),
        "fullstack_events": _c(I64, N),
        "consent_log": _c(I64, N),
    },
    "visitors": _RUN_ID | {
        "visitor_id": _c(I64, M, note="ground truth only: one browser (a person's second device is a row of its own)"),
        "person_id": _c(I64, M, note="ground truth only: the person behind the browser"),
        "date": _c(D, N),
        "first_seen": _c(TS, L),
        "persona": _c(S, L),
        "privacy_attitude": _c(S, L),
        "region": _c(S, L),
        "country": _c(S, L),
        "city": _c(S, M),
        "timezone": _c(S, L),
        "language": _c(S, L),
        "device": _c(S, L),
        "os": _c(S, L),
        "browser": _c(S, L),
        "platform": _c(S, L),
        "user_agent": _c(S, M, note="raw user agent, truth only"),
        "ipv4": _c(S, H, note="raw IP, truth only"),
        "ipv6": _c(S, H, note="raw IP, truth only"),
        "screen": _c(S, L, note="fingerprint attribute"),
        "webgl": _c(S, L, note="fingerprint attribute"),
        "fonts": _c(S, M, note="fingerprint attribute"),
        "canvas": _c(S, M, note="fingerprint attribute"),
        "plugins": _c(S, L, note="fingerprint attribute"),
        "accept": _c(S, L, note="fingerprint attribute"),
        "dnt": _c(B, L),
        "cookies_enabled": _c(B, L),
        "adblock": _c(B, L),
        "gpc": _c(B, L),
        "has_account": _c(B, L),
        "email": _c(S, C, note="raw e-mail, truth only"),
        "n_sessions": _c(I32, N, "derived"),
        "n_events": _c(I32, N, "derived"),
        "consent_choice": _c(S, L, note="added by the pipeline from the consent decisions"),
        "consent_at": _c(TS, L, note="added by the pipeline from the consent decisions"),
    },
    "truth_events": _RUN_ID | {
        "event_id": _c(I64, N),
        "visitor_id": _c(I64, M, note="ground truth only: the browser that sent it"),
        "person_id": _c(I64, M, note="ground truth only: the person behind the browser"),
        "session_id": _c(I64, M, note="ground truth only"),
        "session_index": _c(I32, N),
        "session_start": _c(TS, L),
        "seq": _c(I32, N),
        "ts": _c(TS, L),
        "date": _c(D, N),
        "event": _c(S, N),
        "path": _c(S, L),
        "url": _c(S, H, note="raw URL; may carry an e-mail in its query"),
        "referrer": _c(S, L),
        "channel": _c(S, N),
        "revenue": _c(F64, L),
        "logged_in": _c(B, L),
    },
    "baseline_events": _RUN_ID | _EVENT_COMMON | {
        "visitor_hash": _c(S, M, "keyed_hash", "HMAC(daily or fixed salt, site|ip|user agent)"),
    } | _REVENUE,
    "fullstack_events": _RUN_ID | _EVENT_COMMON | {
        "is_ping": _c(B, N, "derived"),
        "gcs": _c(S, N, "derived"),
        "device_id": _c(S, M, "keyed_hash", "HMAC of the first-party cookie"),
        "session_id": _c(S, M, "keyed_hash", "hash of device_id and session start"),
        "user_id": _c(S, H, "keyed_hash", "HMAC of the login e-mail"),
        "url": _c(S, L, "scrub", "path + allowed params, PII values masked"),
        "gclid": _c(S, M, note="ad click id, only with ad_storage granted"),
        "has_ad_click": _c(B, N, "derived"),
        "ua_hash": _c(S, M, "keyed_hash"),
        "language": _c(S, L),
    } | _REVENUE | {s: _c(B, N) for s in SIGNALS} | {
        "client_ts": _c(TS, L, note="the browser's own clock when the event happened (may be skewed)"),
        "received_at": _c(TS, L, note="when the collector received the hit (its own clock)"),
        "sample_rate": _c(F64, N, "derived", "share of browsers the full stack keeps (sampling tier); counts scale by 1/rate"),
    },
    "consent_log": _RUN_ID | {
        "anonymous_id": _c(S, M, "keyed_hash", "HMAC of the consent-manager cookie"),
        "consent_type": _c(S, N),
        "granted": _c(B, N),
        "method": _c(S, N, note="accept_all, reject_all, custom or gpc"),
        "ip_hash": _c(S, M, "keyed_hash"),
        "ua_hash": _c(S, M, "keyed_hash"),
        "consent_version": _c(S, N),
        "consent_text": _c(S, N),
        "country": _c(S, L, "generalise"),
        "ts": _c(TS, L),
        "date": _c(D, N),
    },
}
TABLE_NAMES = tuple(TABLES)
DATA_TABLES = TABLE_NAMES[1:]

# The timestamp that retention counts from, per table.
RETENTION_CLOCK = {"runs": "created_at", "visitors": "first_seen", "truth_events": "ts", "consent_log": "ts",
                   "baseline_events": "ts", "fullstack_events": "ts"}
# Proof of consent must outlive the data it covers (GDPR Art. 7(1)): the log keeps at least LOW.
RETENTION_FLOOR = {"consent_log": Level.LOW}


@dataclass(frozen=True)
class HitField:
    dtype: pl.DataType
    baseline: str  # what each rail does with the field
    fullstack: str
    consent_log: str
    consent_free: bool = True  # False: the field depends on the visitor's consent decision


_DROP = "drop"
# One row per event a browser (or the site's server) sends: what a real collector receives. No visitor id.
HITS: dict[str, HitField] = {
    "event_id": HitField(I64, "keep", "keep", _DROP),
    "event_type": HitField(S, "keep (page views and server events only)", "keep", _DROP),
    "ts": HitField(TS, "keep", "keep", _DROP),
    "session_start": HitField(TS, _DROP, "hashed with device_id -> session_id", _DROP),
    "url": HitField(S, "path only, UTM kept", "path + allowed params, PII values masked", _DROP),
    "referrer": HitField(S, "host only", "host only", _DROP),
    "ip": HitField(S, "country, truncate, then drop (hashed with the daily salt)", "country, truncate, then drop", "keyed hash"),
    "user_agent": HitField(S, "reduce to browser/OS/device class", "reduce + keyed hash", "keyed hash"),
    "language": HitField(S, _DROP, "keep", _DROP),
    "timezone": HitField(S, _DROP, _DROP, _DROP),
    "site": HitField(S, "hashed into the visitor hash", _DROP, _DROP),
    "client_id": HitField(S, _DROP, "keyed hash -> device_id", _DROP, consent_free=False),
    "user_email": HitField(S, _DROP, "keyed hash -> user_id", _DROP),
    "revenue": HitField(F64, "keep (server events)", "keep", _DROP),
    "transaction_id": HitField(S, "keep (server events)", "keep", _DROP),
    **{s: HitField(B, _DROP, "keep", "keep", consent_free=False) for s in SIGNALS},
    "consent_choice": HitField(S, _DROP, _DROP, "keep as method", consent_free=False),
    "consent_id": HitField(S, _DROP, _DROP, "keyed hash -> anonymous_id", consent_free=False),
    "consent_ts": HitField(TS, _DROP, _DROP, "keep as ts", consent_free=False),
    "blocker": HitField(B, "ignored (server side)", "drops the hit unless a server-side proxy is on", _DROP),
    "gpc": HitField(B, _DROP, _DROP, "method gpc"),
    "client_ts": HitField(TS, _DROP, "keep", _DROP),
    # Not sent by the browser: the collector stamps it on arrival (the simulator: event time + delivery delay).
    "received_at": HitField(TS, _DROP, "keep", _DROP),
}
HIT_COLUMNS = tuple(HITS)
CONSENT_FREE_HIT_COLUMNS = tuple(k for k, f in HITS.items() if f.consent_free)

_DUCK_TYPES = {S: "VARCHAR", I64: "BIGINT", I32: "INTEGER", F64: "DOUBLE", B: "BOOLEAN", D: "DATE", TS: "TIMESTAMPTZ"}


def dtypes(table: str, *, run_id: bool = True) -> dict[str, pl.DataType]:
    """Column name -> polars dtype of a stored table, in storage order."""
    return {c: col.dtype for c, col in TABLES[table].items() if run_id or c != "run_id"}


def columns(table: str, *, run_id: bool = True) -> tuple[str, ...]:
    return tuple(dtypes(table, run_id=run_id))


def empty(table: str, *, run_id: bool = False) -> pl.DataFrame:
    """A frame with no rows and the table's columns and dtypes."""
    return pl.DataFrame(schema=dtypes(table, run_id=run_id))


def ddl(table: str) -> str:
    """DuckDB CREATE TABLE statement of a stored table."""
    cols = ", ".join(f'"{c}" {duck_type(table, c)}' for c in TABLES[table])
    return f'CREATE TABLE IF NOT EXISTS "{table}" ({cols})'


def duck_type(table: str, column: str) -> str:
    """The DuckDB type of a stored column."""
    return _DUCK_TYPES[TABLES[table][column].dtype]
