"""Benchmark engine.funnel.window_funnel on 10M random events against the pure-Python oracle.

Run: .venv/bin/python benchmarks/funnel.py [n_events]
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import polars as pl

from engine.funnel import window_funnel
from engine.funnel_reference import reference_levels

N_EVENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
N_USERS = 1_000_000
NAMES = ["view", "signup", "consent", "verify", "purchase", "logout"]
STEPS = ["view", "signup", "consent", "purchase"]
WINDOW = 86_400  # one day, over a week of timestamps
SUBSET_USERS = 20_000  # ~200k events for the reference run


def make_events(n: int, seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "user_id": rng.integers(0, N_USERS, n, dtype=np.int64),
            "ts": rng.integers(0, 7 * 86_400, n, dtype=np.int64),
            "event": pl.Series(np.array(NAMES)[rng.integers(0, len(NAMES), n)]),
        }
    )


def main() -> None:
    print(f"cpus={os.cpu_count()} polars={pl.__version__} polars_threads={pl.thread_pool_size()}")
    events = make_events(N_EVENTS)
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        result = window_funnel(events, STEPS, WINDOW)
        runs.append(time.perf_counter() - t0)
    best = min(runs)
    print(f"window_funnel: {N_EVENTS:,} events, {result.height:,} users, {len(STEPS)} steps")
    print(f"  runs (s): {', '.join(f'{r:.2f}' for r in runs)}; best {best:.2f}s = {N_EVENTS / best:,.0f} events/s")
    print("  level counts:", dict(sorted(result.group_by("level").len().iter_rows())))

    subset = events.filter(pl.col("user_id") < SUBSET_USERS)
    rows = subset.rows()
    t0 = time.perf_counter()
    expected = reference_levels(rows, STEPS, WINDOW)
    ref_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    fast = window_funnel(subset, STEPS, WINDOW)
    fast_sub_s = time.perf_counter() - t0
    assert dict(zip(fast["user_id"], fast["level"])) == expected, "fast result differs from oracle"
    ref_rate = subset.height / ref_s
    print(f"reference oracle: {subset.height:,} events in {ref_s:.2f}s = {ref_rate:,.0f} events/s")
    print(f"  window_funnel on same subset: {fast_sub_s:.3f}s (results identical)")
    print(f"  speed ratio (events/s, 10M fast vs subset reference): {N_EVENTS / best / ref_rate:,.0f}x")


if __name__ == "__main__":
    main()
