"""Runs (presenters only; app.py gates the page): the runs available, build a large run as Parquet,
import a run into the app's DuckDB to see its KPIs, delete a run. Everything here is shared state."""

import polars as pl
import streamlit as st

from engine import store
from engine.scenario import apply_overrides
from ui import context
from ui.components.downloads import table_with_downloads
from ui.services import runs as runs_data

FLASH = "runs.flash"


def _flash(kind: str, message: str, detail: str | None = None) -> None:
    st.session_state[FLASH] = (kind, message, detail)


def _import(run_id: str | None) -> None:
    if run_id is None:
        return
    try:
        runs_data.import_run(run_id)
    except store.StoreError as err:
        _flash("error", f"Could not import run {run_id}.", str(err))
        return
    st.session_state["runs.view_id"] = run_id
    _flash("success", f"Run {run_id} imported into the app's DuckDB.")


def _delete(run_id: str | None) -> None:
    # The button is disabled without the confirmation, but a disabled button is only a hint to the browser.
    if run_id is None or not st.session_state.get("runs.confirm_delete"):
        return
    st.session_state["runs.confirm_delete"] = False
    for key in ("runs.delete_id", "runs.import_id", "runs.view_id"):
        if st.session_state.get(key) == run_id:
            del st.session_state[key]
    try:
        removed = runs_data.delete(run_id)
    except store.StoreError as err:
        _flash("error", f"Could not delete run {run_id}.", str(err))
        return
    where = "its folder under data/runs and " if removed else ""
    _flash("success", f"Run {run_id} deleted ({where}its copy in the app's DuckDB).")


scenario = context.scenario()
root = runs_data.runs_dir()
st.title("Runs")
st.caption("For presenters: runs built, imported or deleted here are shared by everyone using this app.")
if flash := st.session_state.pop(FLASH, None):
    kind, message, detail = flash
    (st.success if kind == "success" else st.error)(message)
    if detail:
        st.code(detail, language=None)

st.subheader("Runs available")
listing = st.container()

st.subheader("Build a large run")
c1, c2 = st.columns(2)
visitors = c1.number_input("Visitors", min_value=10, max_value=runs_data.MAX_BUILD_VISITORS, value=1_000_000, step=50_000,
                           key="runs.visitors", help="Up to 2,000,000 visitors; built in chunks of 50,000, memory stays flat.")
days = c2.number_input("Days", min_value=1, max_value=90, value=7, step=1, key="runs.days")
target = apply_overrides(scenario, {"traffic.visitors": int(visitors), "traffic.days": int(days)})
st.caption(f"Every other knob comes from the sidebar's scenario: {runs_data.summary(target.canonical_json())}. "
           f"The run lands in `data/runs/{target.run_id}/` as Parquet, like a CLI run. Stay on this page while it "
           "builds: touching a widget stops the build, and a stopped build leaves nothing behind.")
if st.button("Build run", key="runs.build", type="primary"):
    total = target.traffic.visitors
    done = {"visitors": 0, "events": 0}
    with st.status(f"Building run {target.run_id}…", expanded=True) as status:
        bar = st.progress(0.0, text="Starting…")

        def on_chunk(n_visitors: int, n_events: int) -> None:
            done["visitors"] += n_visitors
            done["events"] += n_events
            bar.progress(min(done["visitors"] / total, 1.0),
                         text=f"{done['visitors']:,} of {total:,} visitors · {done['events']:,} truth events")

        result = runs_data.build(target, on_chunk)
        if result is None:
            status.update(label=f"Run {target.run_id} is being built by another presenter right now.", state="error")
        else:
            status.update(label=f"Run {target.run_id} built: {result.truth_events:,} truth events in {result.seconds:.1f} s "
                                f"({result.events_per_second:,.0f} events/s).", state="complete", expanded=False)

runs = runs_data.all_runs()
labels = dict(zip(runs["run_id"].to_list(), runs["scenario"].to_list()))
with listing:
    if runs.height:
        table_with_downloads(runs, "runs", column_config={"created_at": st.column_config.DatetimeColumn("created_at")})
    else:
        st.info("No runs yet: build one below, or with the CLI: `python -m simulators generate --out data/runs`.")
    st.caption(f"Parquet run folders under `{root}` (CLI or built here), runs built by this app process and runs "
               "imported into its DuckDB; row counts are each run's own, as recorded when it was written.")

st.subheader("Import a run into the app")
on_disk = runs.filter(pl.col("in_data_runs"))["run_id"].to_list()
pick = st.selectbox("Run folder in data/runs", on_disk, index=None, key="runs.import_id",
                    format_func=lambda r: f"{r} · {labels.get(r, '')}", placeholder="Choose a run folder")
st.button("Import", key="runs.import", on_click=_import, args=(pick,), disabled=pick is None)

imported = runs.filter(pl.col("imported"))["run_id"].to_list()
if imported:
    view = st.selectbox("Imported run", imported, key="runs.view_id", format_func=lambda r: f"{r} · {labels.get(r, '')}")
    kpi = runs_data.imported_kpis(view)
    table_with_downloads(kpi.with_columns(pl.col(c).round(4) for c in kpi.columns if c != "metric"), f"kpis-imported-{view}")
    st.caption("Headline numbers per rail of the imported run, computed from its own tables read back from the app's "
               "DuckDB. Error % = (rail − truth) / truth.")

st.subheader("Delete a run")
doomed = st.selectbox("Run to delete", runs["run_id"].to_list(), index=None, key="runs.delete_id",
                      format_func=lambda r: f"{r} · {labels.get(r, '')}", placeholder="Choose a run")
confirm = st.checkbox("Yes, delete this run for everyone: its folder under data/runs and its copy in the app's DuckDB.",
                      key="runs.confirm_delete", disabled=doomed is None)
st.button("Delete run", key="runs.delete", on_click=_delete, args=(doomed,), disabled=doomed is None or not confirm)
