"""Data quality: what each rail captured of the truth, duplicates, missing fields, late hits and skewed clocks."""

import polars as pl
import streamlit as st

from engine.datasets import source_note
from engine.quality import late_after_s, takeaway
from ui import context
from ui.charts import data_quality as charts
from ui.components.downloads import rounded, table_with_downloads
from ui.components.sampling_note import sampling_note
from ui.services import data_quality

scenario = context.scenario()
rid = scenario.run_id
st.title("Data quality")
rep = data_quality.report(scenario)
st.markdown(f"**{takeaway(rep)}**")

summary = {r["rail"]: r for r in rep.summary.iter_rows(named=True)}
cap = {(r["rail"], r["event"]): r["capture_rate"] for r in rep.capture.iter_rows(named=True)}
full = summary["fullstack"]
cols = st.columns(4)
cols[0].metric("Baseline: true page views recorded", f"{cap[('baseline', 'page_view')]:.0%}")
cols[1].metric("Full stack: true page views recorded", f"{cap[('fullstack', 'page_view')]:.0%}")
cols[2].metric(f"Full stack: hits over {late_after_s() / 60:.0f} min late", f"{full['late_share'] or 0:.1%}")
cols[3].metric("Full stack: clocks off by over an hour", f"{full['skew_over_1h_share'] or 0:.1%}")
sampling_note(scenario)
st.caption(context.scenario_caption(scenario))

st.subheader("What each rail captured of the truth")
st.altair_chart(charts.capture(rep.capture))
st.caption("Share of the true events each rail recorded, by event type. The baseline records page views and "
           "orders only, but all of them; the full stack records every type, for those who consent and do not block it.")

st.subheader("When the full stack's hits arrive, and how wrong their clocks are")
left, right = st.columns(2)
with left:
    st.altair_chart(charts.timing(rep.timing, "delay"))
    st.caption("Delay from the event to the collector's receipt. Hits queued on a device (offline, retried) arrive minutes to a day later.")
with right:
    st.altair_chart(charts.timing(rep.timing, "clock skew"))
    st.caption("How far the browser's own clock is from the true time. The server-side baseline has no client clock.")
st.caption(source_note("quality", "clock_skew") + " " + source_note("quality", "delivery_delay"))

with st.expander("Show data: duplicates and missing fields per rail"):
    st.altair_chart(charts.missing(rep.missing))
    st.caption("Fields left empty by design count too: a cookieless ping carries no ids, a page view no revenue.")
    shown = rep.summary.with_columns(pl.col("rail").replace({"baseline": "Privacy baseline (Rail A)", "fullstack": "Full stack (Rail B)"}))
    table_with_downloads(rounded(shown), f"quality-summary-{rid}")
    table_with_downloads(rounded(rep.missing), f"quality-missing-{rid}")
    table_with_downloads(rounded(rep.capture), f"quality-capture-{rid}")
    st.caption("A simulated run has no duplicates; the collector refuses a repeated event id at the door and "
               "reports how many it refused at GET /api/v1/quality.")
