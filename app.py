"""Dual-Rail Consent Lab: headline numbers of the default run (truth vs baseline vs full stack).

The full multi-page app (navigation, scenario sidebar, login) builds on this frame.
"""

from __future__ import annotations

from pathlib import Path

import altair as alt
import polars as pl
import streamlit as st

from engine import metrics, store
from engine.scenario import DEFAULT_PRESET, Scenario, load_preset
from simulators.run import build_run

RUNS_DIR = Path(__file__).resolve().parent / "data" / "runs"
RAIL_COLOURS = {"truth": "#444444", "baseline": "#2e7d32", "fullstack": "#1565c0", "modelled": "#ef6c00"}
RAIL_LABELS = {"truth": "Truth", "baseline": "Privacy baseline (Rail A)", "fullstack": "Full stack (Rail B)", "modelled": "Modelled"}


@st.cache_resource
def _connection():
    return store.connect(":memory:")


@st.cache_data(max_entries=4, show_spinner="Loading the run…")
def run_tables(scenario_json: str) -> tuple[dict[str, pl.DataFrame], str]:
    """The run's tables: from its Parquet folder when the CLI built it, else computed here."""
    scenario = Scenario.model_validate_json(scenario_json)
    folder = RUNS_DIR / scenario.run_id
    if (folder / "runs").is_dir():
        con = _connection()
        store.import_parquet(con, folder)
        return {t: store.load_table(con, t, scenario.run_id) for t in store.DATA_TABLES}, f"Parquet run `{folder.name}`"
    return build_run(scenario), "computed in the app"


scenario = load_preset(DEFAULT_PRESET)
st.set_page_config(page_title="Dual-Rail Consent Lab", layout="wide")
st.title("Dual-Rail Consent Lab")
st.write(
    "The same simulated visitors, seen three ways: the **truth**, a cookieless **privacy baseline** that "
    "always runs server side (Rail A), and a **full tracking stack** that runs only after consent (Rail B)."
)
tables, origin = run_tables(scenario.canonical_json())
t = scenario.traffic
st.caption(
    f"Default preset `{DEFAULT_PRESET}`: {t.visitors:,} visitors over {t.days} days from {t.start_date}, banner "
    f"`{scenario.consent.banner}`, Consent Mode `{scenario.consent.mode}`; run `{scenario.run_id}` ({origin}). "
    "Every number below is computed from this simulated run."
)

kpi = metrics.kpi_table(tables, scenario)
visitors = kpi.filter(pl.col("metric") == "visitors").row(0, named=True)
conversions = kpi.filter(pl.col("metric") == "conversions").row(0, named=True)
cols = st.columns(4)
cols[0].metric("Visitors (truth)", f"{visitors['truth']:,.0f}")
cols[1].metric("Baseline visitors", f"{visitors['baseline']:,.0f}", f"{visitors['baseline_error_pct']:+.1f}% vs truth", delta_color="off")
cols[2].metric("Full-stack visitors", f"{visitors['fullstack']:,.0f}", f"{visitors['fullstack_error_pct']:+.1f}% vs truth", delta_color="off")
cols[3].metric("Modelled conversions", f"{conversions['modelled']:,.0f}", f"{conversions['modelled_error_pct']:+.1f}% vs truth", delta_color="off")

st.subheader("Headline numbers per rail")
st.dataframe(
    kpi.with_columns(pl.col(c).round(3) for c in kpi.columns if c != "metric"),
    hide_index=True,
    column_config={
        "baseline_error_pct": st.column_config.NumberColumn("baseline loss %", format="%.1f"),
        "fullstack_error_pct": st.column_config.NumberColumn("full-stack loss %", format="%.1f"),
        "modelled_error_pct": st.column_config.NumberColumn("modelled error %", format="%.1f"),
    },
)
st.caption(
    "Loss % = (rail − truth) / truth. The baseline counts a returning visitor once per day (its salt rotates "
    "daily), so its visitor count runs above the truth; orders are server-side facts, so it sees all of them."
)

counts = kpi.filter(pl.col("metric").is_in(["visitors", "sessions", "page_views", "conversions"])).unpivot(
    index="metric", on=["truth", "baseline", "fullstack"], variable_name="rail", value_name="value"
)
chart = (
    alt.Chart(counts.to_pandas())
    .mark_bar()
    .encode(
        x=alt.X("rail:N", title=None, sort=list(RAIL_COLOURS), axis=alt.Axis(labels=False, ticks=False)),
        y=alt.Y("value:Q", title=None),
        color=alt.Color("rail:N", scale=alt.Scale(domain=list(RAIL_COLOURS)[:3], range=list(RAIL_COLOURS.values())[:3]), title="Rail"),
        column=alt.Column("metric:N", title=None, sort=["visitors", "sessions", "page_views", "conversions"]),
        tooltip=["metric", "rail", alt.Tooltip("value:Q", format=",.0f")],
    )
    .resolve_scale(y="independent")
    .properties(width=150, height=220)
)
st.altair_chart(chart)
st.caption("Counts per rail: what each rail records of the same visitors.")

st.subheader("Where the full stack loses visitors")
wf = metrics.waterfall(tables, scenario)
st.dataframe(wf, hide_index=True)
st.caption("From the truth to what the consent-gated full stack observes, step by step, computed from this run.")
