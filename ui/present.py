"""Presenter mode: the same pages, readable from the back of a room.

`?present=1` in the URL (or the logged-in presenter's toggle, which sets it) turns it on. Pages
draw tables, download buttons and captions through `note()` and `show_data()`: tables sit one click
away in a "Show data" expander under their chart (in every mode: a long page reads as its sentences and
charts), and in presenter mode captions disappear.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator

import streamlit as st

from ui import url_state
from ui.words import t

PRESENT_PARAM = "present"


def presenting() -> bool:
    """Is presenter mode on for this session? (`?present=1`, kept across page changes.)"""
    return url_state.sticky(PRESENT_PARAM) == "1"


def set_presenting(on: bool) -> None:
    """Switch presenter mode on or off for this session and its URL."""
    url_state.set_sticky(PRESENT_PARAM, "1" if on else None)


# Fixed CSS (no user data): every big number on every page at least 48 px in presenter mode.
PRESENT_CSS = "<style>[data-testid='stMetricValue'] {font-size: 3rem; line-height: 1.15;}</style>"


def style() -> None:
    """In app.py before the page: presenter mode's big numbers (the Overview's rail numbers are larger still)."""
    if presenting():
        st.html(PRESENT_CSS)


def note(text: str) -> None:
    """A caption under a chart or number; hidden in presenter mode."""
    if not presenting():
        st.caption(text)


_inside = contextvars.ContextVar("inside_show_data", default=False)
SHOW_KEY = "show."  # the prefix of every "Show data" expander's key (its open state, in the session)
_RUN_ID = re.compile(r"[0-9a-f]{16}")


def data_key(name: str) -> str:
    """The key of a "Show data" expander named `name`: a run id in the name is left out, so an open table
    stays open when the scenario changes."""
    return SHOW_KEY + _RUN_ID.sub("run", name)


@contextlib.contextmanager
def show_data(name: str) -> Iterator[bool]:
    """Tables and downloads go inside this: a "Show data" expander, in every mode, that yields whether its
    content is to be drawn. The expander is lazy: closed, its content costs nothing (a room of thirty
    followers draws no tables nobody opened); opening it reruns the page with the content. Inside another
    show_data() it is not nested again and always yields True."""
    if _inside.get():
        yield True
        return
    token = _inside.set(True)
    try:
        box = st.expander(t("common.show_data"), key=data_key(name), on_change="rerun")
        with box:
            yield bool(box.open)
    finally:
        _inside.reset(token)
