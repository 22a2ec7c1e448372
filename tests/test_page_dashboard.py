"""AppTest: the Dashboard page renders for each rail, its KPI strip equals metrics.kpis on the same dates,
and its takeaway names a row that exists."""

from __future__ import annotations

import polars as pl
import pytest
from apptest_helpers import chart_specs, open_page, pinned_page

from engine import dashboard, metrics
from ui.components.dashboard_view import row_name
from ui.services import dashboard as data
from ui.services.simulation import run
from ui.words import signed

PAGE = "app_pages/dashboard.py"
STRIP = {"Visitors": "visitors", "Sessions": "sessions", "Page views": "page_views", "Conversions": "conversions"}


@pytest.fixture(scope="module")
def page():
    return open_page(PAGE)


def _scenario(at):
    return at.session_state["scenario"]


@pytest.mark.parametrize("rail", dashboard.SHOWN_RAILS)
def test_each_rail_renders_and_its_strip_equals_kpis(page, rail):
    at = page
    at.radio(key="dash-rail").set_value(rail).run()
    at.radio(key="dash-preset").set_value("last 7 days").run()
    assert not at.exception
    s = _scenario(at)
    start, end = dashboard.preset_range(s, "last 7 days")
    tables = metrics.in_range(run(s), start, end)
    k = metrics.kpis(tables, s)
    src = "fullstack" if rail == "modelled" else rail
    want = dict(k.filter(pl.col("rail") == src).select("metric", "value").iter_rows())
    if rail == "modelled":
        want["conversions"] = metrics.modelled_conversions(tables, s)["modelled"]
    shown = {m.label.replace(" (modelled)", ""): m for m in at.metric}
    for label, metric in STRIP.items():
        assert shown[label].value == f"{want[metric]:,.0f}"
    assert shown["Bounce rate"].value == f"{want['bounce_rate']:.1%}"
    # The delta is the error vs the truth of the same date range.
    err = dict(k.filter(pl.col("rail") == "fullstack").select("metric", "error_pct").iter_rows())
    if rail == "fullstack":
        assert shown["Visitors"].delta == f"{signed(err['visitors'], 1)}% vs truth"
    # Traffic over time + five ranked panels, each with the truth layer behind when compared, + the country map.
    specs = chart_specs(at)
    assert len(specs) == 7 and len([sp for sp in specs if "projection" in sp]) == 1
    layered = [sp for sp in specs if "layer" in sp and "projection" not in sp]
    assert len(layered) == 5


def test_takeaway_names_an_existing_row_and_the_truth_toggle(page):
    at = page
    at.radio(key="dash-rail").set_value("fullstack").run()
    at.radio(key="dash-preset").set_value("whole run").run()
    s = _scenario(at)
    first, last = dashboard.run_days(s)
    heading = at.markdown[0].value
    assert "the full stack is most wrong" in heading
    # The rows named are the largest errors of the rows the page itself draws from, and exist there.
    rows = {by: data.breakdown(s, first, last, by, m) for by, m in data.PANELS}
    worst = dashboard.worst_rows(rows, "fullstack")
    assert worst
    for w in worst:
        assert f"{abs(w['error_pct']):.0f}%" in heading and row_name(w["dimension"], w["row"]) in heading
        assert w["row"] in rows[w["dimension"]][w["dimension"]].cast(pl.String).to_list()
    # Its truth matches the truth of the whole run's events for that row (the run, cut to the range).
    tables = metrics.in_range(run(s), first, last)
    assert sum(rows["channel"]["truth"]) >= metrics.kpis(tables, s).filter(
        (pl.col("rail") == "truth") & (pl.col("metric") == "visitors"))["value"][0]
    at.toggle(key="dash-compare").set_value(False).run()
    assert not at.exception and not [sp for sp in chart_specs(at) if "layer" in sp and "projection" not in sp]
    assert next(sp for sp in chart_specs(at) if "projection" in sp)["layer"][1]["encoding"]["color"]["field"] == "value"
    at.toggle(key="dash-compare").set_value(True).run()


def test_custom_range_cuts_the_strip(page):
    at = page
    at.radio(key="dash-rail").set_value("baseline").run()
    at.radio(key="dash-preset").set_value("custom").run()
    s = _scenario(at)
    first, _ = dashboard.run_days(s)
    at.date_input(key="dash-range").set_value((first, first)).run()
    assert not at.exception
    k = metrics.kpis(metrics.in_range(run(s), first, first), s)
    want = k.filter((pl.col("rail") == "baseline") & (pl.col("metric") == "page_views"))["value"][0]
    assert next(m for m in at.metric if m.label == "Page views").value == f"{want:,.0f}"


