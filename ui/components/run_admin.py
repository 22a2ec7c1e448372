"""The Runs page's actions: build a run with a progress bar, import and delete runs (as button
callbacks), and the message they leave for the next run of the page. They own the `runs.*` keys."""

from __future__ import annotations

import streamlit as st

from engine import store
from engine.scenario import Scenario
from simulators.sinks import Cleaned, SinkError
from ui.components import auth
from ui.services import runs

FLASH = "runs.flash"


def _flash(kind: str, message: str, detail: str | None = None) -> None:
    st.session_state[FLASH] = (kind, message, detail)


def show_flash() -> None:
    """The outcome of the last import or delete, once."""
    if flash := st.session_state.pop(FLASH, None):
        kind, message, detail = flash
        (st.success if kind == "success" else st.error)(message)
        if detail:
            st.code(detail, language=None)


def import_run(run_id: str | None) -> None:
    # Callbacks run before app.py's gate: check again (the secrets may have changed since the last run).
    if run_id is None or not auth.is_presenter():
        return
    try:
        runs.import_run(run_id)
    except store.StoreError as err:
        _flash("error", f"Could not import run {run_id}.", str(err))
        return
    st.session_state["runs.view_id"] = run_id
    _flash("success", f"Run {run_id} imported into the app's DuckDB.")


def delete_run(run_id: str | None) -> None:
    # The button is disabled without the confirmation, but a disabled button is only a hint to the browser.
    if run_id is None or not st.session_state.get("runs.confirm_delete") or not auth.is_presenter():
        return
    st.session_state["runs.confirm_delete"] = False
    for key in ("runs.delete_id", "runs.import_id", "runs.view_id"):
        if st.session_state.get(key) == run_id:
            del st.session_state[key]
    try:
        removed = runs.delete(run_id)
    except store.StoreError as err:
        _flash("error", f"Could not delete run {run_id}.", str(err))
        return
    where = "its folder under data/runs and " if removed else ""
    _flash("success", f"Run {run_id} deleted ({where}its copy in the app's DuckDB).")


def build_button(target: Scenario) -> None:
    """The Build button; once pressed, the build's progress and outcome in a status box."""
    if not st.button("Build run", key="runs.build", type="primary"):
        return
    total = target.traffic.visitors
    done = {"visitors": 0, "events": 0}
    with st.status(f"Building run {target.run_id}…", expanded=True) as status:
        bar = st.progress(0.0, text="Starting…")

        def on_chunk(n_visitors: int, n_events: int) -> None:
            done["visitors"] += n_visitors
            done["events"] += n_events
            bar.progress(min(done["visitors"] / total, 1.0),
                         text=f"{done['visitors']:,} of {total:,} visitors · {done['events']:,} truth events")

        def on_cleaned(cleaned: list[Cleaned]) -> None:
            st.caption("Left behind by builds or runs that were killed, removed first:\n"
                       + "\n".join(f"- `{c.path.name}` (untouched for {c.idle})" for c in cleaned))

        try:
            result = runs.build(target, on_chunk, on_cleaned)
        except (SinkError, OSError, store.StoreError) as err:
            status.update(label=f"Run {target.run_id} could not be built: {err}", state="error")
            return
        if result is None:
            status.update(label=f"Run {target.run_id} is being built by another presenter right now.", state="error")
        else:
            status.update(label=f"Run {target.run_id} built: {result.truth_events:,} truth events in {result.seconds:.1f} s "
                                f"({result.events_per_second:,.0f} events/s).", state="complete", expanded=False)
