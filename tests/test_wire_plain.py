"""The request path validates with `wire.plain_validator` (the wire models' checks, read into
plain dicts): it must accept and refuse exactly what the models do, say the same about each
field, and hand the writer the same hits."""

from __future__ import annotations

import json

import pytest
from collector_helpers import event
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from pydantic import ValidationError
from test_collector_fuzz import fuzzed_event

from engine import wire


def _outcome(validate, raw: str):
    try:
        return "ok", validate(raw)
    except ValidationError as err:
        return "refused", wire.field_errors(err, limit=None)


def _same_hits(model_batch: wire.EventBatch, plain: dict) -> None:
    n = len(plain["events"])
    by_model = wire.decode_events([(wire.events_json(model_batch), "192.0.2.7")], [n], "shop.example")
    by_plain = wire.decode_events([(wire.events_json(plain), "192.0.2.7")], [n], "shop.example")
    assert_frame_equal(by_plain, by_model)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_plain_validator_agrees_with_the_model_on_any_batch(data):
    events = [data.draw(fuzzed_event(i)) for i in range(data.draw(st.integers(1, 3)))]
    raw = json.dumps({"batch_id": data.draw(st.one_of(st.just("b"), st.integers(0, 9))), "sent_at": "2026-11-04T10:00:00+02:00",
                      "events": events})
    model_says, model_value = _outcome(wire.EventBatch.model_validate_json, raw)
    plain_says, plain_value = _outcome(wire.EVENT_BATCH_IN.validate_json, raw)
    assert plain_says == model_says
    if model_says == "ok":
        _same_hits(model_value, plain_value)
    else:
        assert plain_value == model_value  # the same fields, the same messages


@pytest.mark.parametrize("over", [
    {},  # ad_blocker and gpc not sent: false, as the model's defaults
    {"context.ad_blocker": True, "context.gpc": True},
    {"context.consent": None},
    {"context.consent": {"ad_storage": "granted", "analytics_storage": "denied"}},
    {"session_id": None, "properties.revenue": 12},
    {"timestamp": "2026-11-04T12:00:00+02:00", "client_timestamp": "2026-11-04T10:00:00Z"},
    {"properties.title": "kept out of the store", "context.extra": {"ignored": 1}},
])
def test_fields_left_out_decode_as_the_models_defaults(over):
    raw = json.dumps({"batch_id": "b", "sent_at": "2026-11-04T10:00:00Z", "events": [event("e-1", **over), event(2, **over)]})
    _same_hits(wire.EventBatch.model_validate_json(raw), wire.EVENT_BATCH_IN.validate_json(raw))


@pytest.mark.parametrize("raw", [
    "[]", '"text"', '{"batch_id": "b", "sent_at": "2026-11-04T10:00:00Z", "events": ["x"]}',
    json.dumps({"batch_id": "b", "sent_at": "2026-11-04T10:00:00Z", "events": [event("e", properties=[1])]}),
    json.dumps({"batch_id": "b", "sent_at": "2026-11-04T10:00:00Z", "events": [event("e", **{"context.consent": "yes"})]}),
])
def test_a_value_that_should_be_an_object_reads_the_same_either_way(raw):
    model_says, by_model = _outcome(wire.EventBatch.model_validate_json, raw)
    plain_says, by_plain = _outcome(wire.EVENT_BATCH_IN.validate_json, raw)
    assert model_says == plain_says == "refused"
    assert by_plain == by_model
    assert all("instance of" not in e["message"] for e in by_plain)  # no class names in what clients read


def test_consent_records_read_the_same_either_way():
    record = {"anonymous_id": "GA1.1.42", "timestamp": "2026-11-04T10:00:00Z", "method": "custom",
              "consent": {"analytics_storage": "granted", "ad_storage": False, "ad_user_data": False, "ad_personalization": "denied"},
              "context": {"user_agent": "Mozilla/5.0"}}
    raw = json.dumps({"records": [record, {**record, "timestamp": "2026-11-04T10:00:01Z", "context": {"user_agent": "x", "ip": "::1"}}]})
    by_model = wire.decode_consents([(wire.consents_json(wire.ConsentBatch.model_validate_json(raw)), "192.0.2.7")], [2])
    by_plain = wire.decode_consents([(wire.consents_json(wire.CONSENT_BATCH_IN.validate_json(raw)), "192.0.2.7")], [2])
    assert_frame_equal(by_plain, by_model)
    assert by_plain["ip"].to_list() == ["192.0.2.7", "::1"]
    bad = json.dumps({"records": [{**record, "consent": {"analytics_storage": True}}]})
    assert _outcome(wire.CONSENT_BATCH_IN.validate_json, bad) == _outcome(wire.ConsentBatch.model_validate_json, bad)
