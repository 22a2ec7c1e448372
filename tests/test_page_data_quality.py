"""AppTest of the Data quality page, and the sampling note the Overview shows below the 100 % tier."""

from __future__ import annotations

from apptest_helpers import chart_specs, metric_value, open_page, page_text

from engine.quality import frames_report, takeaway
from engine.scenario import load_preset
from ui.components.scenario_sidebar import _value_at
from ui.services import simulation

PAGE = "app_pages/data_quality.py"


def test_page_leads_with_the_computed_takeaway_and_shows_each_rail():
    at = open_page(PAGE)
    assert at.title[0].value == "Data quality"
    scenario = at.session_state["scenario"]
    rep = frames_report(simulation.run(scenario))  # the run the page drew (already cached)
    assert at.markdown[0].value == f"**{takeaway(rep)}**"
    cap = {(r["rail"], r["event"]): r["capture_rate"] for r in rep.capture.iter_rows(named=True)}
    assert metric_value(at, "Full stack: true page views recorded") == f"{cap[('fullstack', 'page_view')]:.0%}"
    assert metric_value(at, "Baseline: true page views recorded") == "100%"
    specs = chart_specs(at)
    assert len(specs) == 4  # capture, delay, clock skew, missing fields
    assert "assumption" in page_text(at)
    assert not at.info  # no sampling note at the 100 % tier


def test_sampling_tier_below_100_explains_the_noise_on_the_overview():
    at = open_page("app_pages/overview.py")
    assert _value_at(load_preset("eu_shop"), "rails.fullstack_sampling") == 100
    at.selectbox(key="rails.fullstack_sampling").select(50).run()
    assert not at.exception
    (note,) = at.info
    assert "keeps 50% of browsers" in note.value and "sampling noise" in note.value and "95% interval" in note.value
