"""The collector tried as an attacker would (issue 12): prints, per fault, what the server did.

- connections: silent sockets, headers trickled a byte at a time, bodies trickled a byte at a
  time, keep-alive connections left idle after one request; how many are still open after
  `--wait` seconds (default 35: the issue looked after 30) and when the others were closed;
- memory: 300 bodies stalled just under 1 MB; the HTTP process's RSS before and while they stall;
- xff: `X-Forwarded-For` sent from loopback to a collector with `--rate-limit 3`: how many of 10
  requests with different forwarded addresses got 429;
- table: 100,000 distinct clients (forwarded addresses, so the collector must trust loopback:
  `--trusted-proxy 127.0.0.1` where the flag exists); the HTTP process's RSS growth.

    PYTHONPATH=. python -m benchmarks.collector_attack [--only connections,memory,xff,table] [--wait 35] [--clients 100000]

Loopback only. Runs against whatever `collector` package is importable (PYTHONPATH decides).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks import harness

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "DRCL_HASH_KEY": os.environ.get("DRCL_HASH_KEY", "5e" * 32)}
BODY_LIMIT = 1_000_000


def Collector(db: Path, *args: str) -> harness.Collector:
    return harness.Collector(db, *args, env=ENV)


def connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port))
    s.setblocking(False)
    return s


def closed(s: socket.socket) -> bool:
    """True once the server has closed (EOF or reset); reads and drops anything it answered."""
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def post_head(length: int, path: str = "/api/v1/events", extra: str = "") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n{extra}\r\n").encode()


def attack_connections(tmp: Path, wait: float, n: int = 20) -> None:
    with Collector(tmp / "conn.duckdb") as c:
        head = post_head(1000)
        kinds: dict[str, list[socket.socket]] = {k: [] for k in ("silent", "slow headers", "slow body", "idle keep-alive")}
        sent = {}
        for _ in range(n):
            kinds["silent"].append(connect(c.port))
            s = connect(c.port)
            kinds["slow headers"].append(s)
            sent[s] = 0
            s = connect(c.port)
            s.sendall(head)
            kinds["slow body"].append(s)
            s = connect(c.port)
            s.setblocking(True)
            s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            s.recv(65536)
            s.setblocking(False)
            kinds["idle keep-alive"].append(s)
        t0 = time.monotonic()
        closed_at: dict[socket.socket, float] = {}
        next_trickle = t0
        while time.monotonic() - t0 < wait:
            now = time.monotonic()
            if now >= next_trickle:  # one byte every 2 s: headers never end, the body never ends
                next_trickle += 2.0
                for s in kinds["slow headers"]:
                    if s not in closed_at:
                        try:
                            s.send(head[sent[s]:sent[s] + 1] if sent[s] < len(head) - 2 else b"X")
                            sent[s] += 1
                        except OSError:
                            pass
                for s in kinds["slow body"]:
                    if s not in closed_at:
                        with contextlib.suppress(OSError):
                            s.send(b" ")
            for group in kinds.values():
                for s in group:
                    if s not in closed_at and closed(s):
                        closed_at[s] = now - t0
            time.sleep(0.05)
        print(f"connections ({n} of each kind, watched {wait:.0f} s):")
        for kind, group in kinds.items():
            times = sorted(closed_at[s] for s in group if s in closed_at)
            still = len(group) - len(times)
            when = f"closed after {times[len(times) // 2]:.1f} s (median)" if times else "none closed"
            print(f"  {kind:16} still open: {still:3}/{len(group)}; {when}")
            for s in group:
                s.close()


def attack_memory(tmp: Path, n: int = 300) -> None:
    with Collector(tmp / "mem.duckdb") as c:
        before = c.rss_mb()
        length = BODY_LIMIT - 1
        chunk = b" " * 65536
        socks = []
        t0 = time.monotonic()
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", c.port))
            s.sendall(post_head(length))
            left = length - 1000  # stall 1,000 bytes short of the declared length
            while left > 0:
                s.sendall(chunk[:left])
                left -= min(left, len(chunk))
            socks.append(s)
        time.sleep(1.0)  # let the server take in what was sent
        during = c.rss_mb()
        for s in socks:
            s.setblocking(False)
        answered = sum(_answered(s) for s in socks)
        print(f"memory: {n} bodies of {length - 1000:,} bytes stalled ({time.monotonic() - t0:.1f} s to send): "
              f"HTTP process RSS {before:.0f} MB -> {during:.0f} MB (+{during - before:.0f} MB); "
              f"{answered} answered early")
        for s in socks:
            s.close()


def _answered(s: socket.socket) -> bool:
    try:
        return s.recv(65536).startswith(b"HTTP/1.1 ")
    except OSError:
        return False


def attack_xff(tmp: Path) -> None:
    with Collector(tmp / "xff.duckdb", "--rate-limit", "3") as c:
        codes = []
        with httpx.Client(timeout=10) as client:
            for i in range(10):
                r = client.post(c.base + "/events", content=b"x", headers={
                    "content-type": "application/json", "x-forwarded-for": f"203.0.113.{i + 1}"})
                codes.append(r.status_code)
        print(f"xff: 10 requests from 127.0.0.1, each with another X-Forwarded-For, --rate-limit 3: "
              f"{codes.count(429)} got 429 (codes {codes})")


def attack_table(tmp: Path, clients: int) -> None:
    try:
        c = Collector(tmp / "table.duckdb", "--trusted-proxy", "127.0.0.1")
        how = "--trusted-proxy 127.0.0.1"
    except RuntimeError:  # an older collector: it trusts loopback's X-Forwarded-For anyway
        c = Collector(tmp / "table2.duckdb")
        how = "default flags"
    try:
        before = c.rss_mb()
        t0 = time.monotonic()
        per_conn, pipeline = 5000, 50
        sent = 0
        while sent < clients:
            with socket.create_connection(("127.0.0.1", c.port)) as s:
                for _ in range(0, per_conn, pipeline):
                    k = min(pipeline, clients - sent)
                    if k <= 0:
                        break
                    reqs = b"".join(
                        post_head(1, extra=f"X-Forwarded-For: 10.{(sent + j) >> 16 & 255}.{(sent + j) >> 8 & 255}.{(sent + j) & 255}\r\n") + b"x"
                        for j in range(k))
                    s.sendall(reqs)
                    got = b""
                    while got.count(b"HTTP/1.1 ") < k:
                        data = s.recv(1 << 20)
                        if not data:
                            raise RuntimeError("connection closed during the table attack")
                        got += data
                    sent += k
        elapsed = time.monotonic() - t0
        after = c.rss_mb()
        health = httpx.get(c.base + "/health", timeout=10).json()
        size = health.get("rate_limit_clients", "not reported")
        print(f"table: {clients:,} distinct clients in {elapsed:.0f} s ({how}): HTTP process RSS {before:.0f} MB -> "
              f"{after:.0f} MB (+{after - before:.0f} MB); rate-limit table: {size}")
    finally:
        c.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", default="connections,memory,xff,table")
    p.add_argument("--wait", type=float, default=35.0)
    p.add_argument("--clients", type=int, default=100_000)
    args = p.parse_args()
    only = set(args.only.split(","))
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if "connections" in only:
            attack_connections(tmp, args.wait)
        if "memory" in only:
            attack_memory(tmp)
        if "xff" in only:
            attack_xff(tmp)
        if "table" in only:
            attack_table(tmp, args.clients)


if __name__ == "__main__":
    main()
