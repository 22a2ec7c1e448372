"""Query parameters of our own that outlive a page change (`present`, `lesson`, `pin`, `lang`).

Streamlit clears the URL's parameters when the page changes (a widget bound to the URL puts its own
back). These are remembered in the session the first time they are seen and written back whenever the
URL lost them; a new browser session starts from its URL again.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.state.session_state_proxy import get_session_state

_PREFIX = "url."


def key(param: str) -> str:
    """Where the session remembers the parameter."""
    return _PREFIX + param


def sticky(param: str) -> str | None:
    """The parameter's value, from the URL or (if a page change dropped it) from the session."""
    key = _PREFIX + param
    if param in st.query_params:
        st.session_state[key] = st.query_params[param]
    elif st.session_state.get(key) is not None:
        st.query_params[param] = st.session_state[key]
    return st.session_state.get(key)


def set_sticky(param: str, value: str | None) -> None:
    """Set (or with None, clear) the parameter in the URL and the session."""
    st.session_state[_PREFIX + param] = value
    if value is None:
        st.query_params.pop(param, None)
    else:
        st.query_params[param] = value


def release(param: str) -> None:
    """Release a URL parameter from the widget bound to it in the last run, so code may set it (a bound
    parameter cannot be set, and is deleted from the URL at the end of a run that does not draw its
    widget). The widget's value stays in the session. Uses Streamlit 1.67's query-parameter registry
    (pinned in requirements.txt); tests/test_lessons.py and tests/test_pin.py break if it changes."""
    with get_session_state().query_params() as qp:
        if (binding := qp.get_binding_for_param(param)) is not None:
            qp.unbind_widget(binding.widget_id)


def all_params() -> dict[str, str]:
    """Every query parameter, released from its widget: what st.switch_page takes to keep them all."""
    params = st.query_params.to_dict()
    for key in params:
        release(key)
    return params
