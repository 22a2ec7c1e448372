"""The learner's run budget: the clamp itself, and the sidebar applying it to a URL (the attack that
kept 1.4 GB per scenario: ?traffic.visitors=200000&traffic.days=90&seed=N)."""

from __future__ import annotations

import pytest
from apptest_helpers import open_advanced
from streamlit.testing.v1 import AppTest

from engine.budget import Budget, clamp
from engine.scenario import apply_overrides, load_preset

LEARNER = Budget()


@pytest.mark.parametrize(("visitors", "days", "want"), [
    (20_000, 7, (20_000, 7)),  # inside: unchanged
    (200_000, 90, (33_333, 30)),  # days first, then visitors to fit the product
    (100_000, 10, (100_000, 10)),  # exactly the product limit
    (150_000, 5, (100_000, 5)),  # visitor cap
    (60_000, 30, (33_333, 30)),  # product cap
])
def test_clamp_keeps_runs_inside_the_budget(visitors, days, want):
    s = apply_overrides(load_preset("eu_shop"), {"traffic.visitors": visitors, "traffic.days": days})
    out, notes = clamp(s, LEARNER)
    assert (out.traffic.visitors, out.traffic.days) == want
    assert LEARNER.allows(out)
    assert bool(notes) == ((visitors, days) != want)
    # nothing else changes: the same scenario otherwise (same seed, same consent knobs)
    assert out.model_dump(exclude={"traffic"}) == s.model_dump(exclude={"traffic"})


def test_clamp_notes_name_the_limit():
    s = apply_overrides(load_preset("eu_shop"), {"traffic.visitors": 200_000, "traffic.days": 90})
    _, notes = clamp(s, LEARNER)
    assert any("90 days" in n and "30" in n for n in notes)
    assert any("200,000 visitors" in n and "33,333" in n for n in notes)


def _app(query: dict[str, str]) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


@pytest.mark.slow
def test_a_large_url_is_clamped_with_a_visible_note(monkeypatch):
    monkeypatch.setenv("DRCL_LEARNER_MAX_VISITORS", "5000")
    monkeypatch.setenv("DRCL_LEARNER_MAX_DAYS", "10")
    monkeypatch.setenv("DRCL_LEARNER_MAX_VISITOR_DAYS", "20000")
    at = _app({"traffic.visitors": "200000", "traffic.days": "90", "seed": "7"})
    assert not at.exception
    scenario = at.session_state["scenario"]
    assert (scenario.traffic.visitors, scenario.traffic.days) == (2000, 10) and scenario.seed == 7
    warnings = " ".join(w.value for w in at.sidebar.warning)
    assert "90 days" in warnings and "this session's limit" in warnings
    # the widgets show what runs, so the next rerun asks for the same clamped run
    open_advanced(at)
    assert at.sidebar.number_input(key="traffic.days").value == 10
