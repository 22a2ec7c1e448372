"""The collector tried as an attacker would (issue 12), against a real collector process on
127.0.0.1 with raw sockets for the slow clients: silent, slow-header, slow-body and idle
connections are closed on time; connections and the memory held by unfinished bodies are capped;
X-Forwarded-For counts only from a trusted proxy; the rate-limit table forgets idle clients;
bodies must be JSON or text/plain. Timeouts are small here (flags); one slow test checks the
defaults on a real server."""

from __future__ import annotations

import json
import select
import socket
import time
import urllib.parse
from collections.abc import Iterator

import httpx
import psutil
import pytest
from collector_helpers import Collector, batch, event
from starlette.requests import Request

from collector.__main__ import build_parser, limits_from, main
from collector.app import ClientAddress, RateLimiter
from collector.protocol import Limits
from engine import wire

FAST = ("--header-timeout", "1", "--body-timeout", "1.5", "--keep-alive", "1")
SLACK = 1.5  # a loaded 2-core machine may run a timer late; a fault means "never"


def port(c: Collector) -> int:
    p = urllib.parse.urlsplit(c.base).port
    assert p is not None
    return p


OPEN: list[socket.socket] = []


@pytest.fixture(autouse=True)
def _close_sockets() -> Iterator[None]:
    """A failing test's sockets are closed too (an unclosed socket is itself an error here)."""
    yield
    while OPEN:
        OPEN.pop().close()


def connect(c: Collector) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port(c)), timeout=5)
    s.setblocking(False)
    OPEN.append(s)
    return s


