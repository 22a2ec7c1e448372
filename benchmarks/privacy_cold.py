"""The Privacy leaks step's first computation (issue 10's room target): seconds per cached service
when the page opens on a scenario whose run is already computed (the room's previous step computed
it), with nothing else of the page cached.

Each repeat uses a new seed, so every service is cold (the run itself is computed first, untimed).
Times are the process's CPU seconds (all threads; what a shared machine's load changes least) and
wall seconds. `--baseline-ref REF` measures REF's files (`git archive` into a temporary directory,
a process of its own) and this tree in turns, one repeat each, and prints the ratios. This tree also measures the page's services after a
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


def _page(privacy, scenario) -> dict[str, list[float]]:  # type: ignore[no-untyped-def]
    """[CPU s, wall s] per service, in the page's order, with the page's arguments."""
    out = {}

    def timed(name, fn):  # type: ignore[no-untyped-def]
        cpu, wall = time.process_time(), time.perf_counter()
        value = fn()
        out[name] = [time.process_time() - cpu, time.perf_counter() - wall]
        return value

    timed("fingerprints", lambda: privacy.fingerprints(scenario))
    timed("quasi_identifiers", lambda: privacy.quasi_identifiers(scenario))
    timed("linkability", lambda: privacy.linkability(scenario))
    timed("population_curves", lambda: privacy.population_curves(scenario, privacy.CURVE_BROWSERS[0]))
    options = timed("visitor_options", lambda: privacy.visitor_options(scenario))
    timed("rarity", lambda: privacy.rarity(scenario, next(iter(options))))
    return out


def measure(repeats: int, warmed: bool, first_seed: int = 1000) -> dict[str, list[dict[str, list[float]]]]:
    from engine.scenario import DEFAULT_PRESET, apply_overrides, load_preset
    from ui.services import privacy, simulation

    out: dict[str, list[dict[str, list[float]]]] = {"cold": [], "warmed": []}
    for i in range(repeats):
        scenario = apply_overrides(load_preset(DEFAULT_PRESET), {**STEP, "seed": first_seed + i})
        simulation.run(scenario)  # the previous step's
        out["cold"].append(_page(privacy, scenario))
    if warmed:
        from ui.rooms import warm
        from ui.rooms.store import RoomState

        for i in range(repeats):
            scenario = apply_overrides(load_preset(DEFAULT_PRESET), {**STEP, "seed": first_seed + 1000 + i})
            simulation.run(scenario)
            warmer = warm.Warmer(delay_s=0)
            warm.warm_next(RoomState(scenario=scenario.canonical_json(), preset=DEFAULT_PRESET, page="live", params={}), warmer)
            assert warmer.thread is not None
            warmer.thread.join()
            out["warmed"].append(_page(privacy, scenario))
    return out


def _process(root: Path, repeats: int, first_seed: int, warmed: bool) -> dict[str, list[dict[str, list[float]]]]:
    """One measurement in a process of its own (fresh caches) on the files under `root`."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--json", "--repeats", str(repeats), "--first-seed", str(first_seed)]
    res = subprocess.run(cmd + (["--warmed"] if warmed else []), cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
                         check=True, capture_output=True, text=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def _median(runs: list[dict[str, list[float]]], name: str, which: int) -> float:
    if name == "all":
        return statistics.median(sum(v[which] for v in r.values()) for r in runs)
    return statistics.median(r[name][which] for r in runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--baseline-ref", default=None, help="git ref to measure in turns with this tree, in its own process")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--warmed", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--first-seed", type=int, default=1000, help=argparse.SUPPRESS)
    args = ap.parse_args()
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    if args.json:
        print(json.dumps(measure(args.repeats, warmed=args.warmed, first_seed=args.first_seed)))
        return
    load = os.getloadavg()[0]
    before: list[dict[str, list[float]]] = []
    after: dict[str, list[dict[str, list[float]]]] = {"cold": [], "warmed": []}
    with tempfile.TemporaryDirectory(prefix="drcl-privacy-cold-") as tmp:
        if args.baseline_ref:
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", args.baseline_ref], check=True,
                                     capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        for i in range(args.repeats):  # in turns: a change in the machine's load falls on both
            if args.baseline_ref:
                before += _process(Path(tmp), 1, 1000 + i, warmed=False)["cold"]
            mine = _process(ROOT, 1, 1000 + i, warmed=True)
            after["cold"] += mine["cold"]
            after["warmed"] += mine["warmed"]
    print(f"privacy_cold: the Privacy leaks step's services on a computed run, median of {args.repeats} cold repeats "
          f"(fresh processes{', in turns with ' + args.baseline_ref if before else ''}), {os.cpu_count()} cores, "
          f"load average {load:.1f} at start, {os.getloadavg()[0]:.1f} at end")
    print(f"{'service':<20}" + (f"{'before CPU s':>14}" if before else "") + f"{'after CPU s':>13}" + (f"{'ratio':>8}" if before else "")
          + (f"{'before wall s':>15}" if before else "") + f"{'after wall s':>14}" + f"{'after warm-up, wall s':>23}")
    for name in (*SERVICES, "all"):
        line = f"{name:<20}"
        a_cpu, a_wall, w_wall = _median(after["cold"], name, 0), _median(after["cold"], name, 1), _median(after["warmed"], name, 1)
        if before:
            b_cpu, b_wall = _median(before, name, 0), _median(before, name, 1)
            line += f"{b_cpu:>14.3f}{a_cpu:>13.3f}{b_cpu / a_cpu:>7.2f}x{b_wall:>15.3f}{a_wall:>14.3f}"
        else:
            line += f"{a_cpu:>13.3f}{a_wall:>14.3f}"
        print(line + f"{w_wall:>23.4f}")


if __name__ == "__main__":
    main()
