"""The published JSON Schemas (schemas/): current with the code, valid draft 2020-12, in step with
pydantic on what they accept, true of real rows and hits, and versioned: the breaking-change
detector on hand-made pairs, and the bump of a major on real files."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
from pydantic import ValidationError

from engine import pipeline, schema, schemas, wire

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "contract"


def validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(schemas.path_of(name).read_text()))


def test_committed_schemas_are_what_the_code_generates(capsys):
    stale = [(n, s, p) for n, s, p in schemas.status() if s != "current"]
    assert not stale, f"run `python -m engine.schemas export`: {stale}"
    assert schemas.main(["export", "--check"]) == 0
    # A passing check says so (it used to print nothing, which read like a command that did nothing).
    assert capsys.readouterr().out.strip() == f"{len(schemas.VERSIONS)} schema(s) under {schemas.ROOT} are current"
    on_disk = {p.relative_to(schemas.ROOT).as_posix() for p in schemas.ROOT.rglob("*.json")}
    expected = {f"{n}.v{v}.json" for n, major in schemas.VERSIONS.items() for v in range(1, major + 1)}
    assert on_disk == expected  # every major's file is kept, and nothing else is there


@pytest.mark.parametrize("name", list(schemas.VERSIONS))
def test_each_schema_is_valid_draft_2020_12(name):
    doc = json.loads(schemas.path_of(name).read_text())
    jsonschema.Draft202012Validator.check_schema(doc)
    assert doc["$schema"] == schemas.DRAFT and doc["$id"].endswith(f":v{schemas.VERSIONS[name]}")
    if schemas.VERSIONS[name] > 1:  # a bumped major must break something against the previous file
        assert schemas.previous_breaks(name), f"{name}: its major was bumped without a breaking change"


def _event(**over) -> dict:
    body = json.loads((FIXTURES / "events_request.json").read_text())
    ctx = body["events"][0]["context"]
    for key, value in over.items():
        ctx[key] = value
    return body


@pytest.mark.parametrize(
    "body",
    [
        _event(),
        _event(consent={"analytics_storage": "granted", "ad_storage": False}),
        _event(consent={"analytics_storage": "yes"}),
        _event(consent={"ad_storage": 1}),
        _event(ip="999.1.1.1"),
        _event(ip="2001:db8::1"),
        _event(user_agent=""),
        {"batch_id": "b", "sent_at": "2026-11-04T19:30:52Z", "events": []},
    ],
)
def test_the_request_schema_accepts_what_the_collector_accepts(body):
    try:
        wire.EventBatch.model_validate_json(json.dumps(body))
        accepted = True
    except ValidationError:
        accepted = False
    assert validator("collector/events-request").is_valid(body) is accepted


def test_the_contract_example_validates():
    validator("collector/events-request").validate(json.loads((FIXTURES / "events_request.json").read_text()))
    validator("collector/events-accepted").validate(json.loads((FIXTURES / "events_response.json").read_text()))
    validator("collector/health").validate(json.loads((FIXTURES / "health_response.json").read_text()))


def test_real_rows_and_hits_validate(base_tables, base_scenario, base_traffic):
    for table in schema.DATA_TABLES:
        rows = schemas.json_rows(base_tables[table].head(300))
        assert rows, table
        v = validator(f"tables/{table}")
        for row in rows:
            v.validate(row)
    hits = schemas.json_rows(pipeline.browser_hits(base_scenario, base_traffic).head(300))
    v = validator("hit")
    for hit in hits:
        v.validate(hit)
    wrong = dict(hits[0], event_id="not a number")
    assert not v.is_valid(wrong)


# --- the breaking-change detector on hand-made pairs ----------------------------------------------

def obj(props: dict, required: tuple = (), **extra) -> dict:
    return {"type": "object", "properties": props, "required": list(required), **extra}


S, INT, N = {"type": "string"}, {"type": "integer"}, {"type": "number"}
NULLABLE_S = {"anyOf": [S, {"type": "null"}]}
BASE = obj({"a": S, "b": INT, "c": NULLABLE_S, "d": {"type": "string", "maxLength": 10}, "e": {"enum": ["x", "y"]}}, ("a",))


def changed(**props) -> dict:
    new = copy.deepcopy(BASE)
    for k, v in props.items():
        if v is None:
            del new["properties"][k]
        else:
            new["properties"][k] = v
    return new


@pytest.mark.parametrize(
    ("new", "what"),
    [
        (changed(b=None), "$.b: removed field"),
        (changed(c=S), "$.c: type null is no longer accepted"),
        (changed(b=S), "$.b: type integer is no longer accepted"),
        (changed(d={"type": "string", "maxLength": 5}), "$.d: maxLength 10 -> 5"),
        (changed(d={"type": "string", "maxLength": 10, "pattern": "^x"}), "$.d: pattern changed"),
        (changed(e={"enum": ["x"]}), '$.e: the value "y" is no longer accepted'),
        (dict(changed(), required=["a", "b"]), "$.b: newly required field"),
        (dict(changed(f=S), required=["a", "f"]), "$.f: newly required field"),
        (dict(changed(), additionalProperties=False), "$: other fields are no longer allowed"),
    ],
)
def test_breaking_changes_are_found(new, what):
    found = schemas.breaking_changes(BASE, new)
    assert any(f.startswith(what) for f in found), found
    assert schemas.breaking_changes(BASE, BASE) == []


@pytest.mark.parametrize(
    "new",
    [
        changed(f=S),  # an optional field added
        changed(b=N),  # integer -> number: widened
        changed(a=NULLABLE_S),  # null now accepted too
        changed(d={"type": "string", "maxLength": 20}),  # a looser bound
        changed(d={"type": "string"}),
        changed(e={"enum": ["x", "y", "z"]}),
        changed(e=S),  # any string now
        dict(changed(), required=[]),  # no longer required
        dict(changed(), description="reworded"),
    ],
)
def test_compatible_changes_pass(new):
    assert schemas.breaking_changes(BASE, new) == []


def test_nested_definitions_are_compared_through_refs():
    old = {"$defs": {"Inner": obj({"x": S, "y": INT})}, **obj({"inner": {"$ref": "#/$defs/Inner"}, "many": {"type": "array", "items": {"$ref": "#/$defs/Inner"}}})}
    new = copy.deepcopy(old)
    del new["$defs"]["Inner"]["properties"]["y"]
    assert sorted(schemas.breaking_changes(old, new)) == ["$.inner.y: removed field", "$.many[].y: removed field"]


def test_the_real_models_break_as_expected():
    """The real event schema against edits of itself: the collector's own fields are guarded."""
    current = json.loads(schemas.path_of("collector/events-request").read_text())
    older = copy.deepcopy(current)
    older["$defs"]["Context"]["properties"]["device_memory"] = {"type": "integer"}  # a field the code has dropped
    assert schemas.breaking_changes(older, current) == ["$.events[].context.device_memory: removed field"]
    assert schemas.breaking_changes(current, older) == []  # adding an optional field is compatible


