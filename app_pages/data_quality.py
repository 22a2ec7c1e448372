"""Data quality: what each rail captured of the truth, duplicates, missing fields, late hits and skewed clocks."""

import polars as pl
import streamlit as st

from engine.datasets import source_note
from engine.quality import QualityReport, late_after_s
from ui import context, pin
from ui.charts import data_quality as charts
from ui.charts import theme
from ui.components import data_words
from ui.components.downloads import rounded, table_with_downloads
from ui.components.pin_delta import points
from ui.components.sampling_note import sampling_note
from ui.present import note, show_data
from ui.services import data_quality
from ui.words import num, pct, t


def headline(rep: QualityReport) -> dict[str, float]:
    """The four headline shares: page views each rail recorded, late hits and skewed clocks on the full stack."""
    full = rep.summary.filter(pl.col("rail") == "fullstack").row(0, named=True)
    cap = {(r["rail"], r["event"]): r["capture_rate"] for r in rep.capture.iter_rows(named=True)}
    return {"baseline_pv": cap[("baseline", "page_view")], "fullstack_pv": cap[("fullstack", "page_view")],
            "late": full["late_share"] or 0, "skew": full["skew_over_1h_share"] or 0}


scenario = context.scenario()
rid = scenario.run_id
st.title(t("data_quality.title"))
rep = data_quality.report(scenario)
pinned = pin.pinned_scenario()
pinned_rep = data_quality.report(pinned) if pinned is not None else None  # cached: the pin was this page's scenario a moment ago
head = headline(rep)
before = headline(pinned_rep) if pinned_rep is not None else {}
cap = {(r["rail"], r["event"]): r["capture_rate"] for r in rep.capture.iter_rows(named=True)}
minutes = num(late_after_s() / 60)
late, skew = head["late"], head["skew"]
st.markdown(t("data_quality.lead", baseline_pv=pct(head["baseline_pv"]), fullstack_pv=pct(head["fullstack_pv"]),
              late=pct(late, 1), minutes=minutes, skew=pct(skew, 1)))
cols = st.columns(4)
for col, key, label, digits in ((cols[0], "baseline_pv", t("data_quality.metric_baseline_pv"), 0),
                                (cols[1], "fullstack_pv", t("data_quality.metric_fullstack_pv"), 0),
                                (cols[2], "late", t("data_quality.metric_late", minutes=minutes), 1),
                                (cols[3], "skew", t("data_quality.metric_skew"), 1)):
    col.metric(label, pct(head[key], digits), **points(head[key], before.get(key)))
sampling_note(scenario)
note(context.scenario_caption(scenario))

st.subheader(t("data_quality.capture_heading"))
by_type = rep.capture.filter(pl.col("rail") == "fullstack", pl.col("event") != "all", pl.col("truth") > 0).sort("capture_rate")
st.markdown(t("data_quality.capture_lead", low=pct(by_type["capture_rate"][0]), low_event=data_words.event(by_type["event"][0]),
              high=pct(by_type["capture_rate"][-1]), high_event=data_words.event(by_type["event"][-1]),
              baseline_orders=pct(cap.get(("baseline", "purchase"), 0))))
theme.show(charts.capture(rep.capture, None if pinned_rep is None else pinned_rep.capture))  # the pin: faint ticks
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
st.markdown(t("data_quality.missing_lead", field=data_words.field(gaps["field"][0]), rate=pct(gaps["missing_rate"][0])))
theme.show(charts.missing(rep.missing, None if pinned_rep is None else pinned_rep.missing))
note(t("data_quality.missing_note"))
RATES = ("duplicate_rate", "late_share", "skew_over_1s_share", "skew_over_1h_share", "missing_rate", "capture_rate")
WORDS = {"rail": theme.rail_label, "event": data_words.event, "field": data_words.field}
with show_data("data-quality") as opened:
    if opened:
        for frame, name in ((rep.summary, "summary"), (rep.missing, "missing"), (rep.capture, "capture")):
            shown = data_words.in_words(rounded(frame), WORDS)
            table_with_downloads(shown, f"quality-{name}-{rid}",
                                 column_config=data_words.columns(shown, lambda c: t(f"data_quality.col.{c}"), percent=RATES))
        note(t("data_quality.duplicates_note"))
