"""Sharded runs on a Dask LocalCluster: events/s with 1 and 2 workers, and the fixed cost each
worker pays before its first chunk (imports, value pools).

In the same run, for ratios: the same scenario in this process into a Parquet run (no Dask). For
each worker count a fresh cluster is timed twice: cold (the run registers the WarmPools plugin,
so every worker builds its pools once, in parallel) and warm (another seed on the same workers,
which now pay nothing up front). The fixed per-worker cost is measured on fresh workers directly
(import of the simulator, then the pools) and as cold minus warm.

    python benchmarks/scale_out.py [--visitors 200000] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("DRCL_HASH_KEY", "5e" * 32)

from distributed import Client, LocalCluster  # noqa: E402

from engine.scenario import apply_overrides, load_preset  # noqa: E402
from simulators.run import run_to_sink  # noqa: E402
from simulators.shards import run_on_dask  # noqa: E402
from simulators.sinks import ParquetSink  # noqa: E402
from simulators.traffic import warm_worker  # noqa: E402


def import_seconds() -> float:
    """Seconds a fresh interpreter takes to import the simulator (a spawned worker re-imports its
    parent's main module, so on a LocalCluster this is paid when the worker starts)."""
    code = "import time; t = time.perf_counter(); import simulators.shards; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(out.stdout)


def cluster(n: int) -> LocalCluster:
    return LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--visitors", type=int, default=200_000)
    ap.add_argument("--workers", default="1,2")
    args = ap.parse_args()
    counts = [int(x) for x in args.workers.split(",")]
    scenario = apply_overrides(load_preset("eu_shop"), {"traffic.visitors": args.visitors})
    print(f"scale-out: eu_shop, {args.visitors:,} visitors, {os.cpu_count()} cores; one shard per worker, one thread each")

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        warm_worker()  # the driver's own pools, so the single-process figure is warm too
        single = run_to_sink(scenario, ParquetSink(tmp / "single"))
        print(f"\n  single process, no Dask:    {single.events_per_second:>10,.0f} events/s ({single.truth_events:,} events in {single.seconds:.1f} s)")

        with cluster(max(counts)) as cl, Client(cl) as client:
            pools = statistics.median(client.run(warm_worker).values())
        imports = import_seconds()
        print(f"  fixed cost per fresh worker: {imports + pools:.2f} s (import {imports:.2f} s + pools {pools:.2f} s)\n")

        print(f"  {'workers':<9}{'cold events/s':>15}{'warm events/s':>15}{'cold - warm s':>15}{'warm vs single':>16}")
        warm_rate: dict[int, float] = {}
        for n in counts:
            with cluster(n) as cl, Client(cl) as client:
                cold = run_on_dask(scenario, tmp / f"cold-{n}", n, client)
                warm = run_on_dask(apply_overrides(scenario, {"seed": scenario.seed + 1}), tmp / f"warm-{n}", n, client)
            warm_rate[n] = warm.events_per_second
            print(f"  {n:<9}{cold.events_per_second:>15,.0f}{warm.events_per_second:>15,.0f}"
                  f"{cold.seconds - warm.seconds:>15.2f}{warm.events_per_second / single.events_per_second:>15.2f}x")
        if 1 in warm_rate and 2 in warm_rate:
            print(f"\n  2 workers / 1 worker (warm): {warm_rate[2] / warm_rate[1]:.2f}x on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
