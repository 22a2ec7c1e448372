"""The HTTP collector as a real process on 127.0.0.1: API semantics, validation, hostile input,
idempotency, consent endpoints, rate limit, crash durability, and equality with the in-process run."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import signal
import subprocess
import sys
import threading
import time

import httpx
import numpy as np
import polars as pl
import pytest
from collector_helpers import ENV, ROOT, Collector, batch, body, event, health, post
from polars.testing import assert_frame_equal

from collector.ingest import KeyFilter
from engine import store, wire
from engine.consent import SIGNALS

RAIL_KEYS = {
    "baseline_events": ["event_id"],
    "fullstack_events": ["event_id"],
    "consent_log": ["anonymous_id", "ts", "consent_type"],
}


@pytest.fixture(scope="module")
def collector(tmp_path_factory):
    c = Collector(tmp_path_factory.mktemp("collector") / "c.duckdb")
    yield c
    c.stop()


def stored(c: Collector) -> dict:
    return health(c)["stored"]


# --- the happy path ------------------------------------------------------------------------------

def test_health_reports_database_and_version(collector):
    r = httpx.get(collector.base + "/health", timeout=10)
    assert r.status_code == 200
    data = r.json()
    assert data["status"] == "healthy" and data["checks"] == {"database": "connected"}
    assert data["version"] and dt.datetime.fromisoformat(data["timestamp"].replace("Z", "+00:00"))


def test_accepts_a_batch_and_is_idempotent_on_event_id(collector):
    before = stored(collector)["events"]
    events = [event(f"idem-{i}") for i in range(5)]
    r = post(collector, batch(events, "idem-batch"))
    assert r.status_code == 202, r.text
    data = r.json()
    assert data["status"] == "accepted" and data["batch_id"] == "idem-batch"
    assert data["events_received"] == 5 and data["events_stored"] == 5 and data["duplicates"] == 0
    again = post(collector, batch(events, "idem-batch"))  # a retry of the same batch
    assert again.status_code == 202 and again.json()["events_stored"] == 0 and again.json()["duplicates"] == 5
    # The same id twice inside one batch counts once; a new id in a mixed batch counts.
    mixed = post(collector, batch([event("idem-0"), event("idem-new"), event("idem-new")], "mixed"))
    assert mixed.json()["events_stored"] == 1
    assert stored(collector)["events"] == before + 6


def test_concurrent_duplicate_batches_store_each_event_once(collector):
    before = stored(collector)["events"]
    payload = json.dumps(batch([event(f"conc-{i}") for i in range(50)], "conc")).encode()

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as client:
            return await asyncio.gather(*[
                client.post(collector.events_url, content=payload, headers={"content-type": "application/json"})
                for _ in range(12)
            ])

    responses = asyncio.run(fire())
    assert all(r.status_code == 202 for r in responses)
    assert sum(r.json()["events_stored"] for r in responses) == 50
    assert stored(collector)["events"] == before + 50


def test_integer_and_text_event_ids_are_both_accepted(collector):
    r = post(collector, batch([event(123456789012), event("3f2b6c1e-uuid-like")], "ids"))
    assert r.status_code == 202 and r.json()["events_stored"] == 2


def test_consent_post_then_get(collector):
    record = {
        "anonymous_id": "cmp-test-visitor", "timestamp": "2026-11-04T10:00:05Z", "method": "custom",
        "consent": {"analytics_storage": True, "ad_storage": False, "ad_user_data": False, "ad_personalization": False},
        "context": {"user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", "ip": "81.2.69.160"},
    }
    r = post(collector, record, "/consent")  # one record on its own
    assert r.status_code == 202 and r.json()["records_stored"] == 1
    later = {**record, "timestamp": "2026-11-05T09:00:00Z", "method": "reject_all",
             "consent": {s: False for s in SIGNALS}}
    r = post(collector, {"records": [later, later]}, "/consent")  # the same record twice: once
    assert r.status_code == 202 and r.json()["records_stored"] == 1
    got = httpx.get(collector.base + "/consent/cmp-test-visitor", timeout=10)
    assert got.status_code == 200
    data = got.json()
    assert data["consent"] == {s: False for s in SIGNALS}  # the latest decision wins
    assert [h["method"] for h in data["history"]] == ["custom", "reject_all"]
    assert data["history"][0]["consent"]["analytics_storage"] is True
    assert data["anonymous_id"] != "cmp-test-visitor"  # only the keyed hash is stored (the ledger is checked below)
    assert httpx.get(collector.base + "/consent/nobody-here", timeout=10).status_code == 404


# --- refusals: nothing written -------------------------------------------------------------------

@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        (b'{"batch_id": "x", "events": [', "INVALID_JSON", "body"),
        (b"[1, 2, 3]", "VALIDATION_ERROR", "body"),
        ({"batch_id": "x", "sent_at": "2026-11-04T10:00:00Z", "events": []}, "VALIDATION_ERROR", "events"),
        (batch([event("t1", event_type=5)]), "VALIDATION_ERROR", "events[0].event_type"),
        (batch([event("t2", timestamp="yesterday")]), "VALIDATION_ERROR", "events[0].timestamp"),
        (batch([event("t3", timestamp="2026-11-04T10:00:00")]), "VALIDATION_ERROR", "events[0].timestamp"),
        (batch([event("t4", **{"context.consent.ad_storage": "yes"})]), "VALIDATION_ERROR", "events[0].context.consent.ad_storage"),
        (batch([event("t5", **{"context.ip": "999.1.1.1"})]), "VALIDATION_ERROR", "events[0].context.ip"),
        (batch([event("t6", **{"properties.url": "a\x00b"})]), "VALIDATION_ERROR", "events[0].properties.url"),
        (batch([event("t7", **{"properties.revenue": "12.5"})]), "VALIDATION_ERROR", "events[0].properties.revenue"),
        ({"sent_at": "2026-11-04T10:00:00Z", "events": [event("t8")]}, "VALIDATION_ERROR", "batch_id"),
    ],
)
def test_bad_batches_get_400_with_the_field_and_store_nothing(collector, payload, code, field):
    before = stored(collector)["events"]
    if isinstance(payload, dict) and payload.get("events"):
        payload["events"].append(event(f"good-beside-bad-{code}-{field}"))  # a valid event in the same batch
    r = post(collector, payload)
    assert r.status_code == 400, r.text
    data = r.json()
    assert data["status"] == "error" and data["code"] == code and data["message"]
    assert field in [e["field"] for e in data["errors"]], data["errors"]
    assert stored(collector)["events"] == before


def test_missing_fields_are_each_named(collector):
    e = event("missing")
    del e["context"]["user_agent"], e["properties"]["url"], e["timestamp"]
    r = post(collector, batch([e]))
    assert r.status_code == 400
    fields = {x["field"] for x in r.json()["errors"]}
    assert {"events[0].context.user_agent", "events[0].properties.url", "events[0].timestamp"} <= fields


def test_oversized_bodies_and_batches_get_413(collector):
    before = stored(collector)["events"]
    big = post(collector, b'{"batch_id": "big", "pad": "' + b"x" * (wire.MAX_BODY_BYTES + 10) + b'"}')
    assert big.status_code == 413 and big.json()["code"] == "PAYLOAD_TOO_LARGE"
    small_events = [{"event_id": i} for i in range(wire.MAX_EVENTS + 1)]  # under 1 MB, but 1,001 events
    many = post(collector, {"batch_id": "many", "sent_at": "2026-11-04T10:00:00Z", "events": small_events})
    assert many.status_code == 413 and "1,000" in many.json()["message"]
    assert stored(collector)["events"] == before


def test_unknown_routes_and_methods_answer_json(collector):
    assert httpx.get(collector.base + "/nothing", timeout=10).json()["code"] == "NOT_FOUND"
    r = httpx.get(collector.events_url, timeout=10)
    assert r.status_code == 405 and r.json()["code"] == "METHOD_NOT_ALLOWED"


HOSTILE = [
    "'; DROP TABLE baseline_events; --",
    "<script>alert(1)</script>",
    "\x07\x1b[31m\r\n\t bell+escape",
    "ünïcødé ✓ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 " * 250,  # about 5,000 characters
    "Robert'); DELETE FROM collector_ledger WHERE ('1'='1",
]


def test_hostile_strings_are_stored_verbatim_never_executed(tmp_path):
    with Collector(tmp_path / "hostile.duckdb", "--rate-limit", "0") as c:
        events = []
        for i, s in enumerate(HOSTILE):
            events.append(event(
                f"hostile-{i}",
                session_id=s[:128],
                anonymous_id=s[:256],
                **{"properties.url": "https://shop.example/p?utm_campaign=" + s[:4000], "properties.title": s[:2048],
                   "properties.referrer": s[:8000], "properties.transaction_id": s[:128], "properties.user_email": s[:320],
                   "context.user_agent": s[:2048], "context.locale": s[:128], "context.timezone": s[:64]},
            ))
        r = post(c, batch(events, "hostile"))
        assert r.status_code == 202, r.text
        assert r.json()["events_stored"] == len(HOSTILE)
        assert post(c, batch([event("after-hostile")], "after")).json()["events_stored"] == 1
    con = store.connect(c.db, read_only=True)
    try:
        assert store.query(con, "SELECT count(*) AS n FROM collector_ledger")["n"][0] == len(HOSTILE) + 1
        full = store.query(con, "SELECT event_id, language FROM fullstack_events")
        base = store.query(con, "SELECT utm_campaign FROM baseline_events")
    finally:
        con.close()
    # what the full stack keeps of the locale, and the campaign the baseline parses from the URL, as sent
    assert {s[:128] for s in HOSTILE} <= set(full["language"].to_list())
    campaigns = set(base["utm_campaign"].to_list())
    assert HOSTILE[0] in campaigns and HOSTILE[1] in campaigns and HOSTILE[4] in campaigns


def test_numbers_out_of_range_are_400_not_a_server_error(collector):
    for revenue in (2**128, -(10**13), 1e300):
        r = post(collector, batch([event(f"big-{revenue}", **{"properties.revenue": revenue})], "big"))
        assert r.status_code == 400, (revenue, r.text)
        assert r.json()["errors"][0]["field"] == "events[0].properties.revenue"
    r = post(collector, batch([event(2**64)], "big-id"))
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "events[0].event_id"


# --- the rate limit ------------------------------------------------------------------------------

def test_rate_limit_answers_429_with_retry_after(tmp_path):
    with Collector(tmp_path / "rl.duckdb", "--rate-limit", "3") as c:
        codes = [post(c, batch([event(f"rl-{i}")], f"rl-{i}")) for i in range(4)]
        assert [r.status_code for r in codes[:3]] == [202, 202, 202]
        assert codes[3].status_code == 429 and codes[3].json()["code"] == "RATE_LIMITED"
        assert int(codes[3].headers["retry-after"]) >= 1
        assert stored(c)["events"] == 3  # health is not rate limited; the refused batch wrote nothing


# --- durability ----------------------------------------------------------------------------------

@pytest.mark.slow
def test_kill_9_loses_nothing_that_was_answered_202(tmp_path):
    db = tmp_path / "crash.duckdb"
    c = Collector(db, "--rate-limit", "0")
    acked: list[str] = []
    stop = threading.Event()

    def load(worker: int) -> None:
        with httpx.Client(timeout=10) as client:
            for j in range(10_000):
                if stop.is_set():
                    return
                ids = [f"crash-{worker}-{j}-{k}" for k in range(20)]
                try:
                    r = client.post(c.events_url, content=json.dumps(batch([event(i) for i in ids], f"crash-{worker}-{j}")).encode())
                except httpx.TransportError:
                    return  # the collector is gone
                if r.status_code == 202:
                    acked.extend(ids)

    threads = [threading.Thread(target=load, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(acked) < 2_000 and time.monotonic() < deadline:
        time.sleep(0.05)
    c.kill()  # mid-load: requests are in flight and batches are queued
    stop.set()
    for t in threads:
        t.join()
    assert len(acked) >= 2_000
    con = _connect_once_released(db)  # DuckDB replays its WAL on open
    try:
        keys = set(store.query(con, "SELECT key FROM collector_ledger")["key"].to_list())
        rows = store.query(con, "SELECT count(*) AS n FROM baseline_events")["n"][0]
    finally:
        con.close()
    missing = [i for i in acked if f"e:{i}" not in keys]
    assert missing == []
    assert rows == len(keys)  # each stored page view is in the rail exactly once (ledger and rows commit together)
    # After a restart, re-sending everything stores nothing twice.
    with Collector(db, "--rate-limit", "0") as c2:
        r = post(c2, batch([event(i) for i in acked[:500]], "resend"))
        assert r.json()["events_stored"] == 0 and r.json()["duplicates"] == 500


@pytest.mark.slow
def test_a_killed_http_process_does_not_leave_its_writer_holding_the_database(tmp_path):
    db = tmp_path / "orphan.duckdb"
    c = Collector(db, "--rate-limit", "0")
    assert post(c, batch([event(f"orphan-{i}") for i in range(10)], "orphan")).status_code == 202
    c.kill_http_only()  # its writer sees the pipe close, and exits
    c2 = Collector(db, "--rate-limit", "0")  # would fail on DuckDB's file lock if the writer lingered
    try:
        assert stored(c2)["events"] == 10
    finally:
        c2.stop()


# --- same rows as the in-process run -------------------------------------------------------------

@pytest.mark.slow
def test_collector_tables_equal_the_in_process_run(tmp_path):
    args = ["--preset", "eu_shop", "--set", "traffic.visitors=3000", "--set", "traffic.days=5", "--set", "seed=21"]
    inproc = tmp_path / "inproc.duckdb"
    subprocess.run([sys.executable, "-m", "simulators", "generate", *args, "--out", str(inproc), "--quiet"],
                   cwd=ROOT, env=ENV, check=True, capture_output=True, timeout=300)
    c = Collector(tmp_path / "http.duckdb", *args, "--rate-limit", "0")
    started = dt.datetime.now(dt.UTC)
    try:
        run = subprocess.run(
            [sys.executable, "-m", "simulators", "generate", *args, "--out", c.events_url, "--quiet"],
            cwd=ROOT, env=ENV, capture_output=True, timeout=300,
        )
        out = run.stderr.decode()
        assert run.returncode == 0, out
        assert "failed 0" in out and "LOST" not in out
    finally:
        assert c.stop() in (0, -signal.SIGTERM)  # uvicorn re-raises SIGTERM after its graceful shutdown
    a, b = store.connect(inproc, read_only=True), store.connect(c.db, read_only=True)
    try:
        run_id = store.query(a, "SELECT run_id FROM runs")["run_id"][0]
        assert store.query(b, "SELECT run_id, source FROM runs").rows() == [(run_id, "collector")]
        for table, keys in RAIL_KEYS.items():
            left = store.load_table(a, table, run_id).sort(keys)
            right = store.load_table(b, table, run_id).sort(keys)
            assert left.height > 100
            if table == "fullstack_events":
                # The receive time is the one column that differs: the collector stamps its own clock,
                # the in-process run simulates a delivery delay.
                assert (right["received_at"].dt.epoch("us") >= int(started.timestamp() * 1e6)).all() and right["received_at"].null_count() == 0
                left, right = left.drop("received_at"), right.drop("received_at")
            assert_frame_equal(left, right)
    finally:
        a.close()
        b.close()


@pytest.mark.slow
def test_two_runs_into_one_collector_are_both_stored_and_no_raw_id_is_kept(tmp_path):
    with Collector(tmp_path / "two.duckdb", "--rate-limit", "0") as c:
        sent = 0
        for seed in ("1", "2"):  # the simulator's event ids repeat across runs; its wire ids are scoped
            run = subprocess.run(
                [sys.executable, "-m", "simulators", "generate", "--visitors", "500", "--days", "2", "--seed", seed,
                 "--quiet", "--out", c.events_url],
                cwd=ROOT, env=ENV, capture_output=True, timeout=300,
            )
            assert run.returncode == 0, run.stderr.decode()
            sent += int(re.search(r"accepted ([\d,]+) \(already stored 0\)", run.stderr.decode()).group(1).replace(",", ""))
        assert stored(c)["events"] == sent
    con = store.connect(c.db, read_only=True)
    try:
        keys = store.query(con, "SELECT key FROM collector_ledger WHERE kind = 'consent'")["key"].to_list()
        hashed = set(store.query(con, "SELECT DISTINCT anonymous_id FROM consent_log")["anonymous_id"].to_list())
    finally:
        con.close()
    assert keys and not any("cmp-" in k for k in keys)  # the browser's consent id never reaches the disk
    assert {k.split(":", 1)[1].split("|")[0] for k in keys} <= hashed


@pytest.mark.slow
def test_a_dead_writer_stops_the_collector(tmp_path):
    import psutil

    c = Collector(tmp_path / "dead.duckdb", "--rate-limit", "0")
    writers = [p for p in psutil.Process(c.proc.pid).children() if "spawn_main" in " ".join(p.cmdline())]
    assert len(writers) == 1
    writers[0].kill()
    assert c.proc.wait(timeout=60) != 0  # it stops (a supervisor restarts it) instead of answering 503 forever
    err = c.proc.stderr.read().decode()
    c.proc.stdout.close()
    c.proc.stderr.close()
    assert "writer process stopped" in err


# --- units ---------------------------------------------------------------------------------------

def test_a_graceful_stop_says_nothing_on_stderr(tmp_path):
    # Both processes freeze their start-up heap (collector.writer.settle_gc); a heap still frozen
    # at exit is never freed, and DuckDB's bindings then print "leaked" warnings on every stop.
    c = Collector(tmp_path / "quiet.duckdb")
    assert post(c, batch([event(f"q-{i}") for i in range(20)])).status_code == 202
    c.proc.terminate()
    c.proc.wait(timeout=60)
    assert c.proc.stderr is not None
    err = c.proc.stderr.read().decode()
    c.stop()
    assert "leaked" not in err and "Traceback" not in err, err[-2000:]


def test_key_filter_finds_every_added_key_and_few_others():
    f = KeyFilter()
    added = []
    for i in range(30):
        h = KeyFilter.hashes(pl.Series([f"k{i}-{j}" for j in range(200)]))
        f.add(h)
        added.append(h)
    assert len(f.parts) < 10  # merged, size-tiered
    assert f.maybe_seen(np.concatenate(added)).all()
    assert not f.maybe_seen(KeyFilter.hashes(pl.Series([f"other-{j}" for j in range(5000)]))).any()


@pytest.mark.slow
def test_encode_decode_round_trip_keeps_every_rail_input(base_scenario, base_traffic):
    from engine import pipeline

    hits = pipeline.browser_hits(base_scenario, base_traffic)
    events = wire.encode_events(hits, scope="0123456789abcdef").to_list()
    parsed = wire.EventBatch.model_validate_json(body(events[:1000], "rt"))
    back = wire.decode_events([(wire.events_json(parsed), "127.0.0.1")], [len(parsed.events)], "shop.example")
    cols = ["event_id", "event_type", "ts", "session_start", "url", "referrer", "ip", "user_agent", "language",
            "client_id", "user_email", "revenue", "transaction_id", *SIGNALS, "blocker", "client_ts"]
    assert_frame_equal(back.select(cols), hits.head(1000).select(cols))


def _connect_once_released(db, timeout: float = 30.0):
    """Open the database once the killed processes have let go of its lock: the kernel tears a killed
    process down in its own time (on a loaded machine, after the kill has returned)."""
    import duckdb

    deadline = time.monotonic() + timeout
    while True:
        try:
            return store.connect(db)
        except duckdb.IOException as err:
            if "lock" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.1)