def test_devices_panel_says_where_the_true_tablets_went(page):
    at = page
    at.radio(key="dash-rail").set_value("fullstack").run()
    at.radio(key="dash-preset").set_value("whole run").run()
    s = _scenario(at)
    start, end = dashboard.preset_range(s, "whole run")
    w = dashboard.whereabouts(metrics.in_range(run(s), start, end), "fullstack", "device", "tablet")
    captions = [c.value for c in at.caption if c.value.startswith("Why: of the")]
    assert any(f"of the {w['true_visitors']:,} true Tablet visitors, {w['counted_here']:,} were counted as Tablet, "
               f"{w['counted_elsewhere']:,} were recorded but counted as Desktop" in c for c in captions), captions


def test_every_simulated_country_has_a_shape_on_the_map():
    from engine import datasets

    ids = {g.get("id") for g in data.world()["objects"]["countries"]["geometries"]}
    codes = set(datasets.country_region())
    assert codes <= set(data.COUNTRY_ISO_NUMERIC) and {data.COUNTRY_ISO_NUMERIC[c] for c in codes} <= ids


def test_country_map_colours_each_country_by_the_rails_error(page):
    at = page
    at.radio(key="dash-rail").set_value("fullstack").run()
    at.radio(key="dash-preset").set_value("whole run").run()
    s = _scenario(at)
    start, end = dashboard.preset_range(s, "whole run")
    rows = data.breakdown(s, start, end, "country", "visitors")
    maps = [spec for spec in chart_specs(at) if "projection" in spec]
    assert len(maps) == 1 and maps[0]["projection"]["type"] == "equalEarth"
    shown = maps[0]["layer"][1]
    assert shown["encoding"]["color"]["field"] == "error"
    looked_up = {r["iso"]: r for r in shown["transform"][0]["from"]["data"]["values"]}
    assert len(looked_up) == rows.height
    germany = rows.filter(pl.col("country") == "Germany").row(0, named=True)
    assert looked_up["276"]["error"] == pytest.approx(germany["fullstack_error_pct"] / 100)
    assert looked_up["276"]["truth"] == germany["truth"]


def test_an_overcount_is_explained_and_not_shown_as_a_gain(page):
    """The baseline counts a returning visitor again each day: its takeaway rows are overcounts. Their "Why"
    used to say only "of the 9,272 true desktop visitors, 9,272 were counted as desktop", and the strip
    showed the overcount of visitors in green."""
    at = page
    at.radio(key="dash-rail").set_value("baseline").run()
    at.radio(key="dash-preset").set_value("last 7 days").run()
    s = _scenario(at)
    start, end = dashboard.preset_range(s, "last 7 days")
    rows = {by: data.breakdown(s, start, end, by, m) for by, m in data.PANELS}
    over = [m for m in dashboard.worst_rows(rows, "baseline") if m["error_pct"] > 0]
    assert over
    captions = [c.value for c in at.caption if c.value.startswith("Why: of the")]
    for m in over:
        assert any(f"It counted {round(m['value']):,}: it counts ids, not people" in c for c in captions), captions
    visitors = next(x for x in at.metric if x.label == "Visitors")
    assert visitors.delta.startswith("+") and visitors.proto.color != visitors.proto.GREEN


def test_a_pin_puts_deltas_on_the_kpi_strip():
    """Banner no_reject against the default banner pinned: each strip number's delta is its change against
    the pinned scenario on the same dates; the error vs the truth moves beside it."""
    from conftest import small

    from engine.scenario import apply_overrides
    from ui.words import num, t

    at = pinned_page(PAGE)
    now, pinned = apply_overrides(small(), {"consent.banner": "no_reject"}), small()
    start, end = dashboard.preset_range(now, at.radio(key="dash-preset").value)
    current = dict(data.strip(now, start, end, "fullstack").select("metric", "value").iter_rows())
    before = dict(data.strip(pinned, start, end, "fullstack").select("metric", "value").iter_rows())
    visitors = next(m for m in at.metric if m.label == t("dashboard.strip_visitors"))
    assert visitors.value == num(current["visitors"])
    assert visitors.proto.delta == t("charts.vs_pinned", change=signed(current["visitors"] - before["visitors"]))
    assert current["visitors"] > before["visitors"]  # no reject button: more consent
    assert visitors.proto.delta_description.endswith("% vs truth")  # the error vs the truth stays beside it
    # the traffic chart draws the pinned scenario's lines faintly behind the current ones
    traffic = next(sp for sp in chart_specs(at) if "layer" in sp and any(ly.get("mark", {}).get("opacity") for ly in sp["layer"]))
    assert traffic["layer"][0]["mark"]["type"] == "line" and traffic["layer"][0]["mark"]["opacity"] < 0.5
    bounce = next(m for m in at.metric if m.label == t("dashboard.strip_bounce_rate"))
    assert bounce.proto.delta == t("dashboard.vs_pinned_points", change=signed((current["bounce_rate"] - before["bounce_rate"]) * 100, 1))
