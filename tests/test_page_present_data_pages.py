"""Presenter mode (`?present=1`) on Data rights, Data quality, Privacy leaks, Identity, Profiles and
Copy tests: no table, download button or caption outside an expander, and the tables are still there,
one click away. (Runs: tests/test_page_runs.py.)"""

from __future__ import annotations

import pytest
from apptest_helpers import first_text, open_data, outside_expanders
from streamlit.testing.v1 import AppTest

from ui.words import t

HIDDEN = ("dataframe", "download_button", "caption")


def _present(page: str) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.query_params["present"] = "1"
    at.run()
    at.switch_page(page).run()
    assert not at.exception
    return at


def _check(at: AppTest) -> None:
    assert outside_expanders(at, *HIDDEN) == []
    assert any(e.label == t("common.show_data") for e in at.expander)
    open_data(at)  # one click away: opened, the tables and downloads are there, still inside the expanders
    assert at.dataframe and at.get("download_button")
    assert outside_expanders(at, *HIDDEN) == []
    assert first_text(at)  # the lead still leads


@pytest.mark.parametrize("page", ["data_quality", "identity", "profiles", "copy_tests"])
def test_presenter_mode_keeps_tables_and_captions_one_click_away(page):
    _check(_present(f"app_pages/{page}.py"))


def test_presenter_mode_on_data_rights_with_a_visitor_found():
    at = _present("app_pages/data_rights.py")
    _check(at)
    at.selectbox(key="dr.example").set_value(at.selectbox(key="dr.example").options[0]).run()
    assert not at.exception and at.get("download_button")
    _check(at)
    assert at.button(key="dr.erase")  # the action stays on the screen


def test_presenter_mode_on_privacy_leaks_with_the_hashes_cracked():
    at = _present("app_pages/privacy.py")
    _check(at)
    at.button(key="pv.crack").click().run()
    assert not at.exception
    _check(at)
    labels = {m.label for m in at.metric}
    assert t("privacy.crack_plain", what=t("privacy.crack_ipv4")) in labels  # the big numbers stay in view


def _nested_tables() -> None:
    import streamlit as st

    from ui.present import show_data

    with show_data("outer") as opened:
        if opened:
            st.dataframe({"a": [1]})
            with show_data("inner") as inner:  # a table helper that wraps itself, inside a page's block
                assert inner
                st.dataframe({"b": [2]})
    with show_data("second") as opened:
        if opened:
            st.dataframe({"c": [3]})


@pytest.mark.parametrize("present", [False, True])
def test_show_data_nests_without_a_second_expander(present):
    at = AppTest.from_function(_nested_tables)
    if present:
        at.query_params["present"] = "1"
    at.run()
    assert not at.exception
    assert len(at.dataframe) == 0 and len(at.expander) == 2  # closed: nothing drawn inside
    open_data(at)
    assert len(at.dataframe) == 3
    # in every mode: one "Show data" expander per outer block, none nested inside another
    assert [len(e.get("dataframe")) for e in at.expander] == [2, 1]
    assert outside_expanders(at, "dataframe") == []
