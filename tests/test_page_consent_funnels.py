"""AppTest: the Consent impact and Funnels pages render from the run, and their knobs move the numbers."""

from __future__ import annotations

import pandas as pd
import pytest
from apptest_helpers import chart_specs as _specs
from apptest_helpers import metric_value as _metric
from apptest_helpers import open_page, pinned_page
from apptest_helpers import page_text as _texts
from apptest_helpers import table_with as _frame
from streamlit.testing.v1 import AppTest

from engine import datasets
from ui.words import t

CONSENT_PAGE = "app_pages/consent_impact.py"
FUNNEL_PAGE = "app_pages/funnels.py"
SHOP = datasets.site("shop")












@pytest.fixture(scope="module")
def consent_page() -> AppTest:
    return open_page(CONSENT_PAGE)


def test_consent_page_charts_tables_and_sources(consent_page):
    at = consent_page
    specs = _specs(at)
    assert len(specs) >= 8
    # Stacked shares per banner design: normalised bars with one colour per consent choice.
    stacked = [s for s in specs if s.get("encoding", {}).get("x", {}).get("stack") == "normalize"]
    assert stacked and stacked[0]["mark"]["type"] == "bar" and stacked[0]["encoding"]["color"]["field"] == "choice"
    # Simulated beside published accept rate.
    pub = [s for s in specs if s.get("encoding", {}).get("color", {}).get("scale", {}).get("domain") == ["simulated", "published"]]
    assert pub and pub[0]["encoding"]["yOffset"]["field"] == "figure"  # horizontal bars: long banner names read across
    rates = _frame(at, "banner", "accept_rate_deciders", "published_accept_rate")
    assert sorted(rates["banner"]) == sorted(t(f"sidebar.option.{b}") for b in ("reject_first_layer", "reject_second_layer", "no_reject", "no_banner"))
    assert rates["visitors"].nunique() == 1  # every design on the same visitors
    for by in ("region", "device", "privacy_attitude"):
        assert len(_frame(at, by, "accept_all", "analytics_granted")) > 1
    modes = _frame(at, "mode", "pings", "modelled_conversions", "ga4_thresholds_met").set_index("mode")
    assert modes.loc[t("sidebar.option.basic"), "pings"] == 0 and modes.loc[t("sidebar.option.advanced"), "pings"] > 0
    text = _texts(at)
    assert "Didomi help centre, 2024" in text and "Google Ads conversion-modelling help (secondary transcription)" in text
    assert "behavioural modelling prerequisites (secondary transcription)" in text
    assert "This run meets them" in text or "This run does not meet them" in text
    assert _metric(at, "Consented / not consented (published)") == "2–5×"
    # Every table shown has its two downloads.
    assert len(at.get("download_button")) == 2 * len(at.main.dataframe)


def test_banner_widgets_live_on_the_page(consent_page):
    sidebar_keys = {w.key for w in consent_page.sidebar.selectbox}
    assert "ci.banner_a" not in sidebar_keys and "ci.banner_b" not in sidebar_keys
    assert consent_page.selectbox(key="ci.banner_a").value != consent_page.selectbox(key="ci.banner_b").value


def test_sidebar_banner_moves_the_full_stack_not_the_truth():
    at = open_page(CONSENT_PAGE)
    before = {label: _metric(at, label) for label in ("Visitors (truth)", "Conversions (truth)", "Full-stack visitors")}
    kpi_before = _frame(at, t("common.col.rail"), t("common.metric.visitors")).set_index(t("common.col.rail"))
    at.sidebar.selectbox(key="consent.banner").set_value("no_reject").run()
    assert not at.exception
    assert _metric(at, "Visitors (truth)") == before["Visitors (truth)"]
    assert _metric(at, "Conversions (truth)") == before["Conversions (truth)"]
    assert _metric(at, "Full-stack visitors") != before["Full-stack visitors"]
    kpi_after = _frame(at, t("common.col.rail"), t("common.metric.visitors")).set_index(t("common.col.rail"))
    truth, full = t("charts.rail_truth"), t("charts.rail_fullstack")
    pd.testing.assert_series_equal(kpi_after.loc[truth], kpi_before.loc[truth])
    assert (kpi_after.loc[full] != kpi_before.loc[full]).any()
    assert f"banner: {t('sidebar.option.no_reject')}" in _texts(at)


