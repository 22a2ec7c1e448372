"""Shared AppTest helpers for the page tests: open a page through the app frame, read what it shows."""

from __future__ import annotations

import json

import pandas as pd
from streamlit.testing.v1 import AppTest


def open_page(page: str) -> AppTest:
    """Run app.py (frame + sidebar), then switch to the page, and check nothing raised."""
    at = AppTest.from_file("../app.py", default_timeout=120).run()
    at.switch_page(page).run()
    assert not at.exception
    return at


def chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("vega_lite_chart")]


def table_with(at: AppTest, *columns: str) -> pd.DataFrame:
    """The first table shown that has all these columns."""
    found = [df.value for df in at.dataframe if set(columns) <= set(df.value.columns)]
    assert found, f"no table with columns {columns}"
    return found[0]


def metric_value(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def page_text(at: AppTest) -> str:
    return " ".join([c.value for c in at.caption] + [m.value for m in at.markdown])
