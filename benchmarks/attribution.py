"""Benchmark engine.attribution.credit on 1M conversions and 5M touches against the plain reference.

Run: .venv/bin/python benchmarks/attribution.py [n_conversions] [n_touches]
Each model runs on the full random data (best of 3), then `credit` and the per-conversion reference
(`engine/attribution_reference.py`) run on the same small sample, must agree, and the ratio is printed.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import sys
import time

import numpy as np
import polars as pl

from engine.attribution import MODELS, credit
from engine.attribution_reference import reference_credit

N_CONV = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
N_TOUCH = int(sys.argv[2]) if len(sys.argv) > 2 else 5_000_000
N_JOURNEYS = N_CONV  # about one conversion and five touches per journey
CHANNELS = ["direct", "email", "organic", "paid", "referral", "social"]
SPAN_S = 90 * 86_400  # timestamps over 90 days, so the 30-day lookback cuts some touches out
SAMPLE_JOURNEYS = 20_000
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def make_data(seed: int = 11) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    as_ts = pl.lit(START).dt.replace_time_zone(None)

    def frame(n: int, last: str, values: object) -> pl.DataFrame:
        return pl.DataFrame({"journey_id": rng.integers(0, N_JOURNEYS, n, dtype=np.int64),
                             "s": rng.integers(0, SPAN_S, n, dtype=np.int64), last: values}).select(
            "journey_id", (as_ts + pl.duration(seconds=pl.col("s"))).alias("ts"), last)

    touches = frame(N_TOUCH, "channel", pl.Series(np.array(CHANNELS)[rng.integers(0, len(CHANNELS), N_TOUCH)]))
    conversions = frame(N_CONV, "value", rng.lognormal(math.log(62.0), 0.6, N_CONV))
    return touches, conversions


def main() -> None:
    print(f"cpus={os.cpu_count()} polars={pl.__version__} polars_threads={pl.thread_pool_size()}")
    touches, conversions = make_data()
    total = float(conversions["value"].sum())
    print(f"credit: {conversions.height:,} conversions, {touches.height:,} touches, {N_JOURNEYS:,} journeys, 30-day lookback")
    for model in MODELS:
        runs, cpu = [], []
        for _ in range(3):
            t0, c0 = time.perf_counter(), time.process_time()
            out = credit(touches, conversions, model)
            runs.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        assert math.isclose(float(out["credit"].sum()), total, rel_tol=1e-9), model
        # CPU seconds (all threads) beside wall seconds: on a shared machine the wall clock also
        # counts the time other processes hold the cores.
        print(f"  {model:15s} runs (s): {', '.join(f'{r:.2f}' for r in runs)}; best {min(runs):.2f}s wall, "
              f"{min(cpu):.2f}s CPU; load average {os.getloadavg()[0]:.1f}")

    st, sc = (f.filter(pl.col("journey_id") < SAMPLE_JOURNEYS) for f in (touches, conversions))
    for model in ("position_based", "time_decay"):
        t0 = time.perf_counter()
        expected = reference_credit(st.rows(), sc.rows(), model)
        ref_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        fast = dict(credit(st, sc, model).iter_rows())
        fast_s = time.perf_counter() - t0
        assert fast.keys() == expected.keys() and all(math.isclose(fast[k], expected[k], rel_tol=1e-9) for k in fast), model
        print(f"  sample {sc.height:,} conversions / {st.height:,} touches, {model}: reference {ref_s:.2f}s, "
              f"credit {fast_s:.3f}s, {ref_s / fast_s:,.0f}x faster; results agree")


if __name__ == "__main__":
    main()
