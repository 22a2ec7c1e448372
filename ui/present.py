"""Presenter mode: the same pages, readable from the back of a room.

`?present=1` in the URL (or the logged-in presenter's toggle, which sets it) turns it on. Pages
draw tables, download buttons and captions through `note()` and `show_data()`: tables sit one click
away in a "Show data" expander under their chart (in every mode: a long page reads as its sentences and
charts), and in presenter mode captions disappear.
"""

from __future__ import annotations

import contextlib
import contextvars
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


@contextlib.contextmanager
def show_data() -> Iterator[None]:
    """Tables and downloads go inside this: a "Show data" expander, in every mode (only once: inside
    another show_data() or data_expander() they stay where they are)."""
    if not _inside.get():
        with data_expander():
            yield
    else:
        yield


@contextlib.contextmanager
def data_expander() -> Iterator[None]:
    """A "Show data" expander holding several tables at once (show_data() inside it does not nest)."""
    token = _inside.set(True)
    try:
        with st.expander(t("common.show_data")):
            yield
    finally:
        _inside.reset(token)
