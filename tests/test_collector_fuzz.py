"""Property-based fuzzing of the event schema against the real collector: whatever a client
sends, the answer is 202 (and every event is counted exactly once) or 400/413 (and nothing is
written), never a 5xx; strings that are accepted come back verbatim."""

from __future__ import annotations

import ipaddress
import json

import httpx
import pytest
from collector_helpers import Collector, event
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from engine import wire

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**200), 2**200), st.floats(allow_nan=False), st.text(max_size=50))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
texts = st.text(max_size=300)  # any unicode, control characters included (NUL too: must be refused)
ids = st.one_of(st.text(min_size=1, max_size=40), st.integers(-(2**63), 2**63 - 1))
timestamps = st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())

FIELDS = {
    "event_id": ids,
    "event_type": st.one_of(st.from_regex(r"\A[a-z][a-z_]{0,20}\Z"), texts),
    "timestamp": st.one_of(timestamps, texts),
    "session_id": st.one_of(st.none(), ids),
    "anonymous_id": st.one_of(st.none(), texts),
    "properties.url": texts,
    "properties.referrer": st.one_of(st.none(), texts),
    "properties.title": st.one_of(st.none(), texts),
    "properties.revenue": st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False), st.integers(-(2**200), 2**200)),
    "context.user_agent": texts,
    "context.locale": st.one_of(st.none(), texts),
    "context.ip": st.one_of(st.none(), st.ip_addresses().map(str), texts),
    "context.consent.ad_storage": st.one_of(st.booleans(), json_scalars),
}


@st.composite
def fuzzed_event(draw, n: int) -> dict:
    overrides = {k: draw(s) for k, s in FIELDS.items() if draw(st.booleans())}
    e = event(f"fuzz-{n}-{draw(st.integers(0, 10**9))}")
    for path, value in overrides.items():
        *parents, leaf = path.split(".")
        node = e
        for p in parents:
            node = node[p]
        node[leaf] = value
    for _ in range(draw(st.integers(0, 2))):  # now and then a key vanishes or turns into any JSON value
        path = draw(st.sampled_from(sorted(FIELDS)))
        *parents, leaf = path.split(".")
        node = e
        for p in parents:
            node = node[p] if isinstance(node.get(p), dict) else {}
        if draw(st.booleans()):
            node.pop(leaf, None)
        else:
            node[leaf] = draw(json_values)
    return e


@pytest.fixture(scope="module")
def collector(tmp_path_factory):
    c = Collector(tmp_path_factory.mktemp("fuzz") / "fuzz.duckdb", "--rate-limit", "0")
    yield c
    c.stop()


@pytest.mark.slow
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_any_batch_is_accepted_whole_or_refused_whole(collector, data):
    events = [data.draw(fuzzed_event(i)) for i in range(data.draw(st.integers(1, 4)))]
    payload = {"batch_id": "fuzz", "sent_at": "2026-11-04T10:00:00Z", "events": events}
    before = httpx.get(collector.base + "/health", timeout=10).json()["stored"]["events"]
    r = httpx.post(collector.events_url, content=json.dumps(payload).encode(), timeout=30)
    after = httpx.get(collector.base + "/health", timeout=10).json()["stored"]["events"]
    assert r.status_code in (202, 400), r.text
    body = r.json()
    if r.status_code == 202:
        assert body["events_received"] == len(events)
        assert body["events_stored"] + body["duplicates"] == len(events)
        assert after - before == body["events_stored"]
    else:
        assert body["code"] in ("VALIDATION_ERROR", "INVALID_JSON") and body["errors"]
        assert all(isinstance(e["field"], str) and e["message"] for e in body["errors"])
        assert after == before


@settings(max_examples=200, deadline=None)
@given(url=st.text(min_size=1, max_size=500), ua=st.text(min_size=1, max_size=500), ref=st.one_of(st.none(), st.text(max_size=200)))
def test_accepted_strings_survive_decoding_verbatim(url, ua, ref):
    raw = json.dumps({"batch_id": "b", "sent_at": "2026-11-04T10:00:00Z",
                      "events": [event("v", **{"properties.url": url, "context.user_agent": ua, "properties.referrer": ref})]})
    try:
        batch = wire.EventBatch.model_validate_json(raw)
    except Exception:
        assert "\x00" in url + ua + (ref or "")  # the only refusal for text: NUL characters
        return
    hits = wire.decode_events([(wire.events_json(batch), "127.0.0.1")], [1], "shop.example")
    assert hits["url"][0] == url and hits["user_agent"][0] == ua and hits["referrer"][0] == ref


ip_adapter = TypeAdapter(wire.IP)


def _python_accepts(s: str) -> bool:
    try:
        ipaddress.ip_address(s)
    except ValueError:
        return False
    return "%" not in s  # zone ids ("fe80::1%eth0") are refused on purpose


@settings(max_examples=500, deadline=None)
@given(s=st.one_of(st.ip_addresses().map(str), st.ip_addresses(v=6).map(lambda a: a.exploded),
                   st.text(alphabet="0123456789abcdefABCDEF:.%\n ", max_size=45)))
def test_ip_pattern_accepts_exactly_what_python_ipaddress_accepts(s):
    try:
        ip_adapter.validate_python(s)
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == _python_accepts(s.strip()) if s == s.strip() else not accepted
