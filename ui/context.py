"""What a page needs from the frame: the current scenario (set by app.py's sidebar)."""

from __future__ import annotations

import streamlit as st

from engine.scenario import DEFAULT_PRESET, Scenario, load_preset


def scenario() -> Scenario:
    """The scenario the sidebar describes (the default preset if a page runs on its own)."""
    return st.session_state.get("scenario") or load_preset(DEFAULT_PRESET)


def scenario_caption(s: Scenario) -> str:
    t = s.traffic
    return (f"{t.visitors:,} simulated visitors over {t.days} days · banner `{s.consent.banner}` · "
            f"Consent Mode `{s.consent.mode}` · run `{s.run_id}`. Numbers are computed from this simulated run.")
