"""Time the Profiles page on the default preset's run, through AppTest: cold (the app opens on the
Overview, which already computes the default run; the page then computes the everyone-consents run
and three fits) and warm (reruns served from the cache); plus the engine's three fits on their own.

Run: PYTHONPATH=. .venv/bin/python benchmarks/profiles.py
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import polars as pl
from streamlit.testing.v1 import AppTest

from engine import profiles
from engine.scenario import DEFAULT_PRESET, load_preset
from simulators.run import build_run
from simulators.traffic import generate_traffic
from ui.services.profiles import everyone_consents

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGE = "app_pages/profiles.py"


def page_seconds() -> tuple[float, list[float]]:
    at = AppTest.from_file(APP, default_timeout=600).run()
    t0 = time.perf_counter()
    at.switch_page(PAGE).run()
    cold = time.perf_counter() - t0
    assert not at.exception, at.exception
    warm = []
    for _ in range(3):
        t0 = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - t0)
    return cold, warm


def engine_seconds() -> dict[str, float]:
    scenario = load_preset(DEFAULT_PRESET)
    traffic = generate_traffic(scenario)
    run, full = build_run(scenario, traffic), build_run(everyone_consents(scenario), traffic)
    inputs = {"fullstack": (profiles.fullstack_keys(run["fullstack_events"]), run),
              "everyone": (profiles.fullstack_keys(full["fullstack_events"]), full),
              "baseline": (profiles.baseline_keys(run["baseline_events"]), run)}
    out = {}
    for name, (rows, t) in inputs.items():
        t0 = time.perf_counter()
        r = profiles.profile(name, rows, t["truth_events"], t["visitors"], scenario.seed)
        out[name] = time.perf_counter() - t0
        print(f"  {name:9s}: {r.profiles:,} profiles, {r.share_profiled:.1%} of visitors profiled, "
              f"accuracy {r.accuracy:.1%} (majority guess {r.majority:.1%}), fit {out[name]:.2f}s")
    return out


def main() -> None:
    print(f"cpus={os.cpu_count()} polars={pl.__version__} load={os.getloadavg()[0]:.1f}")
    print("engine, default preset:")
    engine_seconds()
    cold, warm = page_seconds()
    print(f"page cold (default run cached by the Overview): {cold:.2f}s; warm reruns: {', '.join(f'{w:.2f}' for w in warm)}s (best {min(warm):.2f}s)")


if __name__ == "__main__":
    main()