def test_two_banners_side_by_side_share_the_truth():
    at = open_page(CONSENT_PAGE)
    before = _frame(at, "metric", "truth", "a", "b").set_index("metric")
    at.selectbox(key="ci.banner_b").set_value("reject_second_layer").run()
    assert not at.exception
    after = _frame(at, "metric", "truth", "a", "b").set_index("metric")
    assert list(after.index) == [t(f"common.metric.{m}") for m in ("visitors", "sessions", "conversions", "revenue")]
    pd.testing.assert_series_equal(after["truth"], before["truth"])
    pd.testing.assert_series_equal(after["a"], before["a"])
    assert after.loc[t("common.metric.visitors"), "b"] != before.loc[t("common.metric.visitors"), "b"]
    # Both banners the same: identical columns.
    at.selectbox(key="ci.banner_b").set_value(at.selectbox(key="ci.banner_a").value).run()
    same = _frame(at, "metric", "truth", "a", "b")
    assert (same["a"] == same["b"]).all()
    # Horizontal bars per KPI (they fit a phone), one per banner, as a share of the truth.
    chart = next(s["layer"][0] for s in _specs(at) if "layer" in s and s["layer"][0]["encoding"].get("yOffset", {}).get("field") == "series")
    assert chart["encoding"]["y"]["field"] == "what" and chart["encoding"]["x"]["field"] == "share" and chart["mark"]["type"] == "bar"
    assert "same design" in _texts(at)


@pytest.fixture(scope="module")
def funnel_page() -> AppTest:
    return open_page(FUNNEL_PAGE)


def test_funnel_page_renders_per_rail(funnel_page):
    at = funnel_page
    assert at.multiselect(key="fn.steps").value == SHOP["funnel"]
    table = _frame(at, "rail", "step", "event", "users", "drop_off")
    # the table shows rails and events by name
    assert set(table["rail"]) == {t("charts.rail_truth"), t("charts.rail_baseline"), t("charts.rail_fullstack")}
    assert list(table[table["rail"] == t("charts.rail_truth")]["event"]) == [t(f"common.event.{e}") for e in SHOP["funnel"]]
    assert at.multiselect(key="fn.steps").options[:2] == [t("common.event.page_view"), t("common.event.view_item")]
    specs = _specs(at)
    # Horizontal bars: the events' names read across (printed vertically, short names were hard to read).
    bars = [s for s in specs if s.get("mark", {}).get("type") == "bar" and s["encoding"]["y"]["field"] == "event_name"]
    assert bars and bars[0]["encoding"]["yOffset"]["field"] == "slot" and bars[0]["encoding"]["x"]["field"] == "users"
    assert bars[0]["encoding"]["color"]["scale"]["domain"] == ["truth", "baseline", "fullstack"]
    assert any(layer["mark"]["type"] == "line" for s in specs for layer in s.get("layer", []))
    breakdown = _frame(at, "rail", "dimension", "value", "users")
    assert set(breakdown["dimension"]) == {t("common.col.device"), t("common.col.region"), t("common.col.consent_choice")}
    assert len([s for s in specs if s.get("encoding", {}).get("y", {}).get("field") == "value_name"]) == 3
    assert any("never records" in i.value for i in at.info)


