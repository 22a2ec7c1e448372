"""Runs (presenters only; app.py gates the page): the runs available, build a large run as Parquet,
import a run into the app's DuckDB to see its KPIs, delete a run. Everything here is shared state."""

import polars as pl
import streamlit as st

from engine import store
from engine.scenario import apply_overrides
from ui import context
from ui.components.downloads import table_with_downloads
from ui.components.run_admin import build_button, delete_run, import_run, show_flash
from ui.paths import runs_dir
from ui.services.runs import MAX_BUILD_VISITORS, imported_kpis, listing, summary

scenario = context.scenario()
root = runs_dir()
st.title("Runs")
st.caption("For presenters: runs built, imported or deleted here are shared by everyone using this app.")
show_flash()

st.subheader("Runs available")
runs_box = st.container()

st.subheader("Build a large run")
c1, c2 = st.columns(2)
visitors = c1.number_input("Visitors", min_value=10, max_value=MAX_BUILD_VISITORS, value=1_000_000, step=50_000,
                           key="runs.visitors", help="Up to 2,000,000 visitors; built in chunks of 50,000, memory stays flat.")
days = c2.number_input("Days", min_value=1, max_value=90, value=7, step=1, key="runs.days")
target = apply_overrides(scenario, {"traffic.visitors": int(visitors), "traffic.days": int(days)})
st.caption(f"Every other knob comes from the sidebar's scenario: {summary(target.canonical_json())}. "
           f"The run lands in `data/runs/{target.run_id}/` as Parquet, like a CLI run. Stay on this page while it "
           "builds: touching a widget stops the build, and a stopped build leaves nothing behind.")
build_button(target)

runs, problems = listing()
labels = dict(zip(runs["run_id"].to_list(), runs["scenario"].to_list()))
with runs_box:
    if problems:
        many = len(problems) != 1
        st.warning(f"{len(problems)} folder{'s' if many else ''} under `{root}` cannot be used as a run and "
                   f"{'are' if many else 'is'} left out (delete {'them' if many else 'it'} below):\n"
                   + "\n".join(f"- `{run_id}`: {why}" for run_id, why in problems.items()))
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
st.button("Import", key="runs.import", on_click=import_run, args=(pick,), disabled=pick is None)

imported = runs.filter(pl.col("imported"))["run_id"].to_list()
if imported:
    view = st.selectbox("Imported run", imported, key="runs.view_id", format_func=lambda r: f"{r} · {labels.get(r, '')}")
    try:
        kpi = imported_kpis(view)
    except (store.StoreError, ValueError) as err:  # imports are checked; this keeps the page up if one slips through
        st.error(f"The KPIs of run {view} cannot be computed: {err}")
    else:
        table_with_downloads(kpi.with_columns(pl.col(c).round(4) for c in kpi.columns if c != "metric"), f"kpis-imported-{view}")
    st.caption("Headline numbers per rail of the imported run, computed from its own tables read back from the app's "
               "DuckDB. Error % = (rail − truth) / truth.")

st.subheader("Delete a run")
# Folders that cannot be used as runs can be deleted here too, so a bad one never has to stay.
labels |= {run_id: "cannot be used as a run" for run_id in problems}
doomed = st.selectbox("Run to delete", [*runs["run_id"].to_list(), *problems], index=None, key="runs.delete_id",
                      format_func=lambda r: f"{r} · {labels.get(r, '')}", placeholder="Choose a run")
confirm = st.checkbox("Yes, delete this run for everyone: its folder under data/runs and its copy in the app's DuckDB.",
                      key="runs.confirm_delete", disabled=doomed is None)
st.button("Delete run", key="runs.delete", on_click=delete_run, args=(doomed,), disabled=doomed is None or not confirm)
