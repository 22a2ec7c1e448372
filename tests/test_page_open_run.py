"""`?run=<id>`: every page can show a stored run (read from its Parquet folder, not simulated again), its
scenario read-only in the sidebar; an unknown id gives one sentence and the sidebar's scenario."""

from __future__ import annotations

import pytest
from apptest_helpers import metric_value
from conftest import SMALL, small
from streamlit.testing.v1 import AppTest

from simulators.run import run_to_sink
from simulators.sinks import ParquetSink
from ui.charts.theme import rail_label
from ui.services import simulation
from ui.words import num, t

STORED = {"traffic.visitors": 900, "traffic.days": 2, "seed": 11, "consent.banner": "no_reject"}


@pytest.fixture
def stored(tmp_path, monkeypatch):
    """A run built by the run store's own writer into a temporary data/runs."""
    monkeypatch.setenv("DRCL_RUNS_DIR", str(tmp_path / "runs"))
    scenario = small(STORED)
    run_to_sink(scenario, ParquetSink(tmp_path / "runs"))
    return scenario


def _overview(query: dict[str, str]) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=120)
    for k, v in {**{k: str(v) for k, v in SMALL.items()}, **query}.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_stored_run_opens_from_its_files_and_shows_read_only(stored, monkeypatch):
    def no_simulation(*args, **kwargs):
        raise AssertionError("an opened run must be read from its files, not simulated")

    # Same process as AppTest: any attempt to draw the run's traffic fails the page.
    monkeypatch.setattr(simulation, "generate_traffic", no_simulation)
    at = _overview({"run": stored.run_id})
    assert metric_value(at, t("charts.big_label", rail=rail_label("truth"), what=t("charts.metric_visitors"))) == num(900)
    note = " ".join(m.value for m in at.sidebar.markdown) + " ".join(c.value for c in at.sidebar.caption)
    assert stored.run_id in note and t("sidebar.option.no_reject") in note and num(900) in note
    # It stays open on another page (the parameter is kept), until closed from the sidebar.
    at.switch_page("app_pages/funnels.py").run()
    assert not at.exception and at.query_params["run"] == stored.run_id
    assert any(stored.run_id in c.value for c in at.caption)
    monkeypatch.undo()
    at.button(key="context.close_run").click().run()
    assert not at.exception and "run" not in at.query_params
    assert not any(stored.run_id in m.value for m in at.sidebar.markdown)


def test_an_unknown_run_says_so_and_falls_back_to_the_sidebar(stored):
    missing = "0123456789abcdef"
    at = _overview({"run": missing})
    [warning] = [w.value for w in at.warning if missing in w.value]
    assert warning == t("common.run_unknown", run_id=missing)
    truth = t("charts.big_label", rail=rail_label("truth"), what=t("charts.metric_visitors"))
    assert metric_value(at, truth) == num(SMALL["traffic.visitors"])  # the sidebar's scenario
    assert "run" not in at.query_params