def head(method: str = "POST", path: str = "/api/v1/events", length: int | None = None, **headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if length is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {length}"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def watch(s: socket.socket, limit: float, trickle: Iterator[bytes] | None = None, every: float = 0.1) -> tuple[float, bytes]:
    """Seconds until the server closes `s` (inf if it is still open after `limit`) and what it
    sent; meanwhile one item of `trickle` is sent every `every` seconds."""
    t0 = time.monotonic()
    got = b""
    next_send = t0
    while (now := time.monotonic()) - t0 < limit:
        if trickle is not None and now >= next_send:
            next_send += every
            try:
                s.send(next(trickle, b""))
            except OSError:
                return time.monotonic() - t0, got
        readable, _, _ = select.select([s], [], [], 0.02)
        if readable:
            try:
                data = s.recv(65536)
            except OSError:  # reset: the server closed with our bytes unread
                return time.monotonic() - t0, got
            if not data:
                return time.monotonic() - t0, got
            got += data
    return float("inf"), got


def response(raw: bytes) -> tuple[int, dict[str, str], dict]:
    """Status, headers (lower-case names) and JSON body of the first response in `raw`."""
    top, _, rest = raw.partition(b"\r\n\r\n")
    lines = top.decode("latin1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    n = int(headers.get("content-length", "0"))
    return int(lines[0].split()[1]), headers, json.loads(rest[:n]) if n else {}


def request(s: socket.socket, data: bytes, limit: float = 10.0) -> bytes:
    """Send a whole request on a blocking view of `s` and read one whole response."""
    s.setblocking(True)
    s.settimeout(limit)
    s.sendall(data)
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = s.recv(65536)
        assert chunk, f"closed before a response: {got!r}"
        got += chunk
    top, _, rest = got.partition(b"\r\n\r\n")
    n = int(next((line.split(b":")[1] for line in top.split(b"\r\n") if line.lower().startswith(b"content-length")), b"0"))
    while len(rest) < n:
        chunk = s.recv(65536)
        assert chunk, "closed part way through a response"
        rest += chunk
    s.setblocking(False)
    return top + b"\r\n\r\n" + rest


@pytest.fixture(scope="module")
def fast(tmp_path_factory):
    """A collector with 1 s / 1.5 s / 1 s header, body and keep-alive timeouts, no rate limit."""
    c = Collector(tmp_path_factory.mktemp("hard") / "hard.duckdb", *FAST, "--rate-limit", "0")
    yield c
    c.stop()


# --- timeouts: slow and silent clients ---------------------------------------------------------

def test_a_silent_connection_is_closed_after_the_header_timeout(fast):
    s = connect(fast)
    took, got = watch(s, 1 + SLACK + 2)
    s.close()
    assert 0.8 <= took <= 1 + SLACK, took  # before: still open after 30 s
    assert got == b""  # nothing was asked: nothing is answered


def test_a_slow_loris_trickling_its_headers_gets_408_and_is_dropped(fast):
    """One byte every 0.1 s never lets the connection go quiet: the deadline still holds."""
    s = connect(fast)
    data = head("GET", "/api/v1/health", X_Padding="p" * 400)
    took, got = watch(s, 1 + SLACK + 2, iter(data[i:i + 1] for i in range(len(data) - 2)))
    s.close()
    assert 0.8 <= took <= 1 + SLACK, took  # before: still open after 30 s
    if got:  # a last byte crossing the close can turn the FIN into a reset; the 408 itself is checked below
        status, headers, body = response(got)
        assert status == 408 and body["code"] == "REQUEST_TIMEOUT" and headers["connection"] == "close"


def test_a_stalled_request_head_gets_a_json_408(fast):
    s = connect(fast)
    s.send(b"POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    took, got = watch(s, 1 + SLACK + 2)
    s.close()
    assert 0.8 <= took <= 1 + SLACK
    status, headers, body = response(got)
    assert status == 408 and headers["content-type"] == "application/json"
    assert body["status"] == "error" and body["code"] == "REQUEST_TIMEOUT"


def test_a_slow_body_gets_408_and_is_dropped(fast):
    s = connect(fast)
    s.send(head(length=1000) + b'{"batch_id": ')
    took, got = watch(s, 1.5 + SLACK + 2)  # a body stalled part way
    s.close()
    assert 1.3 <= took <= 1.5 + SLACK, took  # before: still open after 30 s
    status, _, body = response(got)
    assert status == 408 and body["code"] == "REQUEST_TIMEOUT"
    s = connect(fast)
    s.send(head(length=1000))
    took, _ = watch(s, 1.5 + SLACK + 2, iter([b" "] * 1000), every=0.1)  # a body trickled a byte at a time
    s.close()
    assert 1.3 <= took <= 1.5 + SLACK, took


def test_an_idle_keep_alive_connection_is_closed(fast):
    s = connect(fast)
    status, headers, _ = response(request(s, head("GET", "/api/v1/health")))
    assert status == 200 and headers.get("connection") != "close"
    took, _ = watch(s, 1 + SLACK + 2)
    s.close()
    assert 0.8 <= took <= 1 + SLACK, took


def test_an_answer_before_the_body_is_in_does_not_leave_the_connection_open(fast):
    """413 on the declared length (or 404, 415, 429) answers before the body is read; uvicorn
    then reads and drops the rest, and every byte used to cancel its keep-alive timer for good."""
    s = connect(fast)
    s.send(head(length=wire.MAX_BODY_BYTES + 1) + b"x" * 10)
    took, got = watch(s, 1.5 + SLACK + 2, iter([b"x"] * 1000), every=0.2)
    s.close()
    assert response(got)[0] == 413
    assert took <= 1.5 + SLACK, took
    # the body finished after the answer, then stray CRLFs: the idle time still runs from the answer
    s = connect(fast)
    s.send(head("POST", "/nothing", length=5) + b"ab")
    time.sleep(0.2)
    s.send(b"cde")
    took, got = watch(s, 1 + SLACK + 2, iter([b"\r\n"] * 100), every=0.2)
    s.close()
    assert response(got)[0] == 404 and got.count(b"HTTP/1.1 ") == 1  # CRLFs are no request (nor a 400)
    assert took <= 1 + SLACK, took


def test_a_request_head_over_32_kb_gets_431(fast):
    """A head had no size limit (200 MB of one header grew the process by 314 MB)."""
    s = connect(fast)
    s.setblocking(True)
    s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 70_000)
    s.setblocking(False)
    took, got = watch(s, 5)
    s.close()
    assert took < 5
    status, _, body = response(got)
    assert status == 431 and body["code"] == "HEADERS_TOO_LARGE"
    s = connect(fast)  # a large head that is still allowed goes through
    status, _, _ = response(request(s, head("GET", "/api/v1/health", X_Big="a" * 20_000)))
    s.close()
    assert status == 200


# --- caps: connections and memory --------------------------------------------------------------

@pytest.mark.slow
def test_connections_beyond_the_cap_get_503_with_retry_after(tmp_path):
    with Collector(tmp_path / "cap.duckdb", "--limit-concurrency", "2", "--header-timeout", "5") as c:
        time.sleep(0.3)  # the helper's health checks have closed their connections
        held = [connect(c) for _ in range(2)]  # silent, well within the header timeout
        time.sleep(0.3)
        s = connect(c)
        status, headers, body = response(request(s, head("GET", "/api/v1/health")))
        assert status == 503 and headers["retry-after"] == "1" and headers["connection"] == "close"
        assert body["status"] == "error" and body["code"] == "OVERLOADED"
        took, _ = watch(s, 3)
        assert took < 3  # and the connection is closed
        held += [connect(c) for _ in range(2)]  # 4 open: twice the cap, each may still send a head
        time.sleep(0.3)
        took, got = watch(connect(c), 3)  # one more is closed at once, unread
        assert took < 1 and got == b""
        for h in held:
            h.close()
        time.sleep(0.3)
        assert httpx.get(c.base + "/health", timeout=10).status_code == 200  # room again


@pytest.mark.slow
def test_bodies_in_memory_are_capped_and_the_room_comes_back(tmp_path):
    with Collector(tmp_path / "budget.duckdb", "--body-memory", "1", "--rate-limit", "0") as c:
        big = b'{"pad": "' + b"a" * 599_000 + b'"}'
        a = connect(c)  # 599,000 bytes of a body, then nothing: held in memory, the budget's 1 MB nearly used
        a.setblocking(True)
        a.sendall(head(length=len(big) + 10) + big)
        time.sleep(0.5)
        b = connect(c)
        status, headers, body = response(request(b, head(length=len(big)) + big))
        assert status == 503 and headers["retry-after"] == "1" and body["code"] == "OVERLOADED"
        b.close()
        a.close()  # the stalled body goes, and its room with it
        time.sleep(0.5)
        b = connect(c)
        status, _, body = response(request(b, head(length=len(big)) + big))
        b.close()
        assert status == 400 and body["code"] == "VALIDATION_ERROR"  # read in full this time


@pytest.mark.slow
def test_300_bodies_stalled_just_under_1_mb_hold_bounded_memory(tmp_path):
    """Before: the HTTP process grew from 187 to 525 MB (here: 156 -> 469 MB, +313 MB)."""
    with Collector(tmp_path / "mem.duckdb", "--body-memory", "16", "--body-timeout", "20") as c:
        rss = psutil.Process(c.proc.pid).memory_info().rss
        length = wire.MAX_BODY_BYTES - 1
        chunk = b" " * 65536
        socks = []
        for _ in range(300):
            s = socket.create_connection(("127.0.0.1", port(c)), timeout=10)
            s.sendall(head(length=length))
            left = length - 1000  # 1,000 bytes short: never finished
            while left > 0:
                s.sendall(chunk[:left])
                left -= min(left, len(chunk))
            socks.append(s)
        time.sleep(1.0)
        grown = (psutil.Process(c.proc.pid).memory_info().rss - rss) / 2**20
        # Collect the answers as they come (a loaded machine answers late): the bodies that fit the
        # budget get none until their deadline, every other one a 503.
        refused = 0
        pending = {s.fileno(): s for s in socks}
        deadline = time.monotonic() + 10
        while pending and time.monotonic() < deadline and refused < 300 - 17:
            ready, _, _ = select.select(list(pending.values()), [], [], 0.5)
            for s in ready:
                data = s.recv(65536)
                pending.pop(s.fileno())
                if data.startswith(b"HTTP/1.1 503"):
                    assert response(data)[1]["retry-after"] == "1"
                    refused += 1
        for s in socks:
            s.close()
        assert refused >= 300 - 17  # 16 bodies of ~1 MB fit in 16 MB
        assert grown < 64, f"the HTTP process grew by {grown:.0f} MB"
        time.sleep(0.5)
        r = httpx.post(c.events_url, json=batch([event("after-mem")]), timeout=10)
        assert r.status_code == 202  # the room came back when the stalled clients went


# --- proxy headers -----------------------------------------------------------------------------

def _codes(c: Collector, forwarded: list[str]) -> list[int]:
    with httpx.Client(timeout=10) as client:
        return [client.post(c.events_url, content=b"x", headers={"content-type": "application/json",
                                                                "x-forwarded-for": f}).status_code for f in forwarded]


@pytest.mark.slow
def test_x_forwarded_for_from_loopback_does_not_dodge_the_rate_limit(tmp_path):
    """Before: uvicorn trusted X-Forwarded-For from 127.0.0.1, so each new value was a new client."""
    with Collector(tmp_path / "xff.duckdb", "--rate-limit", "3") as c:
        assert _codes(c, [f"203.0.113.{i}" for i in range(1, 6)]) == [400, 400, 400, 429, 429]


@pytest.mark.slow
def test_a_trusted_proxy_names_the_client_and_nobody_else_does(tmp_path):
    with Collector(tmp_path / "proxy.duckdb", "--rate-limit", "3", "--trusted-proxy", "127.0.0.1") as c:
        assert _codes(c, ["203.0.113.1"] * 4) == [400, 400, 400, 429]
        assert _codes(c, ["203.0.113.2"]) == [400]  # another client behind the proxy has its own bucket
        # the proxy appends what it saw: an address the client wrote in front changes nothing
        assert _codes(c, ["198.51.100.7, 203.0.113.1"]) == [429]
    c = Collector(tmp_path / "other.duckdb", "--rate-limit", "3", "--trusted-proxy", "192.0.2.10")
    try:  # loopback is not the trusted proxy: its X-Forwarded-For is ignored
        assert _codes(c, [f"203.0.113.{i}" for i in range(1, 5)]) == [400, 400, 400, 429]
    finally:
        c.stop()


def _request(peer: str, *forwarded: str) -> Request:
    headers = [(b"x-forwarded-for", f.encode()) for f in forwarded]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers, "client": (peer, 5000)})


