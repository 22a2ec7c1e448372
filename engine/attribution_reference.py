"""The slow reference implementation of `engine.attribution.credit`, for tests and benchmarks.

Plain Python, one conversion at a time, written straight from the rules: obviously correct and
meant only as an oracle (`tests/test_attribution.py` checks `credit` against it on random data;
`benchmarks/attribution.py` reports the speed ratio). Nothing in the app calls it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Hashable, Iterable

NONE_CHANNEL = "(none)"
Ts = dt.datetime | int | float


def _days(later: Ts, earlier: Ts) -> float:
    if isinstance(later, dt.datetime) and isinstance(earlier, dt.datetime):
        return (later - earlier) / dt.timedelta(days=1)
    assert not isinstance(later, dt.datetime) and not isinstance(earlier, dt.datetime)
    return (later - earlier) / 86_400.0


def reference_credit(
    touches: Iterable[tuple[Hashable, Ts, str]],
    conversions: Iterable[tuple[Hashable, Ts, float]],
    model: str,
    lookback_days: float = 30,
    half_life_days: float = 7.0,
) -> dict[str, float]:
    """REFERENCE ORACLE: channel -> credit, from (journey, ts, channel) and (journey, ts, value) rows."""
    by_journey: dict[Hashable, list[tuple[Ts, str]]] = defaultdict(list)
    for journey, ts, channel in touches:
        by_journey[journey].append((ts, channel))
    out: dict[str, float] = defaultdict(float)
    for journey, cts, value in conversions:
        value = value or 0.0
        window = sorted((t, c) for t, c in by_journey.get(journey, []) if 0 <= _days(cts, t) <= lookback_days)
        n = len(window)
        if n == 0:
            out[NONE_CHANNEL] += value
            continue
        if model == "first_touch":
            weights = [1.0] + [0.0] * (n - 1)
        elif model == "last_touch":
            weights = [0.0] * (n - 1) + [1.0]
        elif model == "linear":
            weights = [1.0 / n] * n
        elif model == "position_based":
            if n == 1:
                weights = [1.0]
            elif n == 2:
                weights = [0.5, 0.5]
            else:
                weights = [0.4] + [0.2 / (n - 2)] * (n - 2) + [0.4]
        elif model == "time_decay":
            raw = [2.0 ** (-_days(cts, t) / half_life_days) for t, _ in window]
            weights = [r / sum(raw) for r in raw]
        else:
            raise ValueError(model)
        for (_, channel), w in zip(window, weights, strict=True):
            out[channel] += value * w
    return dict(out)
