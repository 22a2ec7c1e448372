"""The simulator's HTTP sink against real HTTP servers on 127.0.0.1: a scripted server for
failures (5xx, 429 + Retry-After, 400, dropped connections) and the real collector for `--rate`."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest
from collector_helpers import ENV, ROOT, Collector
from conftest import small
from loopback import LoopbackServer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from engine import wire
from simulators.http_sink import HttpSink, _retry_after, consent_url, split_batches
from simulators.run import run_to_sink
from simulators.sinks import SinkError

FAST = (0.05, 0.1, 0.2, 0.4, 0.8)  # the sink's 1-2-4-8-16 s schedule, scaled down for tests


class ScriptedServer:
    """A real uvicorn server whose answer to the n-th request (per batch id) is `script(n, body)`."""

    def __init__(self, script: Callable[[int, dict], tuple[int, dict | None]]) -> None:
        self.script = script
        self.calls: dict[str, int] = {}
        self.times: dict[str, list[float]] = {}  # batch id -> when each attempt arrived
        self.accepted: dict[str, int] = {}  # batch id -> items
        self.lock = threading.Lock()

        async def handle(request: Request) -> JSONResponse:
            data = json.loads(await request.body())
            items = data.get("events") or data.get("records") or []
            with self.lock:
                n = self.calls.get(data["batch_id"], 0)
                self.calls[data["batch_id"]] = n + 1
                self.times.setdefault(data["batch_id"], []).append(time.monotonic())
                status, headers = self.script(n, data)
                if status == 202:
                    self.accepted[data["batch_id"]] = len(items)
            return JSONResponse({"status": "x", "duplicates": 0}, status_code=status, headers=headers)

        async def health(request: Request) -> JSONResponse:
            return JSONResponse({"status": "ok"})

        app = Starlette(routes=[Route("/api/v1/events", handle, methods=["POST"]),
                                Route("/api/v1/consent", handle, methods=["POST"]),
                                Route("/api/v1/health", health)])
        self.http = LoopbackServer(app)
        self.url = f"{self.http.base}/api/v1/events"

    def close(self) -> None:
        self.http.close()


@pytest.fixture(scope="module")
def scenario():
    return small({"traffic.visitors": 600, "traffic.days": 2})


def send(scenario, server_url: str, **kw) -> HttpSink:
    sink = HttpSink(server_url, retry_delays=kw.pop("retry_delays", FAST), **kw)
    run_to_sink(scenario, sink)
    return sink


def test_transient_failures_are_retried_until_accepted(scenario):
    srv = ScriptedServer(lambda n, body: (503, None) if n < 2 else (202, None))
    try:
        sink = send(scenario, srv.url, batch_size=50)
    finally:
        srv.close()
    s = sink.stats
    assert s.events_sent > 0 and s.events_accepted == s.events_sent and s.events_failed == 0
    assert s.events_retried == 2 * s.events_sent  # every batch failed twice, then went through
    assert s.consents_accepted == s.consents_sent > 0
    assert sink.lost == 0
    assert sum(v for k, v in srv.accepted.items() if not k.split("-")[-1].startswith("c")) == s.events_sent
    assert all(n == 3 for n in srv.calls.values())


def test_retry_after_is_honoured(scenario):
    srv = ScriptedServer(lambda n, body: (503, {"Retry-After": "1"}) if n == 0 else (202, None))
    try:
        sink = send(scenario, srv.url, batch_size=1000, retry_delays=(0.01,) * 5)
    finally:
        srv.close()
    assert sink.lost == 0 and sink.stats.statuses[503] >= 1
    gaps = [t[1] - t[0] for t in srv.times.values()]
    assert gaps and min(gaps) >= 0.95  # waited the collector's second, not the 10 ms backoff


def test_429_paces_without_using_up_the_retries(scenario):
    # Eight 429s in a row would exhaust five retries; pacing is not failure, so all arrives.
    srv = ScriptedServer(lambda n, body: (429, {"Retry-After": "0"}) if n < 8 else (202, None))
    try:
        sink = send(scenario, srv.url, batch_size=1000, retry_delays=(0.01,) * 5)
    finally:
        srv.close()
    assert sink.lost == 0 and sink.stats.events_accepted == sink.stats.events_sent
    assert all(n == 9 for n in srv.calls.values())


@pytest.mark.slow
def test_permanent_refusals_are_counted_failed_and_the_cli_exits_non_zero(scenario):
    srv = ScriptedServer(lambda n, body: (400, None) if body["batch_id"].endswith("-b2") else (202, None))
    try:
        sink = send(scenario, srv.url, batch_size=100)
        assert sink.stats.events_failed == 100 and sink.lost == 100  # one batch refused, not retried
        assert srv.calls[next(k for k in srv.calls if k.endswith("-b2"))] == 1
        assert "LOST 100 events" in sink.report()
        proc = subprocess.run(
            [sys.executable, "-m", "simulators", "generate", "--visitors", "600", "--days", "2", "--quiet",
             "--out", srv.url, "--batch-size", "100"],
            cwd=ROOT, env=ENV, capture_output=True, timeout=120,
        )
    finally:
        srv.close()
    assert proc.returncode == 3, proc.stderr.decode()
    assert "LOST" in proc.stderr.decode()


def test_a_refused_key_is_explained_once(scenario):
    srv = ScriptedServer(lambda n, body: (401, None))
    try:
        sink = send(scenario, srv.url, batch_size=100)
    finally:
        srv.close()
    report = sink.report()
    assert sink.stats.statuses[401] and sink.lost == sink.stats.events_sent + sink.stats.consents_sent
    # It used to list five 401 lines and stop there; now it says how to send a key.
    assert report.count("$DRCL_API_KEY") == 1 and "--api-key for Segment or PostHog" in report


def test_exhausted_retries_count_as_failed(scenario):
    srv = ScriptedServer(lambda n, body: (500, None))
    try:
        sink = send(scenario, srv.url, batch_size=1000, retry_delays=(0.01, 0.01))
    finally:
        srv.close()
    assert sink.stats.events_accepted == 0 and sink.stats.events_failed == sink.stats.events_sent > 0
    assert all(n == 3 for n in srv.calls.values())  # first try + two retries


def test_no_collector_is_a_clear_usage_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.run(
        [sys.executable, "-m", "simulators", "generate", "--visitors", "100", "--quiet",
         "--out", f"http://127.0.0.1:{port}/api/v1/events"],
        cwd=ROOT, env=ENV, capture_output=True, timeout=120,
    )
    assert proc.returncode == 2
    assert "cannot reach the collector" in proc.stderr.decode()


@pytest.mark.slow
@pytest.mark.parametrize("bad", [["--batch-size", "0"], ["--batch-size", "1001"], ["--rate", "-5"], ["--rate", "nan"],
                                 ["--rate", "inf"], ["--concurrency", "0"], ["--out", "http://127.0.0.1:99999/api/v1/events"]])
def test_bad_http_options_exit_2(bad):
    proc = subprocess.run(
        [sys.executable, "-m", "simulators", "generate", "--visitors", "100", "--quiet",
         "--out", "http://127.0.0.1:9/api/v1/events", *bad],
        cwd=ROOT, env=ENV, capture_output=True, timeout=120,
    )
    assert proc.returncode == 2 and "error:" in proc.stderr.decode()


@pytest.mark.slow
def test_open_model_rate_paces_the_sender(scenario, tmp_path):
    with Collector(tmp_path / "rate.duckdb", "--rate-limit", "0") as c:
        t0 = time.monotonic()
        sink = send(scenario, c.events_url, rate=1500.0, batch_size=100, linger=0.05)
        elapsed = time.monotonic() - t0
    n = sink.stats.events_accepted
    assert sink.lost == 0 and n > 1500
    # ~75 events a batch at 1,500/s with 50 ms linger; the last batch is due at n/1500 s.
    assert elapsed >= 0.9 * n / 1500
    assert sink.stats.statuses[202] >= n / 75


def test_batches_respect_the_byte_limit():
    sizes = np.array([400_000, 400_000, 400_000, 10, 10])
    ranges = split_batches(sizes, 100, max_bytes=wire.MAX_BODY_BYTES - 4096)
    assert ranges == [(0, 2), (2, 5)]
    assert split_batches(np.full(250, 10), 100) == [(0, 100), (100, 200), (200, 250)]


def test_helpers():
    assert consent_url("http://h:1/api/v1/events") == "http://h:1/api/v1/consent"
    assert _retry_after("3") == 3.0 and _retry_after("nonsense") is None and _retry_after(None) is None
    with pytest.raises(SinkError):
        HttpSink("ftp://x/api/v1/events")
