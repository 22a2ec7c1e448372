"""The Privacy leaks step's first computation (issue 10's room target): seconds per cached service
when the page opens on a scenario whose run is already computed (the room's previous step computed
it), with nothing else of the page cached.

Each repeat uses a new seed, so every service is cold (the run itself is computed first, untimed).
`--baseline-ref REF` measures REF's files first (`git archive` into a temporary directory, its own
process), then this tree, and prints the ratio. This tree also measures the page's services after a
room's warm-up computed them (ui.rooms.warm): what the presenter's click on Next then costs.

    PYTHONPATH=. .venv/bin/python -m benchmarks.privacy_cold [--repeats 3] [--baseline-ref HEAD~1]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)  # run by path (the baseline's process): the app's modules, not this folder's, come first
os.environ.setdefault("DRCL_HASH_KEY", "5e" * 32)
os.environ.setdefault("DRCL_RUNS_DIR", tempfile.mkdtemp(prefix="drcl-bench-runs-"))

# The room benchmark's Privacy leaks step (benchmarks/classroom.py LESSON).
STEP = {"consent.banner": "reject_second_layer", "consent.decision_share": 0.8}
SERVICES = ("fingerprints", "quasi_identifiers", "linkability", "population_curves", "visitor_options", "rarity")


def _page(privacy, scenario) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Seconds per service, in the page's order, with the page's arguments."""
    out = {}

    def timed(name, fn):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        value = fn()
        out[name] = time.perf_counter() - start
        return value

    timed("fingerprints", lambda: privacy.fingerprints(scenario))
    timed("quasi_identifiers", lambda: privacy.quasi_identifiers(scenario))
    timed("linkability", lambda: privacy.linkability(scenario))
    timed("population_curves", lambda: privacy.population_curves(scenario, privacy.CURVE_BROWSERS[0]))
    options = timed("visitor_options", lambda: privacy.visitor_options(scenario))
    timed("rarity", lambda: privacy.rarity(scenario, next(iter(options))))
    return out


def measure(repeats: int, warmed: bool) -> dict[str, list[dict[str, float]]]:
    from engine.scenario import DEFAULT_PRESET, apply_overrides, load_preset
    from ui.services import privacy, simulation

    out: dict[str, list[dict[str, float]]] = {"cold": [], "warmed": []}
    for i in range(repeats):
        scenario = apply_overrides(load_preset(DEFAULT_PRESET), {**STEP, "seed": 1000 + i})
        simulation.run(scenario)  # the previous step's
        out["cold"].append(_page(privacy, scenario))
    if warmed:
        from ui.rooms import warm
        from ui.rooms.store import RoomState

        for i in range(repeats):
            scenario = apply_overrides(load_preset(DEFAULT_PRESET), {**STEP, "seed": 2000 + i})
            simulation.run(scenario)
            warmer = warm.Warmer(delay_s=0)
            warm.warm_next(RoomState(scenario=scenario.canonical_json(), preset=DEFAULT_PRESET, page="live", params={}), warmer)
            assert warmer.thread is not None
            warmer.thread.join()
            out["warmed"].append(_page(privacy, scenario))
    return out


def baseline(ref: str, repeats: int) -> dict[str, list[dict[str, float]]]:
    with tempfile.TemporaryDirectory(prefix="drcl-privacy-cold-") as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", ref], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--json", "--repeats", str(repeats)]
        res = subprocess.run(cmd, cwd=tmp, env={**os.environ, "PYTHONPATH": tmp}, check=True, capture_output=True, text=True)
        return json.loads(res.stdout.strip().splitlines()[-1])


def _median(runs: list[dict[str, float]], name: str) -> float:
    return statistics.median(r[name] for r in runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--baseline-ref", default=None, help="git ref to measure first, in its own process")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    if args.json:
        print(json.dumps(measure(args.repeats, warmed=False)))
        return
    load = os.getloadavg()[0]
    before = baseline(args.baseline_ref, args.repeats) if args.baseline_ref else None
    after = measure(args.repeats, warmed=True)
    print(f"privacy_cold: the Privacy leaks step's services on a computed run, median of {args.repeats} cold repeats, "
          f"{os.cpu_count()} cores, load average {load:.1f} at start, {os.getloadavg()[0]:.1f} at end")
    head = f"{'service':<20}" + (f"{'before s':>10}" if before else "") + f"{'after s':>10}" + (f"{'ratio':>8}" if before else "")
    print(head + f"{'after warm-up s':>17}")
    rows = [*SERVICES, "all"]
    for name in rows:
        def med(runs: list[dict[str, float]], name: str = name) -> float:
            return statistics.median(sum(r.values()) for r in runs) if name == "all" else _median(runs, name)
        a, w = med(after["cold"]), med(after["warmed"])
        line = f"{name:<20}"
        if before:
            b = med(before["cold"])
            line += f"{b:>10.3f}{a:>10.3f}{b / a:>7.2f}x"
        else:
            line += f"{a:>10.3f}"
        print(line + f"{w:>17.4f}")


if __name__ == "__main__":
    main()
