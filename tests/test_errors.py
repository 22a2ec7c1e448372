"""Tracebacks never reach a browser: the shipped config hides error details, and app.py's error
boundary logs a page's exception server side under a short id, which is all the page shows."""

from __future__ import annotations

import logging
import re
import tomllib
from pathlib import Path

import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from ui import context

ROOT = Path(__file__).resolve().parents[1]
SECRET_PATH = "/srv/very/secret/path.py"


@pytest.fixture
def page_errors_fail_tests():
    """Overrides conftest's fixture of this name: here the boundary itself is under test."""


def test_the_shipped_config_hides_error_details():
    client = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["client"]
    assert client["showErrorDetails"] == st_config.ShowErrorDetailsConfigOptions.NONE.value
    assert client["toolbarMode"] == "minimal"


def test_a_failing_page_shows_only_an_error_id(monkeypatch, caplog):
    def broken() -> None:
        raise RuntimeError(f"boom in {SECRET_PATH}")

    monkeypatch.setattr(context, "scenario", broken)
    caplog.set_level(logging.ERROR, logger="drcl")
    at = AppTest.from_file("../app.py", default_timeout=120).run()
    assert not at.exception
    shown = [e.value for e in at.error]
    assert len(shown) == 1 and "Something went wrong on this page" in shown[0]
    error_id = re.search(r"error id \*\*([0-9a-f]{8})\*\*", shown[0]).group(1)
    page = " ".join(str(getattr(el, "value", "")) for el in at.main)
    assert SECRET_PATH not in page and "Traceback" not in page and "RuntimeError" not in page
    # The server log has the id, the page and the traceback.
    [record] = [r for r in caplog.records if r.name == "drcl.errors"]
    assert error_id in record.getMessage() and "Overview" in record.getMessage()
    assert record.exc_info and SECRET_PATH in str(record.exc_info[1])
    # The frame around the page still works: the sidebar and the navigation are drawn.
    assert at.sidebar.selectbox


def test_stop_passes_through_the_boundary():
    """st.stop() on a locked presenter page is not an error."""
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.secrets["unrelated"] = {"x": 1}
    at.run()
    at.switch_page("app_pages/runs.py").run()
    assert not at.exception
    assert not [e for e in at.error if "Something went wrong" in e.value]
