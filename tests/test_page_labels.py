"""The pages of issue 11's part A (Overview, Dashboard, Consent impact, Funnels, Attribution) name
everything in words in their main area: labels, options, sentences, metric labels, table headers and the
codes in their tables (rails, events, devices, policies, ...). One German session walks them all: a code
is the same in both languages, and German is where an English fallback would also show."""

from __future__ import annotations

import json

from conftest import SMALL
from streamlit.testing.v1 import AppTest
from test_page_words import _texts, identifiers

from ui import words

PAGES = ("overview", "dashboard", "consent_impact", "funnels", "attribution")  # copy tests: in test_page_words (slow to run twice)
CODE_COLUMNS = ("rail", "event", "device", "region", "channel", "policy", "group", "banner", "mode", "metric", "dimension", "by")


def _widget_values(at: AppTest) -> set[str]:
    """A widget's value is its option's code (not shown: the option's words are): left out of the check."""
    out = set()
    for kind in ("selectbox", "radio", "select_slider"):
        for widget in at.get(kind):
            out.add(str(widget.value))
    return out


def _table_cells(at: AppTest) -> list[str]:
    cells = []
    for frame in at.dataframe:
        config = json.loads(frame.proto.columns or "{}")
        for column in frame.value.columns:
            if column in CODE_COLUMNS and not config.get(column, {}).get("hidden"):
                cells += [str(v) for v in frame.value[column].dropna().unique()]
    return cells


def test_part_a_pages_show_words_not_codes_in_german():
    at = AppTest.from_file("../app.py", default_timeout=180)
    for key, value in {**{k: str(v) for k, v in SMALL.items()}, "lang": "de"}.items():
        at.query_params[key] = value
    with words.speaking("de"):
        at.run()
        for page in PAGES:
            at.switch_page(f"app_pages/{page}.py").run()
            assert not at.exception, (page, [e.value for e in at.exception])
            texts = [x for x in _texts(at.main) if x not in _widget_values(at)] + _table_cells(at)
            assert len(texts) > 20, page
            assert identifiers(texts) == [], f"{page} shows codes"
            # every table header is a name from the catalogue, never a column's code
            for frame in at.dataframe:
                config = json.loads(frame.proto.columns or "{}")
                headers = [config.get(str(c), {}).get("label") or str(c) for c in frame.value.columns]
                assert not [h for h in headers if "_" in h], (page, headers)
