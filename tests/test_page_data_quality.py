"""AppTest of the Data quality page, and the sampling note the Overview shows below the 100 % tier."""

from __future__ import annotations

import polars as pl
from apptest_helpers import chart_specs, first_text, metric_value, open_advanced, open_page, page_text

from engine.quality import frames_report
from engine.scenario import load_preset
from ui.components.scenario_sidebar import _value_at
from ui.services import simulation
from ui.words import pct

PAGE = "app_pages/data_quality.py"


def test_page_leads_with_the_computed_takeaway_and_shows_each_rail():
    at = open_page(PAGE)
    assert at.title[0].value.startswith("Data quality")
    scenario = at.session_state["scenario"]
    rep = frames_report(simulation.run(scenario))  # the run the page drew (already cached)
    cap = {(r["rail"], r["event"]): r["capture_rate"] for r in rep.capture.iter_rows(named=True)}
    full = rep.summary.filter(pl.col("rail") == "fullstack").row(0, named=True)
    lead = first_text(at)
    assert f"the privacy baseline recorded **100%** and the full stack **{pct(cap[('fullstack', 'page_view')])}**" in lead
    assert f"**{pct(full['late_share'], 1)}** of the full stack's hits arrived" in lead
    assert f"**{pct(full['skew_over_1h_share'], 1)}** carried a browser clock" in lead
    assert metric_value(at, "Full stack: true page views recorded") == f"{cap[('fullstack', 'page_view')]:.0%}"
    assert metric_value(at, "Privacy baseline: true page views recorded") == "100%"
    # each section's sentence comes before its chart, from the same report
    by_type = rep.capture.filter(pl.col("rail") == "fullstack", pl.col("event") != "all", pl.col("truth") > 0)
    capture = next(m.value for m in at.markdown if m.value.startswith("The full stack records between"))
    assert f"**{pct(by_type['capture_rate'].min())}**" in capture and f"**{pct(by_type['capture_rate'].max())}**" in capture
    specs = chart_specs(at)
    assert len(specs) == 4  # capture, delay, clock skew, missing fields
    assert "assumption" in page_text(at)
    assert not at.info  # no sampling note at the 100 % tier


def test_sampling_tier_below_100_explains_the_noise_on_the_overview():
    at = open_page("app_pages/overview.py")
    assert _value_at(load_preset("eu_shop"), "rails.fullstack_sampling") == 100
    open_advanced(at).selectbox(key="rails.fullstack_sampling").select(50).run()
    assert not at.exception
    (note,) = at.info
    assert "keeps 50% of browsers" in note.value and "sampling noise" in note.value and "95% interval" in note.value
