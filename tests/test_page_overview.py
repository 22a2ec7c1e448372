"""AppTest: the Overview's first screen tells the story (lead sentence, three big numbers, the diagram with
the loss branch), a pinned scenario puts deltas on the numbers, and presenter mode folds every table
and download away on the pages story 1 owns."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from apptest_helpers import open_data
from conftest import SMALL, small
from streamlit.testing.v1 import AppTest

from engine import metrics
from engine.scenario import apply_overrides
from simulators.run import build_run
from simulators.traffic import generate_traffic
from ui import pin
from ui.words import num, pct, signed

APP = "../app.py"
GREEN = 1  # MetricColor.GREEN in Streamlit's Metric proto
RED = 0


def _app(query: dict[str, str] | None = None, session: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in {**{k: str(v) for k, v in SMALL.items()}, **(query or {})}.items():
        at.query_params[k] = v
    for k, v in (session or {}).items():
        at.session_state[k] = v
    return at.run()


def _kpi(scenario) -> dict[str, dict]:
    table = metrics.kpi_table(build_run(scenario, generate_traffic(scenario)), scenario)
    return {r["metric"]: r for r in table.iter_rows(named=True)}


@pytest.fixture(scope="module")
def overview() -> AppTest:
    at = _app()
    assert not at.exception
    return at


def test_first_screen_is_lead_sentence_then_three_rail_numbers(overview):
    at = overview
    assert at.session_state["scenario"].run_id == small().run_id
    shown = [(k, e) for k, e in at.main.children.items() if e.type != "empty"]
    kinds = [e.type for _, e in shown[:4]]
    assert kinds == ["title", "markdown", "flex_container", "flex_container"], kinds
    assert [c.type for c in shown[3][1].children.values()] == ["graphviz_chart"]  # the diagram (wide screens)
    lead = shown[1][1].value
    assert [m.label for m in at.metric[:3]] == ["Truth: visitors", "Privacy baseline: visitors", "Full stack: visitors"]
    # Every number in the lead and the metrics is the engine's, computed here independently.
    k = _kpi(small())
    v, c = k["visitors"], k["conversions"]
    assert f"Same {num(v['truth'])} visitors" in lead
    assert f"the full stack sees {pct(v['fullstack'] / v['truth'])} of them" in lead
    assert f"{pct(c['fullstack'] / c['truth'])} of the orders" in lead
    assert c["baseline"] == c["truth"] and "the privacy baseline sees every order" in lead
    assert [m.value for m in at.metric[:3]] == [num(v["truth"]), num(v["baseline"]), num(v["fullstack"])]


def test_loss_is_red_and_an_over_count_is_never_green(overview):
    truth, baseline, full = overview.metric[:3]
    assert not truth.proto.delta
    assert full.proto.color == RED and full.proto.delta.startswith("−")
    assert baseline.proto.delta.startswith("+") and baseline.proto.color != GREEN


def test_charts_use_the_shared_theme_at_reading_size(overview):
    for chart in overview.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        assert (spec["config"]["axis"]["labelFontSize"], spec["config"]["axis"]["titleFontSize"]) == (13, 16)
        assert spec["autosize"]["type"] == "fit-x"  # the width fills the container; the height stays the plot's


def test_diagram_has_the_loss_branch_with_its_shares(overview):
    wide, tall = (c.proto.spec for c in overview.get("graphviz_chart"))
    assert "rankdir=LR" in wide and "rankdir=TB" in tall  # one per screen shape, the same graph
    assert wide.replace("rankdir=LR", "") == tall.replace("rankdir=TB", "")
    dot = wide
    assert "Lost to the full stack" in dot and "ignored" in dot and "refused" in dot and "blocked" in dot
    assert "lost -> model" in dot  # advanced Consent Mode: pings feed the modelled estimate
    # The method text is folded away, not on the first screen.
    assert overview.expander[0].label == "How the three rails work"


@pytest.mark.parametrize("big", [False, True])
def test_diagram_texts_are_drawn_at_the_sizes_its_layout_was_made_for(big):
    # Streamlit draws a graphviz chart's texts at 9.6 px whatever the DOT says; the page's CSS gives them
    # the DOT's own sizes back, per mode (presenter mode: the projector's >= 16 px, checked in the browser test).
    import re

    from ui.components import overview_story as story
    from ui.services import overview as service

    dot = story.diagram(service.waterfall(small()), small(), "LR", big=big)
    node = int(re.search(r"node \[[^]]*fontsize=(\d+)", dot).group(1))
    edge = int(re.search(r"edge \[[^]]*fontsize=(\d+)", dot).group(1))
    graph = re.search(r'class="([^"]+)"', dot).group(1)
    assert ("big" in graph.split()) == big
    scope = "g." + ".".join(graph.split()) + ("" if big else ":not(.big)")
    assert f"svg {scope} g.node text {{font-size: {node}px;}}" in story.DIAGRAM_CSS
    assert f"svg {scope} g.edge text {{font-size: {edge}px;}}" in story.DIAGRAM_CSS
    if big:
        assert min(node, edge) > max(story.DIAGRAM_FONTS[False])


def test_baseline_that_misses_orders_says_what_it_sees():
    import polars as pl

    from ui.components.overview_story import lead

    kpi = pl.DataFrame({"metric": ["visitors", "conversions"], "truth": [100.0, 40.0], "baseline": [110.0, 30.0],
                        "fullstack": [50.0, 10.0]})
    text = lead(kpi, small())
    assert "the privacy baseline sees 75% of the orders" in text and "every order" not in text
    assert "the full stack sees 50% of them and 25% of the orders" in text


def test_pinned_scenario_puts_deltas_on_the_numbers_and_the_chart():
    pinned = small()
    at = _app(query={"pin": pin.encode("eu_shop", pinned)})
    at.sidebar.selectbox(key="consent.banner").set_value("no_reject").run()
    assert not at.exception
    now = at.session_state["scenario"]
    assert now.consent.banner == "no_reject"
    before, after = _kpi(pinned), _kpi(apply_overrides(pinned, {"consent.banner": "no_reject"}))
    deltas = [m.proto.delta for m in at.metric[:3]]
    change = after["visitors"]["fullstack"] - before["visitors"]["fullstack"]
    assert change > 0
    assert deltas == ["0 vs pinned", f"{signed(0)} vs pinned", f"{signed(change)} vs pinned"]
    assert all(m.proto.color != GREEN for m in at.metric[:3])
    conv = signed(after["conversions"]["fullstack"] - before["conversions"]["fullstack"])
    assert f"full stack sees {signed(change)} visitors and {conv} orders" in at.markdown[0].value
    # The rail-count chart draws the pinned values faintly beside the current ones.
    chart = next(c for c in at.get("vega_lite_chart") if "slot" in c.proto.spec)
    assert json.loads(chart.proto.spec)["layer"][0]["encoding"]["opacity"]["scale"]["domain"] == ["pinned", "current"]
    rows = pa.ipc.open_stream(chart.proto.datasets[0].data.data).read_all().to_pylist()
    pinned_share = {(r["rail"], r["metric"]): r["share"] for r in rows if r["scenario"] == "pinned"}
    assert pinned_share[("fullstack", "visitors")] == pytest.approx(before["visitors"]["fullstack"] / before["visitors"]["truth"])


def _outside_expanders(node, inside: bool = False):
    """(element, type, inside an expander?) for every element under `node`, in page order."""
    for child in getattr(node, "children", {}).values():
        here = inside or child.type == "expander"
        yield child, child.type, here
        yield from _outside_expanders(child, here)


STORY1_PAGES = ["app_pages/overview.py", "app_pages/dashboard.py", "app_pages/consent_impact.py", "app_pages/funnels.py",
                "app_pages/attribution.py", "app_pages/live.py"]


@pytest.mark.parametrize("page", STORY1_PAGES)
def test_presenter_mode_folds_tables_and_downloads_away(page):
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in {**{k: str(v) for k, v in SMALL.items()}, "present": "1"}.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(page).run()
    if page.endswith("live.py"):  # Live telemetry starts paused: start the stream to see its panel
        at.button(key="live.play").click().run()
    assert not at.exception
    open_data(at)  # one click away: opened, the tables and downloads are there, still inside expanders
    found = list(_outside_expanders(at.main))
    tables = [inside for _, kind, inside in found if kind in ("arrow_data_frame", "dataframe")]
    downloads = [inside for _, kind, inside in found if kind == "download_button"]
    assert tables and downloads  # the data is still there, one click away
    assert all(tables) and all(downloads), page
    # Chart text for the back of the room: every chart through the shared theme, at the container's width.
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert specs
    for spec in specs:
        assert spec["config"]["axis"]["labelFontSize"] >= 16 and spec["config"]["axis"]["titleFontSize"] >= 20, page
        assert spec["config"]["legend"]["labelFontSize"] >= 16
    # Captions drawn through note() go too: the scenario's caption (on every page) is not on show.
    shown = [el.value for el, kind, inside in found if kind == "caption" and not inside]
    assert not [c for c in shown if "simulated visitors over" in c], shown
