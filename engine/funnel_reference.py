"""The slow reference implementation of `engine.funnel.window_funnel`, for tests and benchmarks.

A plain per-user brute force over every chain of events: obviously correct, exponential in the
worst case, and meant only as an oracle (`tests/test_funnel.py` checks `window_funnel` against it
on generated inputs; `benchmarks/funnel.py` checks a subset of its 10 million events and reports
the speed ratio). Nothing in the app or the pipeline calls it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence


def reference_levels(
    rows: Iterable[tuple[Hashable, float | None, str | None]], steps: Sequence[str], window: float
) -> dict[Hashable, int]:
    """REFERENCE ORACLE (slow, obviously correct): brute-force every chain of distinct events.

    A chain is distinct events e1..eK with event(ek) == steps[k], non-decreasing ts and
    ts(eK) - ts(e1) <= window; a user's level is the longest chain (0 without a step-1 event).
    """
    by_user: dict[Hashable, list[tuple[float, str]]] = defaultdict(list)
    levels: dict[Hashable, int] = {}
    for user, ts, event in rows:
        levels[user] = 0
        if ts is not None and event is not None:
            by_user[user].append((ts, event))
    for user, evs in by_user.items():
        best = 0

        def extend(k: int, start: float, prev: float, used: frozenset[int]) -> None:
            nonlocal best
            best = max(best, k)
            if k == len(steps) or best == len(steps):
                return
            for i, (t, e) in enumerate(evs):  # noqa: B023 (called only within this iteration)
                if i not in used and e == steps[k] and prev <= t and t - start <= window:
                    extend(k + 1, start, t, used | {i})

        for i, (t, e) in enumerate(evs):
            if e == steps[0]:
                extend(1, t, t, frozenset({i}))
        levels[user] = best
    return levels
