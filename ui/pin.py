"""The before/after pin: a scenario kept as the reference the pages compare against.

Minimal stand-in (the lesson work owns the Pin/Unpin controls and the URL binding): a pinned
scenario is whatever the session holds under `pin.scenario`.
"""

from __future__ import annotations

import streamlit as st

from engine.scenario import Scenario

PIN_KEY = "pin.scenario"


def pinned_scenario() -> Scenario | None:
    """The pinned reference scenario, or None when nothing is pinned."""
    pinned = st.session_state.get(PIN_KEY)
    return pinned if isinstance(pinned, Scenario) else None
