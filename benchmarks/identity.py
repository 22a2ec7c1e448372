"""Time the Identity page on the default run through AppTest and the app frame: cold (its scores
computed; the run itself is simulated by the Overview the app opens on, timed apart) and warm
(cached), plus the engine's scores alone.

Run: PYTHONPATH=. .venv/bin/python benchmarks/identity.py
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from engine import identity
from engine.scenario import DEFAULT_PRESET, load_preset
from simulators.run import build_run
from simulators.traffic import generate_traffic

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGE = "app_pages/identity.py"
WARM_RUNS = 3


def main() -> None:
    print(f"cpus={os.cpu_count()}")
    t0 = time.perf_counter()
    at = AppTest.from_file(APP, default_timeout=300).run()  # the default page simulates the default run
    start = time.perf_counter() - t0
    t0 = time.perf_counter()
    at.switch_page(PAGE).run()
    cold = time.perf_counter() - t0
    assert not at.exception, at.exception
    warm = []
    for _ in range(WARM_RUNS):
        t0 = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - t0)
    print(f"Identity page, default run ({load_preset(DEFAULT_PRESET).traffic.visitors:,} visitors):")
    print(f"  app start on the Overview (simulates the run): {start:.2f} s")
    print(f"  Identity cold {cold:.2f} s (scores computed, run cached); warm {', '.join(f'{w:.2f}' for w in warm)} s (best {min(warm):.2f})")

    s = load_preset(DEFAULT_PRESET)
    tables = build_run(s, generate_traffic(s))
    for fp in (False, True):
        t0 = time.perf_counter()
        identity.identity_scores(tables, measure_fingerprinting=fp)
        identity.cross_device(tables, measure_fingerprinting=fp)
        identity.cookie_splits(tables)
        print(f"  engine only, fingerprinting={fp}: {time.perf_counter() - t0:.3f} s")


if __name__ == "__main__":
    main()
