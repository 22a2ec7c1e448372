"""The data pages speak words, not identifiers, in English and German: no snake_case or option code of the
Scenario model in any widget label or option, metric label, expander, tab, button or table column header."""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block

from engine.scenario import Scenario

SNAKE = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")
PAGES = ("live", "data_rights", "data_quality", "privacy", "identity", "profiles", "room")


def _codes() -> set[str]:
    """Every literal option of the Scenario model (banner, mode, preset-like choices)."""
    found: set[str] = set()

    def walk(model: type) -> None:
        for field in model.model_fields.values():
            for arg in (getattr(field.annotation, "__args__", None) or ()):
                if isinstance(arg, str) and "_" in arg:
                    found.add(arg)
            if isinstance(field.annotation, type) and hasattr(field.annotation, "model_fields"):
                walk(field.annotation)

    walk(Scenario)
    return found


def shown_labels(at: AppTest) -> list[str]:
    """What a person reads as a name: labels, options, metric labels, expanders, tabs, buttons, column headers."""
    out: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, Block):
            if isinstance(label := getattr(node, "label", None), str):
                out.append(label)
            for child in node.children.values():
                walk(child)
            return
        kind = getattr(node, "type", None)
        if isinstance(label := getattr(node, "label", None), str):
            out.append(label)
        if kind in ("selectbox", "radio", "multiselect", "select_slider"):
            out.extend(str(o) for o in node.options)
        if kind == "arrow_data_frame" or kind == "dataframe":
            config = json.loads(node.proto.columns or "{}")
            for column in node.value.columns:
                out.append(config.get(column, {}).get("label") or str(column))

    walk(at.main)
    return out


@pytest.mark.parametrize("lang", ["en", "de"])
@pytest.mark.parametrize("page", PAGES)
def test_no_identifier_in_what_the_page_names(page, lang):
    at = AppTest.from_file("../app.py", default_timeout=120)  # the default scenario: the page tests before this one computed it
    at.query_params["lang"] = lang
    at.run()
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception
    labels = shown_labels(at)
    assert labels  # the walk found the page's names
    codes = _codes()
    bad = sorted({s for s in labels for m in SNAKE.findall(s) if not m.isdigit()} | {s for s in labels if s in codes})
    assert not bad, bad
