"""Presenter mode: the same pages, readable from the back of a room.

`?present=1` in the URL (or the logged-in presenter's toggle, which sets it) turns it on. Pages
draw tables, download buttons and captions through `note()` and `show_data()`; in presenter mode
captions disappear and tables sit one click away in a "Show data" expander.
"""

from __future__ import annotations

import contextlib
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


def note(text: str) -> None:
    """A caption under a chart or number; hidden in presenter mode."""
    if not presenting():
        st.caption(text)


@contextlib.contextmanager
def show_data() -> Iterator[None]:
    """Tables and downloads go inside this: inline normally, in a "Show data" expander when presenting."""
    if presenting():
        with st.expander(t("common.show_data")):
            yield
    else:
        yield