# --- the bump of a major, on real files -------------------------------------------------------------

def test_a_breaking_change_needs_a_new_major(tmp_path, monkeypatch):
    name = "collector/erasure-request"
    assert schemas.export(tmp_path) == list(schemas.VERSIONS)  # a fresh folder: everything is written
    v1 = schemas.path_of(name, 1, tmp_path)
    published = json.loads(v1.read_text())
    published["properties"]["reason"] = {"type": "string"}  # v1 had a field the code no longer has
    v1.write_text(schemas.render(published))
    with pytest.raises(schemas.SchemaError, match=r"erasure-request \(v1\): \$\.reason: removed field"):
        schemas.export(tmp_path)
    assert json.loads(v1.read_text()) == published  # nothing was written
    assert schemas.main(["export", "--check", "--root", str(tmp_path)]) == 1
    monkeypatch.setitem(schemas.VERSIONS, name, 2)
    assert schemas.export(tmp_path) == [name]
    v2 = schemas.path_of(name, 2, tmp_path)
    assert json.loads(v1.read_text()) == published and json.loads(v2.read_text())["$id"].endswith(":v2")
    assert schemas.previous_breaks(name, tmp_path) == ["$.reason: removed field"]
    assert schemas.main(["export", "--check", "--root", str(tmp_path)]) == 0


def test_a_compatible_change_rewrites_the_current_major(tmp_path):
    schemas.export(tmp_path)
    path = schemas.path_of("tables/consent_log", root=tmp_path)
    older = json.loads(path.read_text())
    del older["properties"]["country"]  # as if the registry had just gained the column
    path.write_text(schemas.render(older))
    assert [s for n, s, _ in schemas.status(tmp_path) if n == "tables/consent_log"] == ["compatible"]
    assert schemas.export(tmp_path) == ["tables/consent_log"]
    assert "country" in json.loads(path.read_text())["properties"]
