"""Data-subject endpoints on a real collector process (with an API key): export everything linked
to an anonymous id, erase it from the rail tables (the consent log kept as proof, and why),
idempotently, and the same erasure through POST /api/gdpr/delete."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import httpx
import jsonschema
import polars as pl
import pytest
from collector_helpers import ENV, ROOT, Collector, batch, event

from engine import rights, schema, schemas, store
from engine.consent import SIGNALS

KEY = "subjects-test-key-0123456789"
AUTH = {"X-API-Key": KEY}
GRANTED = {s: True for s in SIGNALS}
ANN_A, ANN_B, OTHER = "GA1.1.ann-laptop", "GA1.1.ann-phone", "GA1.1.someone-else"


@pytest.fixture(scope="module")
def collector(tmp_path_factory):
    folder = tmp_path_factory.mktemp("subjects")
    (folder / "keys.txt").write_text(KEY + "\n")
    c = Collector(folder / "c.duckdb", "--api-keys", str(folder / "keys.txt"))
    events = [
        event("subj:9000000001", anonymous_id=ANN_A, **{"context.consent": GRANTED}),
        # the next day (a daily key gives the device another hash), logged in
        event("subj:9000000002", anonymous_id=ANN_A, timestamp="2026-11-05T09:00:00Z",
              **{"context.consent": GRANTED, "properties.user_email": "ann@example.com"}),
        # the same person on another device, logged in: linked through the user id
        event("subj:9000000003", anonymous_id=ANN_B, **{"context.consent": GRANTED, "properties.user_email": "ann@example.com"}),
        event("subj:9000000004", anonymous_id=OTHER, **{"context.consent": GRANTED}),
    ]
    record = {"anonymous_id": ANN_A, "timestamp": "2026-11-04T09:59:58Z", "method": "accept_all",
              "consent": {s: "granted" for s in SIGNALS}, "context": {"user_agent": "Mozilla/5.0 Firefox/128.0"}}
    assert c_post(c, "/events", batch(events, "subjects")).status_code == 202
    assert c_post(c, "/consent", record).status_code == 202
    yield c, events
    if c.proc.poll() is None:
        c.stop()


def conforms(name: str, answer: dict) -> None:
    jsonschema.Draft202012Validator(json.loads(schemas.path_of(name).read_text())).validate(answer)


def c_post(c: Collector, path: str, payload, headers: dict | None = None) -> httpx.Response:
    return httpx.post(c.base + path, content=json.dumps(payload).encode(),
                      headers={"content-type": "application/json", **(AUTH if headers is None else headers)}, timeout=30)


def gdpr_url(c: Collector) -> str:
    return c.base.removesuffix("/v1") + "/gdpr/delete"


def test_subject_routes_need_the_api_key(collector):
    c, _ = collector
    assert httpx.get(c.base + f"/subjects/{ANN_A}", timeout=10).status_code == 401
    assert httpx.delete(c.base + f"/subjects/{ANN_A}", headers={"X-API-Key": "wrong-key-0123456789"}, timeout=10).status_code == 401
    assert httpx.post(gdpr_url(c), json={"anonymous_id": ANN_A}, timeout=10).status_code == 401


def test_export_holds_every_linked_row(collector):
    c, _ = collector
    r = httpx.get(c.base + f"/subjects/{ANN_A}", headers=AUTH, timeout=10)
    assert r.status_code == 200, r.text
    data = r.json()
    conforms("collector/subject-export", data)
    for table, rows in data["tables"].items():
        for row in rows:
            conforms(f"tables/{table}", row)
    full = data["tables"]["fullstack_events"]
    assert sorted(row["event_id"] for row in full) == [9000000001, 9000000002, 9000000003]  # both devices; not the other visitor's
    assert set(full[0]) == set(schema.columns("fullstack_events"))
    assert len(data["identifiers"]["device_ids"]) >= 1 and len(data["identifiers"]["user_ids"]) == 1
    consent_rows = data["tables"]["consent_log"]
    assert sorted(row["consent_type"] for row in consent_rows) == sorted(SIGNALS) and all(row["granted"] for row in consent_rows)
    assert all(ANN_A not in json.dumps(row) for rows in data["tables"].values() for row in rows)  # only keyed hashes
    assert set(data["how_linked"]) == {"fullstack_events", "consent_log", "baseline_events"}


def test_nothing_linked_is_404(collector):
    c, _ = collector
    for method in ("GET", "DELETE"):
        r = httpx.request(method, c.base + "/subjects/GA1.1.never-seen", headers=AUTH, timeout=10)
        assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
        conforms("collector/error", r.json())


def test_erasure_keeps_the_consent_log_and_is_idempotent(collector):
    c, events = collector
    first = httpx.delete(c.base + f"/subjects/{ANN_A}", headers=AUTH, timeout=10)
    assert first.status_code == 200, first.text
    body = first.json()
    conforms("collector/subject-erasure", body)
    assert body["status"] == "erased" and body["erased"]["fullstack_events"] == 3 and body["kept"] == {"consent_log": 4}
    note = body["notes"]["consent_log"]
    assert "Art. 7(1)" in note and re.search(r"retention ends: \d+ days", note), note
    again = httpx.delete(c.base + f"/subjects/{ANN_A}", headers=AUTH, timeout=10)
    assert again.status_code == 200 and again.json()["erased"]["fullstack_events"] == 0 and again.json()["kept"] == {"consent_log": 4}
    assert body["notes"]["fullstack_events"] == "erased" and again.json()["notes"]["fullstack_events"].startswith("nothing to erase")  # said "erased" over 0 rows
    after = httpx.get(c.base + f"/subjects/{ANN_A}", headers=AUTH, timeout=10).json()
    assert after["tables"]["fullstack_events"] == [] and len(after["tables"]["consent_log"]) == 4
    retry = c_post(c, "/events", batch(events[:3], "subjects"))  # a client retrying the erased events
    assert retry.status_code == 202 and retry.json()["events_stored"] == 0


def test_gdpr_delete_takes_the_id_in_the_body(collector):
    c, _ = collector
    bad = httpx.post(gdpr_url(c), json={"id": OTHER}, headers=AUTH, timeout=10)
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "anonymous_id"
    r = httpx.post(gdpr_url(c), json={"anonymous_id": OTHER}, headers=AUTH, timeout=10)
    assert r.status_code == 200 and r.json()["erased"]["fullstack_events"] == 1 and r.json()["kept"] == {"consent_log": 0}
    assert httpx.post(gdpr_url(c), json={"anonymous_id": OTHER}, headers=AUTH, timeout=10).status_code == 404


def test_the_simulator_sends_the_key_from_the_environment(collector):
    c, _ = collector
    args = [sys.executable, "-m", "simulators", "generate", "--visitors", "20", "--days", "1", "--seed", "9",
            "--out", c.events_url, "--quiet"]
    before = httpx.get(c.base + "/health", timeout=10).json()["stored"]["events"]
    sent = subprocess.run(args, cwd=ROOT, env=ENV | {"DRCL_API_KEY": KEY}, capture_output=True, text=True, timeout=300)
    assert sent.returncode == 0, sent.stderr  # exit 3 if any batch was refused (401 without the key)
    assert httpx.get(c.base + "/health", timeout=10).json()["stored"]["events"] > before


def test_the_store_holds_what_the_answers_said(collector):
    """Read last: the rail rows are gone from the file; the baseline (not linkable) and the consent log stay."""
    c, _ = collector
    c.stop()
    consent_id = rights.anonymous_links(ANN_A, pl.Series([], dtype=pl.Date))[1]
    con = store.connect(c.db, read_only=True)
    try:
        full = store.query(con, "SELECT count(*) AS n FROM fullstack_events WHERE event_id BETWEEN 9000000001 AND 9000000004")["n"][0]
        base = store.query(con, "SELECT count(*) AS n FROM baseline_events WHERE event_id BETWEEN 9000000001 AND 9000000004")["n"][0]
        logged = store.query(con, "SELECT count(*) AS n FROM consent_log WHERE anonymous_id = ?", [consent_id])["n"][0]
        runs = store.query(con, "SELECT fullstack_events FROM runs")["fullstack_events"][0]
        left = store.query(con, "SELECT count(*) AS n FROM fullstack_events")["n"][0]
    finally:
        con.close()
    assert (full, base, logged) == (0, 4, 4)
    assert runs == left  # the runs row written at stop counts what is left


def test_every_run_in_the_file_is_searched_whatever_its_key_setting(collector):
    """A later collector run on the same file, with a daily key: the person's rows of both runs are found."""
    c, _ = collector
    assert c.proc.poll() is not None  # the first run has stopped (previous test)
    with Collector(c.db, "--api-keys", str(c.db.parent / "keys.txt"), "--set", "masking.key_rotation=daily") as later:
        days = [event(f"subj:900000001{i}", anonymous_id=ANN_A, timestamp=f"2026-11-0{i}T08:00:00Z", **{"context.consent": GRANTED})
                for i in (6, 7)]
        assert c_post(later, "/events", batch(days, "daily")).status_code == 202
        found = httpx.get(later.base + f"/subjects/{ANN_A}", headers=AUTH, timeout=10).json()
        assert len(found["identifiers"]["device_ids"]) == 2  # one per day under the daily key
        assert sorted(r["event_id"] for r in found["tables"]["fullstack_events"]) == [9000000016, 9000000017]
        runs = {r["run_id"] for t in ("fullstack_events", "consent_log") for r in found["tables"][t]}
        assert len(runs) == 2  # the consent records came with the first run
        erased = httpx.delete(later.base + f"/subjects/{ANN_A}", headers=AUTH, timeout=10).json()
        assert erased["erased"]["fullstack_events"] == 2 and erased["kept"] == {"consent_log": 4}
