"""Presenter mode: the same pages, readable from the back of a room.

`?present=1` in the URL (or the logged-in presenter's toggle, which sets it) turns it on. Pages
draw tables, download buttons and captions through `note()` and `show_data()`; in presenter mode
captions disappear and tables sit one click away in a "Show data" expander.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

import streamlit as st

from ui.words import t

PRESENT_PARAM = "present"
# Inside one show_data() block, an inner one (a table helper that wraps itself) adds no second expander.
_INSIDE = contextvars.ContextVar("present_show_data", default=False)


def presenting() -> bool:
    """Is presenter mode on for this session?"""
    return st.query_params.get(PRESENT_PARAM) == "1"


def note(text: str) -> None:
    """A caption under a chart or number; hidden in presenter mode."""
    if not presenting():
        st.caption(text)


@contextlib.contextmanager
def show_data(always: bool = False) -> Iterator[None]:
    """Tables and downloads go inside this: inline normally, in a "Show data" expander when presenting
    (`always`: in the expander in normal mode too). Nested blocks open no second expander."""
    if _INSIDE.get():
        yield
        return
    token = _INSIDE.set(True)
    try:
        if always or presenting():
            with st.expander(t("common.show_data")):
                yield
        else:
            yield
    finally:
        _INSIDE.reset(token)
