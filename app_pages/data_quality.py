"""Data quality: what each rail captured of the truth, duplicates, missing fields, late hits and skewed clocks."""

import polars as pl
import streamlit as st

from engine.datasets import source_note
from engine.quality import late_after_s
from ui import context
from ui.charts import data_quality as charts
from ui.charts import theme
from ui.components.downloads import rounded, table_with_downloads
from ui.components.sampling_note import sampling_note
from ui.present import data_expander, note
from ui.services import data_quality
from ui.words import pct, t

scenario = context.scenario()
rid = scenario.run_id
st.title(t("data_quality.title"))
rep = data_quality.report(scenario)
summary = {r["rail"]: r for r in rep.summary.iter_rows(named=True)}
cap = {(r["rail"], r["event"]): r["capture_rate"] for r in rep.capture.iter_rows(named=True)}
full = summary["fullstack"]
minutes = f"{late_after_s() / 60:.0f}"
late, skew = full["late_share"] or 0, full["skew_over_1h_share"] or 0
st.markdown(t("data_quality.lead", baseline_pv=pct(cap[("baseline", "page_view")]), fullstack_pv=pct(cap[("fullstack", "page_view")]),
              late=pct(late, 1), minutes=minutes, skew=pct(skew, 1)))
cols = st.columns(4)
cols[0].metric(t("data_quality.metric_baseline_pv"), pct(cap[("baseline", "page_view")]))
cols[1].metric(t("data_quality.metric_fullstack_pv"), pct(cap[("fullstack", "page_view")]))
cols[2].metric(t("data_quality.metric_late", minutes=minutes), pct(late, 1))
cols[3].metric(t("data_quality.metric_skew"), pct(skew, 1))
sampling_note(scenario)
note(context.scenario_caption(scenario))

st.subheader(t("data_quality.capture_heading"))
by_type = rep.capture.filter(pl.col("rail") == "fullstack", pl.col("event") != "all", pl.col("truth") > 0).sort("capture_rate")
st.markdown(t("data_quality.capture_lead", low=pct(by_type["capture_rate"][0]), low_event=by_type["event"][0].replace("_", " "),
              high=pct(by_type["capture_rate"][-1]), high_event=by_type["event"][-1].replace("_", " "),
              baseline_orders=pct(cap.get(("baseline", "purchase"), 0))))
theme.show(charts.capture(rep.capture))
note(t("data_quality.capture_note"))

st.subheader(t("data_quality.timing_heading"))
delay = rep.timing.filter(pl.col("measure") == "delay").sort("order")
st.markdown(t("data_quality.timing_lead", on_time=pct(delay["share"][0], 1), late=pct(late, 1), minutes=minutes))
left, right = st.columns(2)
with left:
    theme.show(charts.timing(rep.timing, "delay"))
    note(t("data_quality.delay_note"))
with right:
    theme.show(charts.timing(rep.timing, "clock skew"))
    note(t("data_quality.skew_note"))
with st.expander(t("data_quality.sources_title")):
    st.caption(source_note("quality", "clock_skew") + " " + source_note("quality", "delivery_delay"))

st.subheader(t("data_quality.missing_heading"))
gaps = rep.missing.filter(pl.col("rail") == "fullstack").sort("missing_rate", descending=True)
st.markdown(t("data_quality.missing_lead", field=gaps["field"][0].replace("_", " "), rate=pct(gaps["missing_rate"][0])))
with data_expander():
    theme.show(charts.missing(rep.missing))
    note(t("data_quality.missing_note"))
    shown = rep.summary.with_columns(pl.col("rail").replace({"baseline": t("data_quality.baseline"), "fullstack": t("data_quality.fullstack")}))
    table_with_downloads(rounded(shown), f"quality-summary-{rid}")
    table_with_downloads(rounded(rep.missing), f"quality-missing-{rid}")
    table_with_downloads(rounded(rep.capture), f"quality-capture-{rid}")
    note(t("data_quality.duplicates_note"))
