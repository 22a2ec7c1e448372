"""Vendor formats: how fast hits become request bodies, per format, against the native format.

Prints, for one chunk of hits (50,000 visitors by default): the events/s at which the simulator
produces hits (traffic + consent, the sender's source), then per format the events/s of turning
them into request bodies (the polars conversion plus the framing of batches of 100, or GA4's one
body per visitor run), the share of hits the format sends (consent), and the ratio to native.
Best of five interleaved rounds (`--rounds`). Then the whole sender
(conversion, batching, HTTP; closed model, 32 requests in flight) per format into a local
receiver that answers every request at once: hits/s, events sent/s, requests, ratio to native. The sender keeps up with the source when a format's rate is well above
the source's.

    python benchmarks/formats.py [--visitors 50000] [--rounds 5] [--no-send]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time

os.environ.setdefault("DRCL_HASH_KEY", "5e" * 32)

import polars as pl

from engine import wire
from engine.pipeline import browser_hits
from engine.scenario import resolve
from simulators import formats
from simulators.http_sink import HttpSink
from simulators.traffic import generate_traffic

BATCH = 100
# A receiver that answers every request at once (202 for the native path, 200 for the others),
# in its own process so the sender's figure is the sender's.
NULL_SERVER = """
import socket, sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

async def post(request):
    await request.body()
    return Response(status_code=202 if request.url.path.startswith("/api/v1/") else 200)

async def get(request):
    return Response(b"{}", media_type="application/json")

app = Starlette(routes=[Route("/{p:path}", post, methods=["POST"]), Route("/{p:path}", get, methods=["GET"])])
sock = socket.create_server(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="off", access_log=False)).run(sockets=[sock])
"""


def best(fn, repeat: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def native(hits: pl.DataFrame, run_id: str) -> int:
    texts = wire.encode_events(hits, scope=run_id).to_list()
    now = dt.datetime.now(dt.UTC)
    bodies = [wire.batch_body(f"{run_id}-b{i}", now, texts[i:i + BATCH]) for i in range(0, len(texts), BATCH)]
    return sum(map(len, bodies)) and len(texts)


def vendor(fmt: str, hits: pl.DataFrame, scenario, opts: formats.Options) -> int:
    units = formats.encode(hits, scenario, fmt, opts)
    texts = units["json"].to_list()
    step = formats.spec(fmt).per_request if fmt == "ga4" else BATCH
    bodies = [formats.body(fmt, texts[i:i + step], opts) for i in range(0, len(texts), step)]
    return sum(map(len, bodies)) and int(units["n"].sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visitors", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--no-send", dest="send", action="store_false", help="skip the sender into a local receiver")
    args = ap.parse_args()
    scenario = resolve(None, None, [], {"traffic.visitors": str(args.visitors), "traffic.days": "7"})

    def source() -> pl.DataFrame:
        return browser_hits(scenario, generate_traffic(scenario))

    t_src, hits = best(source)
    assert isinstance(hits, pl.DataFrame)
    n = hits.height
    print(f"{n:,} hits from {args.visitors:,} visitors (consent mode {scenario.consent.mode})")
    print(f"source (traffic + consent -> hits): {n / t_src:>12,.0f} hits/s")
    opts = formats.Options(run_id=scenario.run_id)
    # Interleaved rounds, best per format: on a shared machine the load shifts between
    # measurements, and a format measured while it peaks would look slower than it is.
    jobs = {"native": lambda: native(hits, scenario.run_id)} | {
        fmt: (lambda fmt=fmt: vendor(fmt, hits, scenario, opts)) for fmt in ("ga4", "segment", "posthog", "snowplow")
    }
    times: dict[str, float] = dict.fromkeys(jobs, float("inf"))
    sent: dict[str, int] = {}
    for _ in range(args.rounds):
        for fmt, job in jobs.items():
            t = time.perf_counter()
            sent[fmt] = job()
            times[fmt] = min(times[fmt], time.perf_counter() - t)
    base, src = n / times["native"], n / t_src
    print(f"{'format':<10}{'hits/s':>14}{'sent':>10}{'vs native':>11}{'vs source':>11}")
    for fmt in jobs:
        rate = n / times[fmt]
        print(f"{fmt:<10}{rate:>14,.0f}{sent[fmt] / n:>10.1%}{rate / base:>10.2f}x{rate / src:>10.1f}x")
    if args.send:
        send_all(scenario, hits)


def send_all(scenario, hits: pl.DataFrame) -> None:
    """The whole sender (conversion, batching, HTTP) into a receiver that answers at once."""
    proc = subprocess.Popen([sys.executable, "-c", NULL_SERVER], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        base = f"http://127.0.0.1:{int(proc.stdout.readline())}"
        print(f"sender, closed model, 32 in flight, into a receiver that answers at once ({base}):")
        print(f"{'format':<10}{'hits/s':>14}{'events/s':>12}{'requests':>10}{'vs native':>11}")
        first = None
        for fmt in ("native", "ga4", "segment", "posthog", "snowplow"):
            sink = HttpSink(base, fmt=fmt, concurrency=32)
            sink.open(scenario)
            t = time.perf_counter()
            sink.write({"hits": hits})
            sink.close(scenario, {})
            took = time.perf_counter() - t
            assert sink.lost == 0, sink.report()
            first = first or hits.height / took
            print(f"{fmt:<10}{hits.height / took:>14,.0f}{sink.stats.events_accepted / took:>12,.0f}"
                  f"{sink.stats.requests:>10,}{hits.height / took / first:>10.2f}x")
    finally:
        proc.terminate()
        proc.wait(timeout=10)

if __name__ == "__main__":
    main()