def test_funnel_steps_and_window_change_the_table():
    at = open_page(FUNNEL_PAGE)
    truth = t("charts.rail_truth")
    full = _frame(at, "rail", "step", "event", "users")
    at.multiselect(key="fn.steps").set_value(["page_view", "purchase"]).run()
    assert not at.exception
    two = _frame(at, "rail", "step", "event", "users")
    assert list(two[two["rail"] == truth]["event"]) == [t("common.event.page_view"), t("common.event.purchase")]
    assert len(two) != len(full)
    # Skipping the middle steps cannot lose anyone who completed them all.
    truth_full = full[full["rail"] == truth]["users"].iloc[-1]
    assert two[two["rail"] == truth]["users"].iloc[-1] >= truth_full
    at.number_input(key="fn.window_minutes").set_value(1).run()
    narrow = _frame(at, "rail", "step", "event", "users")
    assert narrow[narrow["rail"] == truth]["users"].iloc[-1] < two[two["rail"] == truth]["users"].iloc[-1]


def test_empty_step_selection_shows_a_message():
    at = open_page(FUNNEL_PAGE)
    at.multiselect(key="fn.steps").set_value([]).run()
    assert not at.exception
    assert any("Pick at least one step" in i.value for i in at.info)
    assert len(at.get("vega_lite_chart")) == 0


def _pinned_app(page: str) -> AppTest:
    return pinned_page(page)


def _chart_rows(at: AppTest, marker: str) -> list[dict]:
    import pyarrow as pa

    chart = next(c for c in at.get("vega_lite_chart") if marker in c.proto.spec)
    return pa.ipc.open_stream(chart.proto.datasets[0].data.data).read_all().to_pylist()


def test_consent_headline_carries_deltas_and_faint_pinned_bars():
    from conftest import small

    from engine import metrics
    from engine.scenario import apply_overrides
    from simulators.run import build_run
    from simulators.traffic import generate_traffic
    from ui.words import signed

    def kpi(s):
        return {r["metric"]: r for r in metrics.kpi_table(build_run(s, generate_traffic(s)), s).iter_rows(named=True)}

    at = _pinned_app(CONSENT_PAGE)
    before, after = kpi(small()), kpi(apply_overrides(small(), {"consent.banner": "no_reject"}))
    full = next(m for m in at.metric if m.label == "Full-stack visitors")
    assert full.proto.delta == f"{signed(after['visitors']['fullstack'] - before['visitors']['fullstack'])} vs pinned"
    assert next(m for m in at.metric if m.label == "Visitors (truth)").proto.delta == "0 vs pinned"
    rows = _chart_rows(at, "slot")
    assert {r["scenario"] for r in rows} == {"pinned", "current"}
    assert "Against the pinned scenario" in _texts(at)


def test_funnel_draws_the_pinned_full_stack_beside_the_current_one():
    at = _pinned_app(FUNNEL_PAGE)
    rows = _chart_rows(at, "slot")
    pinned = [r for r in rows if r["scenario"] == "pinned"]
    current = {r["step"]: r["users"] for r in rows if r["scenario"] == "current" and r["rail"] == "fullstack"}
    assert pinned and all(r["rail"] == "fullstack" for r in pinned)
    # No Reject button on the banner: more consent, more full-stack users at the first step than pinned.
    assert current[1] > next(r["users"] for r in pinned if r["step"] == 1)
    assert "Against the pinned scenario" in _texts(at)


def test_the_funnel_view_is_worked_out_once_per_run_steps_and_language():
    """A room's followers draw the Funnels page from one view: the same object for the same run, steps,
    window and language; another language gets its own, in its words."""
    from conftest import small

    from ui import words
    from ui.components import funnel_story as story

    scenario = small({"traffic.visitors": 2000, "traffic.days": 3})
    steps = tuple(datasets.site(scenario.site.kind)["funnel"])
    with words.speaking("en"):
        first = story.view(scenario, steps, 3600, None, "en")
        assert story.view(scenario, steps, 3600, None, "en") is first
        assert first.takeaway == story.funnel_takeaway(first.table)  # the sentence the page used to derive itself
    with words.speaking("de"):
        german = story.view(scenario, steps, 3600, None, "de")
        assert german is not first and german.takeaway == story.funnel_takeaway(german.table) != first.takeaway
    assert [dim for dim, _, _ in first.parts] == list(story.BREAKDOWN_DIMS)
    assert story.view(scenario, steps, 7200, None, "en") is not first  # another window, another view
