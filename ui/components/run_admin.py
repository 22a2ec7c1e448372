"""The Runs page's actions: build a run with a progress bar, import and delete runs (as button
callbacks), and the message they leave for the next run of the page. They own the `runs.*` keys."""

from __future__ import annotations

import streamlit as st

from engine import store
from engine.scenario import Scenario
from simulators.sinks import Cleaned, SinkError
from ui import context, url_state
from ui.components import auth
from ui.services import runs
from ui.words import num, t

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
        _flash("error", t("runs.import_failed", run_id=run_id), str(err))
        return
    st.session_state["runs.view_id"] = run_id
    _flash("success", t("runs.imported", run_id=run_id))


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
        _flash("error", t("runs.delete_failed", run_id=run_id), str(err))
        return
    _flash("success", t("runs.deleted_folder" if removed else "runs.deleted", run_id=run_id))


def build_button(target: Scenario) -> None:
    """The Build button; once pressed, the build's progress and outcome in a status box."""
    if not st.button(t("runs.build_button"), key="runs.build", type="primary"):
        return
    total = target.traffic.visitors
    done = {"visitors": 0, "events": 0}
    with st.status(t("runs.building", run_id=target.run_id), expanded=True) as status:
        bar = st.progress(0.0, text=t("runs.starting"))

        def on_chunk(n_visitors: int, n_events: int) -> None:
            done["visitors"] += n_visitors
            done["events"] += n_events
            bar.progress(min(done["visitors"] / total, 1.0),
                         text=t("runs.progress", done=num(done["visitors"]), total=num(total), events=num(done["events"])))

        def on_cleaned(cleaned: list[Cleaned]) -> None:
            st.caption(t("runs.cleaned") + "\n" + "\n".join(t("runs.cleaned_item", name=c.path.name, idle=c.idle) for c in cleaned))

        try:
            result = runs.build(target, on_chunk, on_cleaned)
        except (SinkError, OSError, store.StoreError) as err:
            status.update(label=t("runs.build_failed", run_id=target.run_id, error=err), state="error")
            return
        if result is None:
            status.update(label=t("runs.build_busy", run_id=target.run_id), state="error")
        else:
            status.update(label=t("runs.built", run_id=target.run_id, events=num(result.truth_events), seconds=num(result.seconds, 1),
                                  rate=num(result.events_per_second)), state="complete", expanded=False)


def open_in_app(run_id: str | None) -> None:
    """Open a stored run on the Overview: the pages read it from the run store (`?run=<id>`)."""
    if run_id is None:
        return
    url_state.set_sticky(context.RUN_PARAM, run_id)
    st.switch_page("app_pages/overview.py", query_params=url_state.all_params())
