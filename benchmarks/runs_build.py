"""How long the Runs page's Build takes for a few sizes (the default preset, the page's default days):
the figure behind the page's default build size (ui.services.runs.DEFAULT_BUILD_VISITORS), which a
2-core machine must finish in under a minute.

Prints, per size: wall seconds, truth events/s, and the seconds per 100,000 visitors as a ratio to the
smallest size measured in the same run (how linear the build is); then the largest size that fits in
60 s by that rate, against the default.

    python benchmarks/runs_build.py [--sizes 25000 100000 200000] [--days 7]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DRCL_HASH_KEY", "5e" * 32)

from engine.scenario import DEFAULT_PRESET, apply_overrides, load_preset  # noqa: E402
from simulators.run import run_to_sink  # noqa: E402
from simulators.sinks import ParquetSink  # noqa: E402
from ui.services.runs import DEFAULT_BUILD_DAYS, DEFAULT_BUILD_VISITORS  # noqa: E402


def build_seconds(visitors: int, days: int) -> tuple[float, int]:
    scenario = apply_overrides(load_preset(DEFAULT_PRESET), {"traffic.visitors": visitors, "traffic.days": days})
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = run_to_sink(scenario, ParquetSink(Path(tmp)))
        return time.perf_counter() - start, summary.truth_events


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", type=int, nargs="+", default=[25_000, DEFAULT_BUILD_VISITORS, 2 * DEFAULT_BUILD_VISITORS])
    p.add_argument("--days", type=int, default=DEFAULT_BUILD_DAYS)
    args = p.parse_args()
    build_seconds(2_000, 1)  # warm-up: imports, pools and first compilations, so the sizes compare like for like
    per_100k: list[float] = []
    for visitors in sorted(args.sizes):
        seconds, events = build_seconds(visitors, args.days)
        per_100k.append(seconds / visitors * 100_000)
        print(f"{visitors:>10,} visitors x {args.days} days: {seconds:6.1f} s, {events:>11,} truth events, "
              f"{events / seconds:>10,.0f} events/s, {per_100k[-1]:.1f} s per 100k visitors "
              f"(x{per_100k[-1] / per_100k[0]:.2f} of the smallest size's rate)")
    fits = int(60 / per_100k[-1] * 100_000)
    print(f"at the largest size's rate, 60 s builds about {fits:,} visitors; the page's default is "
          f"{DEFAULT_BUILD_VISITORS:,} ({DEFAULT_BUILD_VISITORS / fits:.0%} of that)")


if __name__ == "__main__":
    main()
