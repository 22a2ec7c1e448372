"""The session's language: `?lang=de` in the URL (kept across pages), else the browser's, else English.

`choose_language()` runs first thing in app.py on every run, so every text of the run (and of its
fragments, which read the same session) is in one language. The switch in the sidebar writes `?lang=`;
the scenario lives in its own parameters, so switching keeps it. A learner's language is their own: a
room does not send it (ui/rooms/live.py).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import url_state, words
from ui.words import t

LANG_PARAM = "lang"


def choose_language() -> str:
    """Settle this run's language and remember it in the session (what `words.language()` reads)."""
    asked = url_state.sticky(LANG_PARAM)
    lang = words.parse_language(asked)
    if asked is not None and lang is None:
        st.session_state[_REFUSED] = asked
        url_state.set_sticky(LANG_PARAM, None)
    if lang is None:
        lang = st.session_state.get(words.SESSION_KEY) or words.parse_language(st.context.locale) or words.DEFAULT
    words.settle(lang)
    return lang


_REFUSED, _SWITCH = "lang.refused", "lang.switch"


def language_switch(container: Any = None) -> None:
    """The choice of language, in each language's own name: beside the sidebar's first heading (where it
    costs no height above the scenario's essentials), or at the top of the sidebar."""
    box = container if container is not None else st.sidebar
    current = words.language()
    st.session_state[_SWITCH] = current  # the URL may have changed it since the last run (Back, a shared link)
    box.segmented_control(
        t("frame.language"), options=list(words.LANGUAGES), format_func=words.LANGUAGES.__getitem__,
        key=_SWITCH, label_visibility="collapsed", on_change=_switched)
    if st.session_state.pop(_REFUSED, None):  # not echoed: it came from a URL anyone can write
        st.sidebar.caption(t("frame.language_unknown"))


def heading_with_switch(heading: str) -> None:
    """The sidebar's heading with the language switch on the same line."""
    row = st.sidebar.container(horizontal=True, wrap=False, vertical_alignment="center", horizontal_alignment="distribute",
                               key="sidebar-heading")
    row.subheader(heading, anchor=False)
    language_switch(row)


def _switched() -> None:
    """Before the run: the new language goes into the URL, where `choose_language` finds it."""
    if (choice := st.session_state.get(_SWITCH)) in words.LANGUAGES:  # None: the chosen one was clicked again
        url_state.set_sticky(LANG_PARAM, choice)