def test_client_address_rules():
    none = ClientAddress()
    assert none(_request("127.0.0.1", "203.0.113.1")) == "127.0.0.1"
    proxy = ClientAddress(["10.0.0.0/8", "::1"])
    assert proxy(_request("10.1.2.3")) == "10.1.2.3"  # no header: the proxy itself
    assert proxy(_request("10.1.2.3", "203.0.113.9")) == "203.0.113.9"
    assert proxy(_request("10.1.2.3", "203.0.113.9:4711")) == "203.0.113.9"
    assert proxy(_request("::1", "[2001:db8::5]:443")) == "2001:db8::5"
    assert proxy(_request("10.1.2.3", "1.2.3.4, 203.0.113.9, 10.9.9.9")) == "203.0.113.9"  # past a second proxy
    assert proxy(_request("10.1.2.3", "1.2.3.4", "203.0.113.9")) == "203.0.113.9"  # two header lines
    assert proxy(_request("10.1.2.3", "evil" * 100)) == "10.1.2.3"  # not an address: never the text sent
    assert proxy(_request("192.0.2.1", "203.0.113.9")) == "192.0.2.1"  # not from the proxy
    assert proxy(_request("::ffff:10.1.2.3", "203.0.113.9")) == "203.0.113.9"  # an IPv4 proxy seen on a dual-stack socket


