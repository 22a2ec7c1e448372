"""Runs (presenters only; app.py gates the page): the runs available, build a large run as Parquet,
import a run into the app's DuckDB to see its KPIs, delete a run. Everything here is shared state."""

import polars as pl
import streamlit as st

from engine import store
from engine.scenario import apply_overrides
from ui import context
from ui.components.downloads import people_table
from ui.components.rail_metrics import kpi_view
from ui.components.run_admin import build_button, delete_run, import_run, open_in_app, show_flash
from ui.paths import runs_dir
from ui.present import note
from ui.services.runs import (
    CHUNK_VISITORS,
    DEFAULT_BUILD_DAYS,
    DEFAULT_BUILD_VISITORS,
    MAX_BUILD_VISITORS,
    imported_kpis,
    listing,
    summary,
)
from ui.words import num, t

scenario = context.scenario()
root = runs_dir()
st.title(t("runs.title"))
lead_box = st.container()  # filled once the listing is known: after a build on this run of the page
show_flash()

st.subheader(t("runs.available_heading"))
runs_box = st.container()

st.subheader(t("runs.build_heading"))
c1, c2 = st.columns(2)
visitors = c1.number_input(t("runs.visitors"), min_value=10, max_value=MAX_BUILD_VISITORS, value=DEFAULT_BUILD_VISITORS, step=50_000,
                           key="runs.visitors", help=t("runs.visitors_help_sized", max=num(MAX_BUILD_VISITORS), chunk=num(CHUNK_VISITORS),
                                                       default=num(DEFAULT_BUILD_VISITORS)))
days = c2.number_input(t("runs.days"), min_value=1, max_value=90, value=DEFAULT_BUILD_DAYS, step=1, key="runs.days")
target = apply_overrides(scenario, {"traffic.visitors": int(visitors), "traffic.days": int(days)})
note(t("runs.build_note", summary=summary(target.canonical_json()), run_id=target.run_id))
build_button(target)

runs, problems = listing()
labels = dict(zip(runs["run_id"].to_list(), runs["scenario"].to_list()))
with lead_box:
    counts = {"runs": num(runs.height), "on_disk": num(runs["in_data_runs"].sum()), "imported": num(runs["imported"].sum())}
    lead = t("runs.lead_empty") if not runs.height else t("runs.lead_one" if runs.height == 1 else "runs.lead", **counts)
    st.markdown(lead + (t("runs.lead_problems", n=num(len(problems))) if problems else ""))
    note(t("runs.shared_note"))
with runs_box:
    if problems:
        st.warning(t("runs.problems", n=len(problems), root=root) + "\n"
                   + "\n".join(t("runs.problem_item", run_id=run_id, why=why) for run_id, why in problems.items()))
    if runs.height:
        people_table(runs, "runs", {"run_id": t("runs.col_run"), "scenario": t("runs.col_scenario")})
        openable = runs.filter(pl.col("in_data_runs") | pl.col("imported"))["run_id"].to_list()
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        chosen = c1.selectbox(t("runs.open_pick"), openable, key="runs.open_id", format_func=lambda r: f"{r} · {labels.get(r, '')}",
                              help=t("runs.open_help"))
        if c2.button(t("runs.open_button"), key="runs.open", icon=":material/open_in_new:", disabled=chosen is None):
            open_in_app(chosen)
    else:
        st.info(t("runs.none_yet"))
    note(t("runs.listing_note", root=root))

st.subheader(t("runs.import_heading"))
on_disk = runs.filter(pl.col("in_data_runs"))["run_id"].to_list()
pick = st.selectbox(t("runs.import_pick"), on_disk, index=None, key="runs.import_id",
                    format_func=lambda r: f"{r} · {labels.get(r, '')}", placeholder=t("runs.import_placeholder"))
st.button(t("runs.import_button"), key="runs.import", on_click=import_run, args=(pick,), disabled=pick is None)

imported = runs.filter(pl.col("imported"))["run_id"].to_list()
if imported:
    view = st.selectbox(t("runs.imported_pick"), imported, key="runs.view_id", format_func=lambda r: f"{r} · {labels.get(r, '')}")
    try:
        with st.spinner(t("runs.computing_kpis")):
            kpi = imported_kpis(view)
    except (store.StoreError, ValueError) as err:  # imports are checked; this keeps the page up if one slips through
        st.error(t("runs.kpi_error", run_id=view, error=err))
    else:
        v = kpi.filter(pl.col("metric") == "visitors").row(0, named=True)
        st.markdown(t("runs.kpi_lead", run_id=view, truth=num(v["truth"]), fullstack=num(v["fullstack"]), baseline=num(v["baseline"])))
        people_table(kpi, f"kpis-imported-{view}", shown=kpi_view)
    note(t("runs.kpi_note"))

st.subheader(t("runs.delete_heading"))
# Folders that cannot be used as runs can be deleted here too, so a bad one never has to stay.
labels |= {run_id: t("runs.unusable") for run_id in problems}
doomed = st.selectbox(t("runs.delete_pick"), [*runs["run_id"].to_list(), *problems], index=None, key="runs.delete_id",
                      format_func=lambda r: f"{r} · {labels.get(r, '')}", placeholder=t("runs.delete_placeholder"))
confirm = st.checkbox(t("runs.confirm"), key="runs.confirm_delete", disabled=doomed is None)
st.button(t("runs.delete_button"), key="runs.delete", on_click=delete_run, args=(doomed,), disabled=doomed is None or not confirm)
