"""Vendor formats (`--format`): every format's JSON lines against the vendor's published schema or
a field table from its documentation (tests/fixtures/vendors), the consent rule against the
full-stack rail of the same run, no raw IP or e-mail; the Segment CLI run against a real server;
the closed-model linger against a real server and a slow source."""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import jsonschema
import polars as pl
import pytest
from collector_helpers import ENV, ROOT
from loopback import LoopbackServer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine.pipeline import browser_hits
from engine.scenario import apply_overrides, resolve
from simulators import cli, formats
from simulators.http_sink import HttpSink
from simulators.run import build_run, run_to_sink
from simulators.sinks import JsonlSink, SinkError, sink_for
from simulators.traffic import generate_traffic

FIXTURES = Path(__file__).parent / "fixtures" / "vendors"
VENDORS = ("ga4", "segment", "posthog", "snowplow")
SIZE = {"traffic.visitors": "600", "traffic.days": "2"}


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def validator(fmt: str) -> jsonschema.protocols.Validator:
    if fmt == "snowplow":  # Iglu's self-describing meta-schema is draft-04
        return jsonschema.Draft4Validator(fixture("snowplow_payload_data_1-0-4.json"))
    name = {"ga4": "ga4_mp_fields.json", "segment": "segment_batch_fields.json", "posthog": "posthog_batch_fields.json"}[fmt]
    return jsonschema.Draft202012Validator(fixture(name), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def as_body(fmt: str, lines: list[str]) -> dict:
    """What the validator checks: the request body (Snowplow: its payload_data array)."""
    body = json.loads(formats.body(fmt, lines, formats.Options(run_id="0" * 16)))
    return body["data"] if fmt == "snowplow" else body


def events_of(fmt: str, body: dict) -> list[dict]:
    return body if fmt == "snowplow" else body["events"] if fmt == "ga4" else body["batch"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One small run in advanced mode (pings exist): its hits, its full-stack rows, and every format's JSON lines."""
    scenario = resolve(None, None, [], SIZE)
    traffic = generate_traffic(scenario)
    hits = browser_hits(scenario, traffic)
    full = build_run(scenario, traffic)["fullstack_events"]
    tmp = tmp_path_factory.mktemp("formats")
    lines = {}
    for fmt in VENDORS:
        run_to_sink(scenario, JsonlSink(str(tmp / f"{fmt}.jsonl"), fmt))
        lines[fmt] = (tmp / f"{fmt}.jsonl").read_text().splitlines()
    return scenario, hits, full, lines


@pytest.mark.parametrize("fmt", VENDORS)
def test_each_format_validates_against_its_fixture(run, fmt):
    lines = run[3][fmt]
    v = validator(fmt)
    assert lines
    if fmt == "ga4":  # one Measurement Protocol body per line
        for line in lines:
            v.validate(json.loads(line))
            assert len(line.encode()) <= fixture("ga4_mp_fields.json")["x-limits"]["max_body_bytes"]
    else:
        for start in range(0, len(lines), 100):  # the sender's batches
            v.validate(as_body(fmt, lines[start:start + 100]))
    if fmt == "segment":
        limit = fixture("segment_batch_fields.json")["x-limits"]["max_call_bytes"]
        assert max(len(x.encode()) for x in lines) <= limit


def test_a_broken_event_fails_the_fixture(run):
    """The fixtures can fail: a Snowplow event without `e`, a Segment track without `event`, a GA4 name with a dash."""
    _, _, _, lines = run
    bad = json.loads(lines["snowplow"][0])
    del bad["e"]
    assert not validator("snowplow").is_valid([bad])
    track = next(json.loads(x) for x in lines["segment"] if json.loads(x)["type"] == "track")
    del track["event"]
    assert not validator("segment").is_valid({"batch": [track]})
    body = json.loads(lines["ga4"][0])
    body["events"][0]["name"] = "page-view"
    assert not validator("ga4").is_valid(body)


@pytest.mark.parametrize("fmt", VENDORS)
def test_each_format_follows_the_full_stack_rail(run, fmt):
    """Same events as the full-stack rail of the same run: pings where the vendor has a cookieless
    event (PostHog, Snowplow), nothing for the unconsented where it has none (GA4, Segment)."""
    scenario, _, full, lines = run
    assert scenario.consent.mode == "advanced" and full["is_ping"].sum() > 0
    events = [e for line in lines[fmt] for e in events_of(fmt, json.loads(line) if fmt == "ga4" else as_body(fmt, [line]))]
    expected = full if fmt in ("posthog", "snowplow") else full.filter(~pl.col("is_ping"))
    assert len(events) == expected.height
    if fmt == "ga4":
        stamps = sorted(e["timestamp_micros"] for e in events)
    elif fmt == "snowplow":
        stamps = sorted(int(e["dtm"]) * 1000 for e in events)
    else:
        stamps = sorted(int(dt_ms(e["timestamp"])) * 1000 for e in events)
    want = sorted(expected["ts"].dt.epoch("ms").cast(pl.Int64) * 1000 if fmt != "ga4" else expected["ts"].dt.epoch("us"))
    assert stamps == list(want)


def dt_ms(text: str) -> int:
    return round(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def test_pings_carry_no_identifier_or_page(run):
    _, _, _, lines = run
    ph = [json.loads(x) for x in lines["posthog"]]
    pings = [e for e in ph if e["distinct_id"] == "$posthog_cookieless"]
    assert pings and all("$current_url" not in e["properties"] and "$referrer" not in e["properties"] for e in pings)
    sp = [json.loads(x) for x in lines["snowplow"]]
    anon = [e for e in sp if "duid" not in e]
    assert len(anon) == len(pings)
    assert all(not {"uid", "url", "refr", "sid", "nuid"} & set(e) for e in anon)


def test_no_raw_ip_or_email_and_user_ids_are_the_full_stack_ones(run):
    _, hits, full, lines = run
    ips = set(hits["ip"].drop_nulls().to_list())
    emails = set(hits["user_email"].drop_nulls().to_list())
    assert ips and emails
    for fmt in VENDORS:
        text = "\n".join(lines[fmt])
        assert "@" not in text and "%40" not in text, fmt
        values = set()

        def walk(x, values=values):
            if isinstance(x, dict):
                for v in x.values():
                    walk(v)
            elif isinstance(x, list):
                for v in x:
                    walk(v)
            else:
                values.add(x)

        for line in lines[fmt]:
            walk(json.loads(line))
        assert not values & ips and not values & emails, fmt
    segment = [json.loads(x) for x in lines["segment"]]
    clicks = [e["context"]["consent"]["categoryPreferences"]["ad_storage"] for e in segment if "gclid=" in e["properties"]["url"]]
    assert clicks and all(clicks)  # the ad-click id only with ad_storage consent
    assert any("gclid=" in h for h in hits.filter(~pl.col("ad_storage") & pl.col("analytics_storage"))["url"].to_list())
    segment_users = {json.loads(x).get("userId") for x in lines["segment"]} - {None}
    assert segment_users and segment_users <= set(full["user_id"].drop_nulls().to_list())


@pytest.mark.parametrize("fmt", ("segment", "snowplow"))
def test_formats_keep_the_full_stacks_sampling_tier(tmp_path, fmt):
    """At a 50 % tier the tags of browsers outside the sample send nothing, as on the full-stack rail:
    the same events, not every consented browser's (which would double the vendor's counts)."""
    scenario = apply_overrides(resolve(None, None, [], SIZE), {"rails.fullstack_sampling": 50})
    run_to_sink(scenario, JsonlSink(str(tmp_path / "s.jsonl"), fmt))
    events = [json.loads(x) for x in (tmp_path / "s.jsonl").read_text().splitlines()]
    full = build_run(scenario, generate_traffic(scenario))["fullstack_events"]
    expected = full if fmt == "snowplow" else full.filter(~pl.col("is_ping"))
    assert 0 < len(events) == expected.height
    stamps = sorted(int(e["dtm"]) if fmt == "snowplow" else dt_ms(e["timestamp"]) for e in events)
    assert stamps == sorted(expected["ts"].dt.epoch("ms").to_list())


def test_basic_mode_sends_no_pings(tmp_path):
    scenario = apply_overrides(resolve(None, None, [], SIZE), {"consent.mode": "basic"})
    run_to_sink(scenario, JsonlSink(str(tmp_path / "p.jsonl"), "posthog"))
    events = [json.loads(x) for x in (tmp_path / "p.jsonl").read_text().splitlines()]
    full = build_run(scenario, generate_traffic(scenario))["fullstack_events"]
    assert len(events) == full.height > 0
    assert all(e["distinct_id"] != "$posthog_cookieless" for e in events)


def test_vendor_paths_combine_with_the_given_url():
    assert formats.endpoint("http://h:9000", "segment") == "http://h:9000/v1/batch"
    assert formats.endpoint("http://h:9000/v1/batch", "segment") == "http://h:9000/v1/batch"
    assert formats.endpoint("http://h/proxy/", "posthog") == "http://h/proxy/batch/"
    assert formats.endpoint("http://h/batch", "posthog") == "http://h/batch"
    assert formats.endpoint("http://h/x?measurement_id=G-1&api_secret=s", "ga4") == "http://h/x/mp/collect?measurement_id=G-1&api_secret=s"
    assert formats.endpoint("http://h:8000", "native") == "http://h:8000/api/v1/events"
    assert formats.endpoint("http://h:8000/api/v1/events", "native") == "http://h:8000/api/v1/events"
    assert formats.endpoint("http://c/", "snowplow") == "http://c/com.snowplowanalytics.snowplow/tp2"
    with pytest.raises(SinkError, match=r"applies to a \.jsonl"):
        sink_for("x.duckdb", "segment")
    with pytest.raises(SinkError, match="unknown --format"):
        HttpSink("http://h:1", fmt="amplitude")
    assert cli.main(["generate", "--format", "ga4", "--out", "run.duckdb", "--visitors", "10"]) == cli.EXIT_USAGE


class Recorder:
    """A real uvicorn server on 127.0.0.1 recording each POST (path, parsed body, arrival time);
    `check(path, body)` returns an error text to answer 400 with, or None for `ok_status`."""

    def __init__(self, check=lambda path, body: None, ok_status: int = 200) -> None:
        self.posts: list[tuple[str, dict, float]] = []
        self.auth: set[str | None] = set()
        self.lock = threading.Lock()

        async def post(request: Request) -> Response:
            body = json.loads(await request.body())
            problem = check(request.url.path, body)
            with self.lock:
                self.posts.append((request.url.path, body, time.monotonic()))
                self.auth.add(request.headers.get("authorization"))
            if problem:
                return JSONResponse({"error": problem}, status_code=400)
            if ok_status == 204:  # no content means no body (a body here breaks uvicorn's framing)
                return Response(status_code=204)
            return JSONResponse({"success": True}, status_code=ok_status)

        async def get(request: Request) -> JSONResponse:
            return JSONResponse({"status": "healthy"})

        app = Starlette(routes=[Route("/{path:path}", post, methods=["POST"]), Route("/{path:path}", get, methods=["GET"])])
        self.http = LoopbackServer(app)
        self.base = self.http.base

    def close(self) -> None:
        self.http.close()


def test_cli_segment_run_reaches_a_server_that_validates_segments_fields():
    scenario = resolve(None, None, [], SIZE)
    expected = build_run(scenario, generate_traffic(scenario))["fullstack_events"].filter(~pl.col("is_ping"))
    v = validator("segment")
    limit = fixture("segment_batch_fields.json")["x-limits"]["max_batch_bytes"]

    def check(path: str, body: dict) -> str | None:
        if path != "/v1/batch":
            return f"wrong path {path}"
        errors = [e.message for e in v.iter_errors(body)]
        if len(json.dumps(body).encode()) > limit:
            errors.append("batch over 500 KB")
        return "; ".join(errors[:3]) or None

    srv = Recorder(check)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "simulators", "generate", "--visitors", SIZE["traffic.visitors"], "--days", SIZE["traffic.days"],
             "--quiet", "--format", "segment", "--out", f"{srv.base}/v1/batch"],
            cwd=ROOT, env={**ENV, "DRCL_VENDOR_API_KEY": "wk_test"}, capture_output=True, timeout=180,
        )
    finally:
        srv.close()
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert srv.auth == {"Basic d2tfdGVzdDo="}  # Segment's write key as the Basic user name ("wk_test:")
    ids = [m["messageId"] for _, body, _ in srv.posts for m in body["batch"]]
    assert len(ids) == len(set(ids)) == expected.height  # every event, once
    assert {int(i.split(":")[1]) for i in ids} == set(expected["event_id"].to_list())
    assert all(len(body["batch"]) <= 100 for _, body, _ in srv.posts)
    assert f"accepted {expected.height:,}" in proc.stderr.decode()


def test_a_trickle_is_sent_after_the_linger_not_held_for_a_full_batch():
    """A slow source: 3 hits, then nothing for a while. With --linger-ms 400 the batch leaves
    about 0.4 s after its first event, long before the run ends; a full batch leaves at once."""
    scenario = resolve(None, None, [], SIZE)
    hits = browser_hits(scenario, generate_traffic(scenario))
    srv = Recorder(ok_status=202)
    sink = HttpSink(f"{srv.base}/api/v1/events", batch_size=100, linger=0.4)

    def batches() -> list[tuple[int, float]]:  # (events, arrival) of each events post; consent records go elsewhere
        return [(len(b["events"]), t) for path, b, t in srv.posts if path == "/api/v1/events"]

    try:
        sink.open(scenario)
        t0 = time.monotonic()
        sink.write({"hits": hits.slice(0, 3)})
        time.sleep(0.2)
        assert not srv.posts  # not yet: the batch is not full and has not waited 0.4 s
        deadline = time.monotonic() + 5
        while not batches() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [n for n, _ in batches()] == [3]
        assert 0.35 <= batches()[0][1] - t0 < 2.0
        # 247 more: two full batches leave at once, the last 47 wait for the linger
        t1 = time.monotonic()
        sink.write({"hits": hits.slice(3, 247)})
        time.sleep(0.15)
        assert [n for n, _ in batches()] == [3, 100, 100] and all(t - t1 < 0.15 for _, t in batches()[1:])
        time.sleep(0.6)
        assert [n for n, _ in batches()] == [3, 100, 100, 47]
        sink.close(scenario, {})
    finally:
        if sink.loop is not None:
            sink.abort()
        srv.close()
    assert sink.stats.events_accepted == sink.stats.events_sent == 250 and sink.lost == 0
    assert sink.stats.consents_accepted == sink.stats.consents_sent == hits.head(250)["consent_choice"].is_not_null().sum()
    sent = [e["event_id"] for path, b, _ in srv.posts if path == "/api/v1/events" for e in b["events"]]
    assert sent == [f"{scenario.run_id}:{i}" for i in hits["event_id"].head(250).to_list()]


@pytest.mark.parametrize("fmt", ["ga4", "posthog", "snowplow"])
def test_the_sender_posts_each_format_to_its_vendor_path(run, fmt):
    """The HTTP sender in each vendor format: the vendor's path under the given base (query kept),
    any 2xx accepted, every event once; GA4 one Measurement Protocol body a request."""
    scenario, _, full, _ = run
    expected = full if fmt in ("posthog", "snowplow") else full.filter(~pl.col("is_ping"))
    v = validator(fmt)
    path = formats.spec(fmt).path
    srv = Recorder(lambda p, body: None if p == path and v.is_valid(body["data"] if fmt == "snowplow" else body) else "invalid",
                   ok_status=204 if fmt == "ga4" else 200)
    query = "?measurement_id=G-TEST&api_secret=s" if fmt == "ga4" else ""
    sink = HttpSink(f"{srv.base}/{query}", batch_size=100, fmt=fmt, api_key="phc_test", retry_delays=(0.05,))
    try:
        run_to_sink(scenario, sink)
    finally:
        srv.close()
    assert sink.lost == 0 and sink.stats.events_accepted == sink.stats.events_sent == expected.height
    bodies = [b for _, b, _ in srv.posts]
    got = [e for b in bodies for e in events_of(fmt, b["data"] if fmt == "snowplow" else b)]
    assert len(got) == expected.height
    if fmt == "ga4":
        assert all(len(b["events"]) <= 25 for b in bodies) and len(bodies) < expected.height  # a visitor's events share a body
    else:
        assert all(len(events_of(fmt, b["data"] if fmt == "snowplow" else b)) <= 100 for b in bodies)
    if fmt == "posthog":
        assert {b["api_key"] for b in bodies} == {"phc_test"}


def test_the_ga4_api_secret_in_the_url_is_never_printed(run):
    """GA4 takes its api_secret in the query string: the summary's destination, the sender's report and
    its error messages show the URL with the secret masked, while the requests still carry it."""
    secret = "s3cr3t-ga4-api-secret"
    scenario = run[0]
    srv = Recorder(lambda p, body: "refused", ok_status=204)  # every batch refused: errors are reported
    seen: list[str] = []
    sink = HttpSink(f"{srv.base}/?measurement_id=G-TEST&api_secret={secret}", fmt="ga4", retry_delays=())
    try:
        run_to_sink(scenario, sink)
    finally:
        srv.close()
    seen += [sink.destination, sink.report(), *sink.stats.errors]
    assert sink.lost > 0 and sink.stats.errors
    assert all(secret not in text for text in seen), seen
    assert "api_secret=" in sink.destination and "measurement_id=G-TEST" in sink.destination
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(SinkError) as err:
        run_to_sink(scenario, HttpSink(f"http://127.0.0.1:{port}/?api_secret={secret}", fmt="ga4"))
    assert secret not in str(err.value) and "cannot reach" in str(err.value)