# --- the rate-limit table ----------------------------------------------------------------------

def test_the_rate_limit_table_stays_bounded_under_100000_clients():
    now = [0.0]
    rl = RateLimiter(60, max_clients=10_000, clock=lambda: now[0])
    for i in range(100_000):
        now[0] += 0.0001  # 100,000 clients within 10 s: none has refilled yet
        assert rl.retry_after(f"c{i}") == 0
    assert len(rl.buckets) == 10_000  # before: 100,000 (19 MB), and never fewer
    now[0] += 61  # a minute later every bucket is full again
    rl.retry_after("late")
    assert list(rl.buckets) == ["late"]


def test_a_refilled_bucket_is_dropped_and_limits_still_hold():
    now = [0.0]
    rl = RateLimiter(3, clock=lambda: now[0])
    assert [rl.retry_after("a") for _ in range(4)] == [0, 0, 0, 20]
    rl.retry_after("b")
    now[0] += 21  # a has one token back, not three: kept; b's bucket is full again: dropped
    assert rl.retry_after("a") == 0 and rl.retry_after("a") == 19
    assert list(rl.buckets) == ["a"]
    now[0] += 61
    rl.retry_after("c")
    assert set(rl.buckets) == {"c"}
    assert RateLimiter(0).retry_after("x") == 0 and not RateLimiter(0).buckets


