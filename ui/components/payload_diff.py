"""What masking did to one request: each field the browser (or web server) sent, beside what the rail
stored from it — removed fields struck out, changed ones highlighted, kept ones plain.

Sent and stored fields have different names (`dl` is stored as `url`, a user agent as browser, system and
device class), so each request kind lists which stored columns a sent field becomes. Values are data:
each goes into Markdown as an inline code span (no HTML, link or Markdown from a payload ever renders)."""

from __future__ import annotations

import json
from typing import Any, Literal, NamedTuple

from ui.words import t

Outcome = Literal["kept", "changed", "removed"]
_UA = ("browser_family", "os", "device_class")
# request kind -> (sent field path, field's word key, stored columns it becomes)
FIELDS: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    "collector": (("event", "event", ("event",)), ("url", "page", ("path",)), ("referrer", "referrer", ("referrer_host",)),
                  ("ip", "ip", ("ip_truncated",)), ("user_agent", "user_agent", _UA), ("transaction_id", "order", ("transaction_id",)),
                  ("revenue", "revenue", ("revenue",))),
    "collect": (("v", "protocol", ()), ("tid", "measurement_id", ()), ("en", "event", ("event",)), ("gcs", "gcs", ("gcs",)),
                ("cid", "client_id", ("device_id",)), ("uid", "email", ("user_id",)), ("dl", "page", ("url",)),
                ("dr", "referrer", ("referrer_host",)), ("ad_click", "ad_click", ("has_ad_click",)), ("ip", "ip", ("ip_truncated",)),
                ("user_agent", "user_agent", _UA)),
    "capture": (("event", "event", ("event",)), ("distinct_id", "client_id", ("device_id",)),
                ("properties.$current_url", "page", ("url",)), ("properties.$referrer", "referrer", ("referrer_host",)),
                ("properties.$ip", "ip", ()), ("properties.$raw_user_agent", "user_agent", _UA), ("properties.email", "email", ("user_id",))),
}


class FieldDiff(NamedTuple):
    field: str  # the field's word key (live.field_<field>)
    sent: str
    stored: str | None
    outcome: Outcome


def _get(payload: dict[str, Any], path: str) -> Any:
    node: Any = payload
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def diff(request: str, before: str | None, after: str | None) -> list[FieldDiff]:
    """Each field sent in `before` (JSON) and what `after` (the stored row's JSON, None if nothing was stored) kept of it."""
    sent = json.loads(before) if before else {}
    stored = json.loads(after) if after else {}
    out = []
    for path, word, columns in FIELDS[request]:
        value = _get(sent, path)
        if value is None:
            continue
        kept = [stored[c] for c in columns if stored.get(c) is not None]
        if not kept:
            out.append(FieldDiff(word, _text(value), None, "removed"))
        elif len(kept) == 1 and _text(kept[0]) == _text(value):
            out.append(FieldDiff(word, _text(value), _text(kept[0]), "kept"))
        else:
            out.append(FieldDiff(word, _text(value), " · ".join(_text(v) for v in kept), "changed"))
    return out


def literal(value: str) -> str:
    """A payload value as an inline code span: shown as written, never formatted or turned into a link
    (a backtick inside becomes a look-alike, so the span cannot be closed early)."""
    return "`" + value.replace("\n", " ").replace("\r", " ").replace("`", "\u02cb") + "`"


def _short(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def markdown(rows: list[FieldDiff]) -> str:
    """The diff as a Markdown list: removed struck out, changed highlighted (sent → stored), kept plain."""
    lines = []
    for r in rows:
        name, sent = t(f"live.field_{r.field}"), literal(_short(r.sent))
        if r.outcome == "removed":
            lines.append(t("live.diff_removed", field=name, sent=sent))
        elif r.outcome == "changed":
            lines.append(t("live.diff_changed", field=name, sent=sent, stored=literal(_short(r.stored or ""))))
        else:
            lines.append(t("live.diff_kept", field=name, sent=sent))
    return "\n".join(f"- {line}" for line in lines)
