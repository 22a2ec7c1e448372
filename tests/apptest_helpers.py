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


def app_with(params: dict[str, str]) -> AppTest:
    """The app opened at a URL with these query parameters (first run done, nothing raised)."""
    at = AppTest.from_file("../app.py", default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    return at


def chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("vega_lite_chart")]


def open_data(at: AppTest) -> AppTest:
    """Open every closed "Show data" expander of the page (as a person clicking each) and rerun: closed, they
    draw nothing."""
    from ui.present import SHOW_KEY

    closed = [k for k in at.session_state.keys() if str(k).startswith(SHOW_KEY) and not at.session_state[k]]  # noqa: SIM118 (no __iter__)
    for key in closed:
        at.session_state[key] = True
    if closed:
        at.run()
        assert not at.exception
    return at


def open_advanced(at: AppTest) -> AppTest:
    """Open the sidebar's "Advanced" expander (as a person clicking it) and rerun: closed, it draws nothing."""
    from ui.components.scenario_sidebar import ADVANCED_OPEN

    at.session_state[ADVANCED_OPEN] = True
    at.run()
    assert not at.exception
    return at


def table_with(at: AppTest, *columns: str) -> pd.DataFrame:
    """The first table shown that has all these columns (opening the page's "Show data" when needed)."""
    found = [df.value for df in at.dataframe if set(columns) <= set(df.value.columns)]
    if not found:
        found = [df.value for df in open_data(at).dataframe if set(columns) <= set(df.value.columns)]
    assert found, f"no table with columns {columns}"
    return found[0]


def metric_value(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def page_text(at: AppTest) -> str:
    return " ".join([c.value for c in at.caption] + [m.value for m in at.markdown])


def outside_expanders(at: AppTest, *types: str) -> list[str]:
    """Element types among `types` (e.g. "dataframe", "download_button") in the main area
    but not inside an expander: in presenter mode there must be none."""
    from streamlit.testing.v1.element_tree import Block, Expander

    found: list[str] = []

    def walk(node: object, hidden: bool) -> None:
        if isinstance(node, Block):
            for child in node.children.values():
                walk(child, hidden or isinstance(node, Expander))
        elif getattr(node, "type", None) in types and not hidden:
            found.append(node.type)

    walk(at.main, False)
    return found


def first_text(at: AppTest) -> str:
    """The first thing the main area shows under the page's title: the page's lead sentence."""
    from streamlit.testing.v1.element_tree import Block

    def leaves(node: object):  # in the order the page shows them, through plain containers
        if isinstance(node, Block):
            for child in node.children.values():
                yield from leaves(child)
        elif getattr(node, "type", None) not in ("empty", "component_instance"):  # nothing a person sees
            yield node

    shown = list(leaves(at.main))
    kinds = [getattr(n, "type", None) for n in shown]
    assert kinds[0] == "title" and kinds[1] == "markdown", kinds[:3]
    return shown[1].value


def pinned_page(page: str) -> AppTest:
    """The page on the tests' small scenario with banner no_reject, the default banner's scenario pinned."""
    from conftest import SMALL, small

    from ui import pin

    at = AppTest.from_file("../app.py", default_timeout=120)
    for k, v in {**SMALL, "consent.banner": "no_reject"}.items():
        at.query_params[k] = str(v)
    at.query_params["pin"] = pin.encode("eu_shop", small())
    at.run()
    at.switch_page(page).run()
    assert not at.exception
    assert at.session_state["scenario"].consent.banner == "no_reject"
    return at
