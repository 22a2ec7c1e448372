"""Overview: the dual rail in a few sentences, headline KPIs per rail, the data-loss waterfall."""

import polars as pl
import streamlit as st

from ui import context
from ui.charts import overview as charts
from ui.components.downloads import table_with_downloads
from ui.components.rail_metrics import rail_metrics
from ui.components.sampling_note import sampling_note
from ui.services import overview, simulation

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

kpi = simulation.kpi_table(scenario)
rail_metrics(kpi, [("Visitors (truth)", "visitors", "truth"), ("Baseline visitors", "visitors", "baseline"),
                   ("Full-stack visitors", "visitors", "fullstack"), ("Modelled conversions", "conversions", "modelled")])
sampling_note(scenario)

st.subheader("Headline numbers per rail")
table_with_downloads(kpi.with_columns(pl.col(c).round(4) for c in kpi.columns if c != "metric"), f"kpis-{scenario.run_id}")
st.caption(
    "Error % = (rail − truth) / truth. The baseline counts a returning visitor once per day (its salt rotates daily) "
    "and sees every order (orders are server-side facts); the modelled estimate scales full-stack conversions "
    "(plus cookieless pings) by the page views the baseline saw, per region and device."
)
st.altair_chart(charts.rail_counts(kpi))
st.caption("What each rail records of the same visitors: counts per rail, next to the truth.")

st.subheader("Where the full stack loses visitors")
wf = overview.waterfall(scenario)
st.altair_chart(charts.waterfall(wf))
st.caption("From every visitor to the visitors (device ids) the full stack counts: who never decided, refused, was blocked, or was split by a cookie reset.")
table_with_downloads(wf, f"waterfall-{scenario.run_id}")
