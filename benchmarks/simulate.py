"""Simulator throughput and memory, with a naive per-event Faker generator as the baseline.

Prints: truth events/s end to end (generate + consent + rails + masking + write) for a run of
at least a million events into a DuckDB file, an in-memory DuckDB and a Parquet folder; the
events/s of generation alone; the peak memory (max RSS) of a 10-million-event CLI run; and, in
the same run, the events/s of a naive generator that calls Faker per event, with the ratios.

    python benchmarks/simulate.py [--events 1000000] [--big-events 10000000] [--skip-big]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("DRCL_HASH_KEY", "5e" * 32)

import duckdb  # noqa: E402
import polars as pl  # noqa: E402
from faker import Faker  # noqa: E402

from engine import store  # noqa: E402
from engine.scenario import apply_overrides, load_preset  # noqa: E402
from simulators import traffic  # noqa: E402
from simulators.run import run_to_sink  # noqa: E402
from simulators.sinks import DuckDBSink, ParquetSink  # noqa: E402


def naive_faker(n_events: int, seed: int = 1) -> tuple[float, float]:
    """Events/s of the obvious loop (Faker called for every field of every event, then one insert),
    wall-clock and per CPU-second."""
    fake = Faker()
    Faker.seed(seed)
    rnd = random.Random(seed)
    events = ["page_view", "view_item", "add_to_cart", "begin_checkout", "purchase"]
    start, cpu = time.perf_counter(), time.process_time()
    rows = []
    for i in range(n_events):
        rows.append({
            "event_id": i,
            "visitor": fake.uuid4(),
            "ts": fake.date_time_this_month(),
            "event": rnd.choice(events),
            "url": fake.uri(),
            "ip": fake.ipv4_public(),
            "user_agent": fake.user_agent(),
            "email": fake.email(),
            "country": fake.country_code(),
            "city": fake.city(),
        })
    con = duckdb.connect()
    con.register("naive_rows", pl.DataFrame(rows))
    con.execute("CREATE TABLE naive AS SELECT * FROM naive_rows")
    return n_events / (time.perf_counter() - start), n_events / (time.process_time() - cpu)


def end_to_end(scenario, sink) -> tuple[float, int, float, float]:
    """Events/s, events, seconds, and events per CPU-second (all threads of this process: a figure
    that other processes on a shared machine disturb much less than wall-clock time)."""
    cpu = time.process_time()
    summary = run_to_sink(scenario, sink)
    return summary.events_per_second, summary.truth_events, summary.seconds, summary.truth_events / (time.process_time() - cpu)


def generation_only(scenario) -> float:
    start = time.perf_counter()
    n = sum(traffic.generate_chunk(scenario, c).events.height for c in range(traffic.n_chunks(scenario)))
    return n / (time.perf_counter() - start)


# The CLI is started by this small process, which prints its child's peak RSS (KiB). Read directly
# in this process, a child's ru_maxrss also counts this process's own resident memory: Python starts
# children with vfork, and Linux carries the parent's high-water mark into the child at exec (seen:
# 2,094 MB reported for a run that peaks at 875 MB, with 2 GB held here; 1,547 MB for the 10M-event
# run after the timed runs, which peaks at about 1,330 MB).
_PEAK_OF_CHILD = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], check=False).returncode
print(f"peak_kib={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
sys.exit(code)
"""


def big_run_peak_rss(visitors: int, days: int, out: Path) -> tuple[float, int, float]:
    """Max RSS (MB) of a CLI process generating a big run into a DuckDB file."""
    cmd = [sys.executable, "-m", "simulators", "generate", "--preset", "stress", "--visitors", str(visitors),
           "--days", str(days), "--out", str(out), "--quiet"]
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _PEAK_OF_CHILD, *cmd], cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"big run failed: {proc.stderr}")
    peak_kib = int(proc.stdout.strip().splitlines()[-1].removeprefix("peak_kib="))
    con = duckdb.connect(str(out), read_only=True)
    n = con.sql("SELECT count(*) FROM truth_events").fetchall()[0][0]
    con.close()
    return peak_kib / 1024, n, seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--big-events", type=int, default=10_000_000)
    ap.add_argument("--naive-events", type=int, default=10_000)
    ap.add_argument("--skip-big", action="store_true")
    args = ap.parse_args()

    base = load_preset("eu_shop")
    # Calibrate visitors -> events on a small run, then size the timed run to >= --events.
    probe = traffic.generate_chunk(apply_overrides(base, {"traffic.visitors": 20_000}), 0)
    per_visitor = probe.events.height / probe.visitors.height
    visitors = int(args.events / per_visitor * 1.02) + 1
    scenario = apply_overrides(base, {"traffic.visitors": visitors})
    print(f"machine: {os.cpu_count()} cores; polars {pl.__version__}, duckdb {duckdb.__version__}")
    print(f"run: preset eu_shop, {visitors:,} visitors, {scenario.traffic.days} days ({per_visitor:.2f} events per visitor)")

    gen = generation_only(scenario)
    print(f"generation only (truth, no rails, no write): {gen:,.0f} events/s")

    with tempfile.TemporaryDirectory() as tmp:
        eps_file, n, sec, cpu_file = end_to_end(scenario, DuckDBSink(Path(tmp) / "bench.duckdb"))
        print(f"end to end -> DuckDB file:      {eps_file:,.0f} truth events/s ({n:,} events in {sec:.1f} s; {cpu_file:,.0f} per CPU-second)")
        eps_pq, n, sec, cpu_pq = end_to_end(scenario, ParquetSink(Path(tmp) / "runs"))
        print(f"end to end -> Parquet run:      {eps_pq:,.0f} truth events/s ({n:,} events in {sec:.1f} s; {cpu_pq:,.0f} per CPU-second)")

        class MemorySink(DuckDBSink):
            def open(self, sc):  # same writes, in-memory database
                self.run_id = sc.run_id
                self.con = store.connect(":memory:")
                self.con.execute("BEGIN TRANSACTION")  # as DuckDBSink: the run is one transaction

            def close(self, sc, counts):
                self.con.execute("COMMIT")
                self.con.close()

        eps_mem, n, sec, _ = end_to_end(scenario, MemorySink(Path(tmp) / "unused.duckdb"))
        print(f"end to end -> in-memory DuckDB: {eps_mem:,.0f} truth events/s ({n:,} events in {sec:.1f} s)")

        naive, naive_cpu = naive_faker(args.naive_events)
        print(f"naive per-event Faker loop:     {naive:,.0f} events/s ({args.naive_events:,} events; {naive_cpu:,.0f} per CPU-second)")
        print(f"ratio (DuckDB file / naive):    {eps_file / naive:,.0f}x  (per CPU-second: {cpu_file / naive_cpu:,.0f}x)")
        print(f"ratio (Parquet run / naive):    {eps_pq / naive:,.0f}x  (per CPU-second: {cpu_pq / naive_cpu:,.0f}x)")
        print(f"target 1,000,000 events/s end to end: {'met' if eps_file >= 1e6 else 'NOT met'} "
              f"({eps_file / 1e6:.2f}x of target)")

        if not args.skip_big:
            big_visitors = int(args.big_events / (per_visitor * 1.0) * 1.02) + 1
            peak_mb, n, sec = big_run_peak_rss(big_visitors, 7, Path(tmp) / "big.duckdb")
            print(f"peak memory, {n:,}-event run to DuckDB: {peak_mb:,.0f} MB max RSS ({sec:.0f} s, {n / sec:,.0f} events/s)")
            print(f"target < 1,500 MB: {'met' if peak_mb < 1500 else 'NOT met'}")


if __name__ == "__main__":
    main()
