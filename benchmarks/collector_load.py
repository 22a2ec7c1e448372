"""Collector load: sustained events/s and latency p50/p95/p99 at zero loss, batches of 100 on
loopback, simulator and collector on the same machine (they share its cores).

In the same run, for ratios:
- the in-process path (the same scenario straight into a DuckDB file, no HTTP): the ceiling;
- one request at a time (concurrency 1): what group commit buys;
- closed model at `--concurrency` requests in flight: the collector's capacity;
- open model at `--rate` events/s (default 20,000, the target): latency measured from each
  batch's due time, so a collector that falls behind shows as latency, not as a slower sender.
Every phase checks afterwards that the collector's ledger holds exactly the accepted events.
events/s is sustained: accepted events over the time from the first request to the last answer
(not counting the collector's start-up or the first chunk's generation).
The Telementary plan's target (10,000 events a minute, P99 under 500 ms) is printed beside ours.

    PYTHONPATH=. python -m benchmarks.collector_load [--visitors 60000] [--rate 20000] [--concurrency 64] [--quick]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("DRCL_HASH_KEY", "5e" * 32)


from benchmarks import harness  # noqa: E402
from engine import store  # noqa: E402
from engine.scenario import apply_overrides, load_preset  # noqa: E402
from simulators.http_sink import HttpSink  # noqa: E402
from simulators.run import run_to_sink  # noqa: E402
from simulators.sinks import DuckDBSink  # noqa: E402

TELEMENTARY_EVENTS_PER_S = 10_000 / 60
TELEMENTARY_P99_MS = 500.0


def ledger_events(db: Path) -> int:
    """Events the collector's ledger holds (read after it stopped)."""
    con = store.connect(db, read_only=True)
    try:
        return int(store.query(con, "SELECT count(*) AS n FROM collector_ledger WHERE kind = 'events'")["n"][0])
    finally:
        con.close()


def phase(name: str, scenario, overrides: list[str], tmp: Path, **sink_kw) -> dict:
    sets = [x for o in overrides for x in ("--set", o)]
    c = harness.Collector(tmp / f"phase-{len(list(tmp.glob('phase-*.duckdb')))}.duckdb", "--rate-limit", "0", *sets,
                          log_to_terminal=True)
    sink = HttpSink(c.events_url, batch_size=100, **sink_kw)
    http = c.ps
    writer = next(p for p in http.children() if any('spawn_main' in a for a in p.cmdline()))
    cpu0 = [_cpu(http), _cpu(writer), _own_cpu()]
    t0 = time.perf_counter()
    run_to_sink(scenario, sink)
    seconds = time.perf_counter() - t0
    cpu = [b - a for a, b in zip(cpu0, [_cpu(http), _cpu(writer), _own_cpu()])]
    c.stop(timeout=120)
    in_ledger = ledger_events(c.db)
    s = sink.stats
    row = {
        "name": name, "events": s.events_accepted, "seconds": seconds, "rate": s.sustained_rate,
        "p50": s.percentile(50), "p95": s.percentile(95), "p99": s.percentile(99), "lost": sink.lost,
        "retried": s.events_retried, "in_ledger": in_ledger,
    }
    print(f"  {name:<28}{row['events']:>10,}{row['rate']:>12,.0f}{row['p50']:>9.1f}{row['p95']:>9.1f}{row['p99']:>9.1f}"
          f"{row['lost']:>7,}{row['retried']:>9,}  ledger {'= accepted' if in_ledger == s.events_accepted else f'{in_ledger:,} (MISMATCH)'}",
          flush=True)
    per = 1e6 / max(1, s.events_accepted)  # CPU microseconds an accepted event
    print(f"  {'':<28}CPU a event: HTTP process {cpu[0] * per:.1f} us, writer {cpu[1] * per:.1f} us, "
          f"sender and simulator {cpu[2] * per:.1f} us; load average {os.getloadavg()[0]:.2f}", flush=True)
    return row


def _cpu(p: psutil.Process) -> float:
    t = p.cpu_times()
    return t.user + t.system


def _own_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--visitors", type=int, default=60_000)
    ap.add_argument("--rate", type=float, default=20_000.0)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--quick", action="store_true", help="a fifth of the visitors")
    args = ap.parse_args()
    visitors = args.visitors // 5 if args.quick else args.visitors
    overrides = [f"traffic.visitors={visitors}", "traffic.days=7"]
    scenario = apply_overrides(load_preset("eu_shop"), dict(o.split("=") for o in overrides))
    one_at_a_time = apply_overrides(scenario, {"traffic.visitors": max(1000, visitors // 20)})
    print(f"collector load: eu_shop, {visitors:,} visitors over 7 days, batches of 100, loopback, {os.cpu_count()} cores shared; "
          f"load average {os.getloadavg()[0]:.2f}")

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        t0 = time.perf_counter()
        summary = run_to_sink(scenario, DuckDBSink(tmp / "inproc.duckdb"))
        inproc = summary.truth_events / (time.perf_counter() - t0)
        print(f"\n  in-process (no HTTP) into DuckDB: {summary.truth_events:,} events, {inproc:,.0f} events/s\n")
        print(f"  {'phase':<28}{'accepted':>10}{'events/s':>12}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'lost':>7}{'retried':>9}")
        single = phase("closed, 1 in flight", one_at_a_time, [f"traffic.visitors={one_at_a_time.traffic.visitors}", "traffic.days=7"], tmp, concurrency=1)
        closed = phase(f"closed, {args.concurrency} in flight", scenario, overrides, tmp, concurrency=args.concurrency)
        opened = phase(f"open, {args.rate:,.0f} events/s", scenario, overrides, tmp, rate=args.rate, linger=0.05)

    kept = opened["lost"] == 0 and opened["rate"] >= 0.98 * args.rate
    # The target (issue 13): >= 20,000 events/s offered in the open model, all of it kept, p99 under the
    # delivery plan's 500 ms, nothing lost; and the closed model's capacity at zero loss as high.
    met = closed["lost"] == 0 and closed["rate"] >= 20_000 and kept and opened["p99"] < TELEMENTARY_P99_MS and args.rate >= 20_000
    print(f"""
  capacity at zero loss (closed, {args.concurrency} in flight): {closed['rate']:,.0f} events/s, p99 {closed['p99']:.0f} ms
    = {closed['rate'] / single['rate']:.1f}x one request at a time ({single['rate']:,.0f}), {closed['rate'] / inproc:.2f}x the in-process path ({inproc:,.0f})
  open model offered {args.rate:,.0f} events/s: {opened['rate']:,.0f} sustained (the last answer's latency is inside the window),
    p50 {opened['p50']:.1f} / p95 {opened['p95']:.1f} / p99 {opened['p99']:.1f} ms, lost {opened['lost']}: offered rate {'KEPT' if kept else 'NOT kept'}
  target >= 20,000 events/s offered and kept at zero loss with p99 < {TELEMENTARY_P99_MS:.0f} ms: {'MET' if met else 'NOT MET'}
  Telementary plan: {TELEMENTARY_EVENTS_PER_S:,.0f} events/s with P99 < {TELEMENTARY_P99_MS:.0f} ms; ours {opened['rate'] / TELEMENTARY_EVENTS_PER_S:,.0f}x the rate at P99 {opened['p99']:.0f} ms""")


if __name__ == "__main__":
    main()
