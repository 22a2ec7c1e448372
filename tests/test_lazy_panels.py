"""Closed panels cost nothing: a "Show data" expander draws its tables and downloads only once opened, and
the sidebar's "Advanced" expander draws its widgets only once opened, while every knob keeps its value."""

from __future__ import annotations

from apptest_helpers import app_with, open_advanced, open_data, open_page
from streamlit.testing.v1 import AppTest

from engine.scenario import iter_fields
from ui.components.scenario_sidebar import ADVANCED_OPEN, ESSENTIALS
from ui.present import SHOW_KEY, data_key
from ui.words import t


def _show_data_keys(at: AppTest) -> list[str]:
    return [e.key for e in at.main.expander if e.label == t("common.show_data")]


def test_show_data_draws_its_table_only_once_opened_and_stays_open_across_scenarios():
    at = open_page("app_pages/consent_impact.py")
    keys = _show_data_keys(at)
    assert len(keys) >= 5 and all(k.startswith(SHOW_KEY) for k in keys)
    assert not at.main.dataframe and not at.get("download_button")  # closed: nothing drawn inside
    run_id = at.session_state["scenario"].run_id
    assert not any(run_id in k for k in keys)  # keyed without the run: an open table stays open
    first = keys[0]
    at.session_state[first] = True
    at.run()
    assert not at.exception
    assert len(at.main.dataframe) == 1 and len(at.get("download_button")) == 2  # that one table, with its files
    at.sidebar.selectbox(key="consent.banner").set_value("no_banner").run()
    assert not at.exception and at.session_state["scenario"].run_id != run_id
    assert _show_data_keys(at)[0] == first and len(at.main.dataframe) == 1  # still open, on the new run
    open_data(at)
    assert len(at.main.dataframe) == len(keys)


def test_data_key_leaves_out_the_run_id():
    assert data_key("consent-by-banner-0123456789abcdef") == data_key("consent-by-banner-fedcba9876543210")
    assert data_key("consent-by-banner-0123456789abcdef") != data_key("consent-by-region-0123456789abcdef")


def test_advanced_draws_its_widgets_only_once_opened_and_knobs_keep_their_values():
    at = app_with({"traffic.visitors": "1000", "traffic.days": "3", "masking.store_truncated_ip": "true"})
    drawn = {w.key for kind in ("selectbox", "number_input", "slider", "checkbox", "date_input") for w in getattr(at.sidebar, kind)}
    advanced_only = {p for p, _ in iter_fields()} - set(ESSENTIALS) - {p for p, _ in iter_fields() if p.startswith("traffic.adblock.")}
    assert not drawn & advanced_only and not at.sidebar.data_editor  # closed: none of its widgets
    scenario = at.session_state["scenario"]
    assert scenario.traffic.days == 3 and scenario.masking.store_truncated_ip  # the URL's values apply, undrawn
    at.sidebar.selectbox(key="consent.banner").set_value("no_reject").run()  # a rerun without them drawn
    assert at.session_state["scenario"].traffic.days == 3 and at.session_state["scenario"].masking.store_truncated_ip
    open_advanced(at)
    assert at.session_state[ADVANCED_OPEN] is True
    assert at.sidebar.number_input(key="traffic.days").value == 3 and at.sidebar.checkbox(key="masking.store_truncated_ip").value
    assert len(at.sidebar.data_editor) == 4
    at.sidebar.number_input(key="traffic.days").set_value(4).run()
    at.session_state[ADVANCED_OPEN] = False  # closed again: the change stays
    at.run()
    assert not at.exception and at.session_state["scenario"].traffic.days == 4
    assert at.query_params["traffic.days"] in ("4", ["4"])


def test_the_banner_table_shows_every_choice_as_a_percentage():
    """The banner table's choice shares (accept all, custom, reject all, GPC, no banner) read as percentages
    like its other shares, not as 0.376 beside 47.32%."""
    import polars as pl

    from engine.consent_impact import CHOICE_ORDER
    from ui.components.downloads import readable

    frame = pl.DataFrame({"banner": ["no_reject"], "visitors": [20_436], **{c: [0.25] for c in CHOICE_ORDER},
                          "analytics_granted": [0.49]})
    _, config = readable(frame)
    for column in (*CHOICE_ORDER, "analytics_granted"):
        assert config[column]["type_config"]["format"] == "percent", column
    assert config["visitors"]["type_config"]["format"] == "localized"


def _rounded_table() -> None:
    import polars as pl

    from ui.components.downloads import people_table

    people_table(pl.DataFrame({"rail": ["truth"], "value": [0.123456789]}), "rounding-check", digits=2)


def test_a_table_is_rounded_only_once_opened_and_then_to_its_digits():
    at = AppTest.from_function(_rounded_table).run()
    assert not at.exception and not at.dataframe  # closed: nothing rounded, nothing drawn
    open_data(at)
    assert at.dataframe[0].value["value"].tolist() == [0.12]