@pytest.mark.slow
def test_the_rate_limit_table_shrinks_on_a_real_server(tmp_path):
    """2,000 clients behind a trusted proxy: at 1,000 requests a minute a bucket is full again 60 ms
    after one request, so the table keeps only the last moments' clients."""
    with Collector(tmp_path / "table.duckdb", "--trusted-proxy", "127.0.0.1") as c:
        with socket.create_connection(("127.0.0.1", port(c)), timeout=10) as s:
            for start in range(0, 2000, 50):  # pipelined, 50 at a time
                s.sendall(b"".join(head(length=1, X_Forwarded_For=f"10.0.{i >> 8}.{i & 255}") + b"x"
                                   for i in range(start, start + 50)))
                got = b""
                while got.count(b"HTTP/1.1 400") < 50:
                    data = s.recv(1 << 20)
                    assert data
                    got += data
        assert httpx.get(c.base + "/health", timeout=10).json()["rate_limit_clients"] < 1000  # before: 2,000
        time.sleep(0.2)
        _codes(c, ["10.1.0.1"])
        assert httpx.get(c.base + "/health", timeout=10).json()["rate_limit_clients"] == 1


# --- content types -----------------------------------------------------------------------------

@pytest.mark.parametrize(("content_type", "status"), [
    ("application/json", 202),
    ("application/json; charset=utf-8", 202),
    ("text/plain;charset=UTF-8", 202),  # navigator.sendBeacon with a string
    (None, 202),  # sendBeacon with an untyped Blob sends none
    ("application/x-www-form-urlencoded", 415),
    ("multipart/form-data; boundary=x", 415),
    ("text/html", 415),
    ("text/plain; charset=iso-8859-1", 415),
])
def test_only_json_and_text_plain_bodies_are_accepted(fast, content_type, status):
    headers = {} if content_type is None else {"content-type": content_type}
    body = json.dumps(batch([event(f"ct-{content_type}")], "ct")).encode()
    before = httpx.get(fast.base + "/health", timeout=10).json()["stored"]["events"]
    r = httpx.post(fast.events_url, content=body, headers=headers, timeout=10)
    assert r.status_code == status, r.text
    after = httpx.get(fast.base + "/health", timeout=10).json()["stored"]["events"]
    assert after == before + (1 if status == 202 else 0)
    if status == 415:
        assert r.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"
        record = {"anonymous_id": "ct", "timestamp": "2026-11-04T10:00:05Z", "method": "custom",
                  "consent": {"analytics_storage": True, "ad_storage": False, "ad_user_data": False, "ad_personalization": False},
                  "context": {"user_agent": "Mozilla/5.0", "ip": "81.2.69.160"}}
        r = httpx.post(fast.base + "/consent", content=json.dumps(record).encode(), headers=headers, timeout=10)
        assert r.status_code == 415


# --- options -----------------------------------------------------------------------------------

def test_the_default_limits_are_wired():
    assert Limits() == Limits(header_timeout=10.0, body_timeout=30.0, keep_alive=5.0, limit_concurrency=1000)
    args = build_parser().parse_args(["--db", "x.duckdb"])
    assert limits_from(args) == Limits()
    assert args.trusted_proxies == [] and args.body_memory == 64
    text = build_parser().format_help()
    for flag in ("--header-timeout", "--body-timeout", "--keep-alive", "--limit-concurrency", "--trusted-proxy", "--body-memory"):
        assert flag in text


@pytest.mark.slow
def test_the_default_timeouts_hold_on_a_real_server(tmp_path):
    c = Collector(tmp_path / "defaults.duckdb")
    silent = connect(c)
    idle = connect(c)
    try:
        assert response(request(idle, head("GET", "/api/v1/health")))[0] == 200
        t0 = time.monotonic()
        closed: dict[str, float] = {}
        while len(closed) < 2 and time.monotonic() - t0 < 10 + SLACK + 2:
            for name, s in (("silent", silent), ("idle", idle)):
                if name not in closed and watch(s, 0.05)[0] != float("inf"):
                    closed[name] = time.monotonic() - t0
        assert 4.5 <= closed["idle"] <= 5 + SLACK, closed
        assert 9.5 <= closed["silent"] <= 10 + SLACK, closed
    finally:
        silent.close()
        idle.close()
        c.stop()


@pytest.mark.parametrize("bad", [
    ["--header-timeout", "0"], ["--body-timeout", "nan"], ["--keep-alive", "-1"], ["--header-timeout", "inf"],
    ["--limit-concurrency", "0"], ["--body-memory", "0"],
    ["--trusted-proxy", "*"], ["--trusted-proxy", "proxy.example"], ["--trusted-proxy", "10.0.0.1/8"],
])
def test_bad_limit_options_exit_2(bad, tmp_path, capsys):
    assert main(["--db", str(tmp_path / "x.duckdb"), *bad]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and bad[0] in err
    assert not (tmp_path / "x.duckdb").exists()
