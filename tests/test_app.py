"""The frame and the Overview page: scenario sidebar from the model, URL binding, knobs move numbers."""

import json

import pytest
from apptest_helpers import app_with, open_advanced, open_data
from streamlit.testing.v1 import AppTest

from engine.scenario import field_paths


@pytest.fixture(scope="module")
def app():
    at = AppTest.from_file("../app.py", default_timeout=120).run()
    assert not at.exception
    return at


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_overview_renders_numbers_and_charts(app):
    assert list(_metrics(app)) == ["Truth: visitors", "Privacy baseline: visitors", "Full stack: visitors"]
    assert _metrics(app)["Truth: visitors"] == "20,000"
    specs = [json.loads(c.proto.spec) for c in app.get("vega_lite_chart")]
    assert len(specs) == 2
    # Rail colours are the shared ones, in the same order on every page.
    colour = specs[0]["layer"][0]["encoding"]["color"]["scale"]
    assert colour["domain"] == ["baseline", "fullstack", "modelled"]
    assert colour["range"] == ["#2e7d32", "#1565c0", "#ef6c00"]
    assert len(app.main.dataframe) == 0 and len(app.get("download_button")) == 0  # "Show data" is closed
    open_data(app)
    assert len(app.main.dataframe) == 2
    assert len(app.get("download_button")) == 4


def test_every_scenario_field_has_a_sidebar_control_keyed_by_its_path(app):
    """A widget keyed by the field's path, or a table (a mix, a list) keyed by the path it edits."""
    open_advanced(app)
    keys = {w.key.split("@")[0] for kind in ("selectbox", "select_slider", "number_input", "slider", "checkbox", "date_input")
            for w in getattr(app.sidebar, kind)}  # "traffic.visitors@en": keyed per language
    tables = {df.key.removeprefix("table.").rsplit(".", 1)[0] for df in app.sidebar.data_editor}
    covered = {p for p in field_paths() if p in keys or p in tables or p.rsplit(".", 1)[0] in tables}
    assert covered == set(field_paths())


def test_banner_moves_the_full_stack_not_the_truth():
    at = AppTest.from_file("../app.py", default_timeout=120).run()
    before = _metrics(at)
    at.sidebar.selectbox(key="consent.banner").set_value("no_reject").run()
    after = _metrics(at)
    assert not at.exception
    assert after["Truth: visitors"] == before["Truth: visitors"]
    assert int(after["Full stack: visitors"].replace(",", "")) > int(before["Full stack: visitors"].replace(",", ""))


def test_preset_switch_and_reset():
    at = AppTest.from_file("../app.py", default_timeout=120).run()
    at.sidebar.selectbox(key="preset").set_value("us_shop").run()
    assert at.session_state["consent.banner"] == "no_banner"
    assert at.session_state["scenario"].traffic.region_mix.us == pytest.approx(0.80)
    at.sidebar.selectbox(key="consent.banner").set_value("no_reject").run()
    assert at.session_state["scenario"].consent.banner == "no_reject"
    at.sidebar.button[0].click().run()  # "Reset to preset"
    assert at.session_state["scenario"].consent.banner == "no_banner"


def test_bad_url_values_fall_back_with_a_visible_note():
    at = app_with({"consent.banner": "wall", "traffic.visitors": "many", "consent.mode": "basic"})
    notes = [w.value for w in at.sidebar.warning]
    assert [n.split(":")[0] for n in notes] == ["Banner", "Visitors"]  # one sentence per field, named in words
    assert at.session_state["scenario"].consent.mode == "basic"
    assert at.session_state["scenario"].consent.banner == "reject_first_layer"
