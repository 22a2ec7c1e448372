"""What second devices cost the simulator: the default preset's truth drawn with the cross-device
people of datasets/population.toml and without them (share 0, the baseline), in the same run.

Run: PYTHONPATH=. .venv/bin/python benchmarks/second_devices.py
"""

from __future__ import annotations

import os
import time

from engine.scenario import DEFAULT_PRESET, load_preset
from simulators import traffic

REPEATS = 7


def _time(scenario) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    t = traffic.generate_traffic(scenario)
    return time.perf_counter() - t0, t.visitors.height, t.visitors["person_id"].n_unique()


def main() -> None:
    print(f"cpus={os.cpu_count()}")
    scenario = load_preset(DEFAULT_PRESET)
    pop = dict(traffic._population())
    original = traffic._population
    one_device = pop | {"cross_device": pop["cross_device"] | {"second_device_share": 0.0}}
    _time(scenario)  # pools and lookup tables built once, outside the timings
    with_, without = [], []
    for _ in range(REPEATS):  # alternated, so a busy moment on a shared machine hits both
        with_.append(_time(scenario))
        traffic._population = lambda: one_device  # type: ignore[method-assign]
        try:
            without.append(_time(scenario))
        finally:
            traffic._population = original  # type: ignore[method-assign]
    w, b = min(with_), min(without)
    print(f"default preset ({scenario.traffic.visitors:,} visitors), best of {REPEATS} alternated runs:")
    print(f"  without second devices (baseline): {b[0]:.3f} s, {b[1]:,} browsers")
    print(f"  with second devices: {w[0]:.3f} s, {w[1]:,} browsers for {w[2]:,} people")
    print(f"  ratio: {w[0] / b[0]:.2f}x")


if __name__ == "__main__":
    main()
