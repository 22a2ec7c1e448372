"""Benchmark engine.bandit.simulate: 100,000 rounds of Thompson sampling over 3 arms (target < 1 s),
against a naive per-round loop that calls numpy's beta sampler every round, in the same run.

Run: .venv/bin/python benchmarks/bandit.py [rounds]
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable

import numpy as np

from engine import bandit
from engine.scenario import load_preset

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
RATES = [0.05, 0.10, 0.30]
TARGET_S = 1.0


def naive_thompson(rates: list[float], rounds: int, seed: int, floor: int) -> np.ndarray:
    """The textbook loop: per round, one np.random beta call per arm vector, no precomputed draws."""
    rng = np.random.default_rng(seed)
    wins, losses = np.zeros(len(rates)), np.zeros(len(rates))
    true = np.asarray(rates)
    arms = np.empty(rounds, dtype=np.int64)
    for t in range(rounds):
        n = wins + losses
        if n.min() < floor:
            under = np.flatnonzero(n < floor)
            a = int(under[rng.integers(len(under))])
        else:
            a = int(rng.beta(1 + wins, 1 + losses).argmax())
        r = rng.random() < true[a]
        wins[a] += r
        losses[a] += 1 - r
        arms[t] = a
    return arms


def best_of(fn: Callable[[], object], repeats: int = 3) -> tuple[float, list[float], object]:
    runs, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        runs.append(time.perf_counter() - t0)
    return min(runs), runs, out


def main() -> None:
    print(f"cpus={os.cpu_count()} numpy={np.__version__} rounds={ROUNDS:,} arms={len(RATES)} rates={RATES}")
    floor = bandit.exploration_floor()
    fast, fast_runs, frame = best_of(lambda: bandit.simulate("thompson", RATES, ROUNDS, 1))
    naive, naive_runs, arms = best_of(lambda: naive_thompson(RATES, ROUNDS, 1, floor))
    naive_regret = float((max(RATES) - np.asarray(RATES)[arms]).sum())
    verdict = "meets" if fast < TARGET_S else "MISSES"
    print(f"engine.bandit.simulate('thompson'): runs (s) {', '.join(f'{r:.3f}' for r in fast_runs)}; best {fast:.3f}s "
          f"= {ROUNDS / fast:,.0f} rounds/s; {verdict} the {TARGET_S:.0f} s target; cumulative regret {frame['regret'].sum():.1f}")
    print(f"naive per-round np.random beta loop:  runs (s) {', '.join(f'{r:.3f}' for r in naive_runs)}; best {naive:.3f}s "
          f"= {ROUNDS / naive:,.0f} rounds/s; cumulative regret {naive_regret:.1f}")
    print(f"speed-up: {naive / fast:.1f}x")
    for policy in ("uniform", "epsilon_greedy", "ucb1"):
        t, _, _ = best_of(lambda p=policy: bandit.simulate(p, RATES, ROUNDS, 1))
        print(f"  {policy:<15} best of 3: {t:.3f}s")
    t, _, _ = best_of(lambda: bandit.simulate("thompson", RATES, ROUNDS, 1, rail="fullstack", observe=0.35))
    print(f"  thompson, full-stack rail (observe 0.35): {t:.3f}s")
    t, _, _ = best_of(lambda: bandit.simulate("thompson", RATES, ROUNDS, 1, rail="baseline", day_length=ROUNDS // 7))
    print(f"  thompson, baseline rail (7 daily reports): {t:.3f}s")
    page_settings()


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def page_settings() -> None:
    """CPU seconds of one new Copy tests setting (the page's seven tests: every policy on the full stack,
    the compared policy on the two other rails) at the default, the learner's largest and the presenter's
    largest setting, on the default preset's problem (target: learner's largest under 5 s)."""
    from simulators.run import build_run
    from ui.limits import LEARNER_ROUNDS, LEARNER_WORK

    prob = bandit.problem(bandit.visitor_types(build_run(load_preset("eu_shop"))))
    learner = (LEARNER_ROUNDS, max(2, LEARNER_WORK // LEARNER_ROUNDS))
    cases = {"default (10,000 x 8 seeds)": (10_000, 8), f"learner's largest ({learner[0]:,} x {learner[1]})": learner,
             "presenter's largest (100,000 x 20)": (100_000, 20)}
    costs = {}
    for name, (rounds, seeds) in cases.items():
        start = _cpu()
        for policy in bandit.POLICIES:
            bandit.summary(prob, policy, "fullstack", rounds, seeds, bandit.CONTEXTS[0], 1)
        for rail in ("truth", "baseline"):
            bandit.summary(prob, bandit.POLICIES[3], rail, rounds, seeds, bandit.CONTEXTS[0], max(1, rounds // 7))
        costs[name] = _cpu() - start
    base = costs[next(iter(costs))]
    print("one new Copy tests setting (7 tests), CPU seconds:")
    for name, c in costs.items():
        print(f"  {name:<36} {c:6.2f} s  ({c / base:.1f}x the default)")


if __name__ == "__main__":
    main()
