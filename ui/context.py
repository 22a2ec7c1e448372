"""What a page needs from the frame: the current scenario (set by app.py's sidebar), or the scenario of a
stored run opened with `?run=<id>` (kept across page changes like the app's other parameters).

An opened run is read from the run store (its Parquet folder under data/runs, or the app's DuckDB after an
import): its scenario comes from the run's own `runs` row, and `ui.services.simulation.run` reads its
tables from the folder instead of simulating. Its scenario shows read-only in the sidebar, with a button
to close it; an unknown id, or a run larger than this session may open, gives one sentence and the
sidebar's scenario instead.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from engine import store
from engine.scenario import DEFAULT_PRESET, Scenario, load_preset
from ui import knob_words, url_state
from ui.paths import runs_dir
from ui.words import num, t

RUN_PARAM = "run"
_OPENED = "context.opened_run"  # (run id, its scenario) read once per session and run id
_DRAWN = "context.run_note_drawn"  # the script run the note was drawn in: drawn once per run, not per caller


def scenario() -> Scenario:
    """The scenario of the run opened with `?run=`, else the one the sidebar describes (the default preset
    if a page runs on its own)."""
    opened = opened_run()
    if opened is not None:
        return opened
    return st.session_state.get("scenario") or load_preset(DEFAULT_PRESET)


def opened_run() -> Scenario | None:
    """The scenario of the stored run named by `?run=`, or None (nothing asked, or it cannot be opened:
    then one sentence says why, once per page run, and the parameter is dropped)."""
    run_id = url_state.sticky(RUN_PARAM)
    if not run_id:
        return None
    cached = st.session_state.get(_OPENED)
    if cached is not None and cached[0] == run_id:
        found, problem = cached[1], None
    else:
        found, problem = _read(run_id)
        if found is not None:
            st.session_state[_OPENED] = (run_id, found)
    if found is None:
        url_state.set_sticky(RUN_PARAM, None)
        if _first_call():
            st.warning(problem or t("common.run_unknown", run_id=run_id), icon=":material/folder_off:")
        return None
    if _first_call():
        _sidebar_note(run_id, found)
    return found


def _read(run_id: str) -> tuple[Scenario | None, str | None]:
    from ui.components import auth
    from ui.limits import session_budget

    if not isinstance(run_id, str) or not store.RUN_ID_RE.match(run_id):
        return None, None
    found: Scenario | None = None
    folder = runs_dir() / run_id
    try:
        if (folder / "runs").is_dir():
            found = store.check_runs_row(store.check_run_folder(folder), run_id)
        else:
            from ui.services import runs

            con = runs.duck()
            if store.has_run(con, run_id):
                found = Scenario.model_validate(store.scenario_of(con, run_id))
    except (store.StoreError, ValueError):
        return None, t("common.run_unreadable", run_id=run_id)
    if found is None:
        return None, None
    if not session_budget(auth.is_presenter()).allows(found):
        return None, t("common.run_too_big", run_id=run_id, visitors=num(found.traffic.visitors))
    return found, None


def _first_call() -> bool:
    """True the first time in this script run (several callers ask for the scenario in one run)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    marker = ctx.cursors if ctx is not None else None  # a fresh dict every script run
    if marker is not None and st.session_state.get(_DRAWN) is marker:
        return False
    st.session_state[_DRAWN] = marker
    return True


def close_run() -> None:
    url_state.set_sticky(RUN_PARAM, None)
    st.session_state.pop(_OPENED, None)


def _sidebar_note(run_id: str, s: Scenario) -> None:
    box = st.sidebar.container(key="opened-run", border=True)
    box.markdown(t("common.run_opened", run_id=run_id))
    box.caption(knob_words.describe(s))
    box.button(t("common.run_close"), key="context.close_run", on_click=close_run, icon=":material/close:")


def scenario_caption(s: Scenario) -> str:
    """The caption naming the run a page's numbers come from."""
    tr = s.traffic
    return t("common.scenario_caption", visitors=num(tr.visitors), days=num(tr.days), banner=knob_words.option(s.consent.banner),
             mode=knob_words.option(s.consent.mode), run_id=s.run_id)
