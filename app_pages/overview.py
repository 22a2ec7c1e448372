"""Overview: the dual rail in a few sentences, headline KPIs per rail, the data-loss waterfall."""

import altair as alt
import polars as pl
import streamlit as st

from ui import context
from ui.charts import theme
from ui.components.downloads import table_with_downloads
from ui.services import simulation as data

scenario = context.scenario()
st.title("Dual-Rail Consent Lab")
st.markdown(
    "Every simulated visitor is seen three ways. The **truth** is what happened. The **privacy baseline** "
    "(Rail A) runs server side for everyone, without cookies: a daily-salted hash of IP and user agent, "
    "truncated IPs, page views and orders. The **full stack** (Rail B) runs in the browser only after "
    "consent, with a cookie, sessions and ad signals — and loses whoever refuses, ignores the banner or blocks it."
)
st.graphviz_chart(
    """digraph { rankdir=LR; node [shape=box, style="rounded,filled", fontname="sans-serif", fontcolor=white];
    truth [label="Visitors (truth)", fillcolor="#3b3b3b"];
    base [label="Rail A: privacy baseline\\n(always, server side)", fillcolor="#2e7d32"];
    consent [label="Banner + Consent Mode", shape=diamond, fillcolor="#777777"];
    full [label="Rail B: full stack\\n(after consent)", fillcolor="#1565c0"];
    model [label="Modelled estimate", fillcolor="#ef6c00"];
    truth -> base; truth -> consent; consent -> full [label=" granted"]; consent -> model [label=" pings"]; full -> model; }"""
)
st.caption("How one visitor's hits reach each rail.")
st.caption(context.scenario_caption(scenario))

kpi = data.kpi_table(scenario)
row = {r["metric"]: r for r in kpi.iter_rows(named=True)}
cols = st.columns(4)
cols[0].metric("Visitors (truth)", f"{row['visitors']['truth']:,.0f}")
cols[1].metric("Baseline visitors", f"{row['visitors']['baseline']:,.0f}", f"{row['visitors']['baseline_error_pct']:+.1f}% vs truth", delta_color="off")
cols[2].metric("Full-stack visitors", f"{row['visitors']['fullstack']:,.0f}", f"{row['visitors']['fullstack_error_pct']:+.1f}% vs truth", delta_color="off")
cols[3].metric("Modelled conversions", f"{row['conversions']['modelled']:,.0f}", f"{row['conversions']['modelled_error_pct']:+.1f}% vs truth", delta_color="off")

st.subheader("Headline numbers per rail")
table_with_downloads(kpi.with_columns(pl.col(c).round(4) for c in kpi.columns if c != "metric"), f"kpis-{scenario.run_id}")
st.caption(
    "Error % = (rail − truth) / truth. The baseline counts a returning visitor once per day (its salt rotates daily) "
    "and sees every order (orders are server-side facts); the modelled estimate scales full-stack conversions "
    "(plus cookieless pings) by the page views the baseline saw, per region and device."
)

counts = kpi.filter(pl.col("metric").is_in(["visitors", "sessions", "page_views", "conversions"])).unpivot(
    index="metric", on=["truth", "baseline", "fullstack", "modelled"], variable_name="rail", value_name="value"
).drop_nulls("value")
chart = (
    alt.Chart(counts)
    .mark_bar()
    .encode(
        x=alt.X("rail:N", title=None, sort=list(theme.RAILS), axis=alt.Axis(labels=False, ticks=False)),
        y=alt.Y("value:Q", title=None),
        color=theme.rail_color(),
        column=alt.Column("metric:N", title=None, sort=["visitors", "sessions", "page_views", "conversions"]),
        tooltip=["metric", "rail", alt.Tooltip("value:Q", format=",.0f")],
    )
    .resolve_scale(y="independent")
    .properties(width=140, height=220)
)
st.altair_chart(chart)
st.caption("What each rail records of the same visitors: counts per rail, next to the truth.")

st.subheader("Where the full stack loses visitors")
wf = data.waterfall(scenario)
steps = wf.with_columns(
    start=pl.when(pl.col("step").is_in(["truth visitors", "observed by the full stack"])).then(0).otherwise(pl.col("running") - pl.col("change")),
    kind=pl.when(pl.col("change") < 0).then(pl.lit("loss")).when(pl.col("step").str.starts_with("identity")).then(pl.lit("gain")).otherwise(pl.lit("total")),
    order=pl.int_range(pl.len()),
)
waterfall = (
    alt.Chart(steps)
    .mark_bar()
    .encode(
        x=alt.X("step:N", sort=alt.SortField("order"), title=None, axis=alt.Axis(labelAngle=-20)),
        y=alt.Y("start:Q", title="visitors"),
        y2="running:Q",
        color=alt.Color("kind:N", scale=alt.Scale(domain=["total", "loss", "gain"], range=[theme.COLOURS["truth"], "#c62828", theme.COLOURS["fullstack"]]), title=None),
        tooltip=["step", "change", "running"],
    )
    .properties(height=280)
)
st.altair_chart(waterfall)
st.caption("From every visitor to the visitors (device ids) the full stack counts: who never decided, refused, was blocked, or was split by a cookie reset.")
table_with_downloads(wf, f"waterfall-{scenario.run_id}")
