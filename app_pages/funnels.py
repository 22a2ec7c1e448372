"""Funnels: the same ordered steps counted on each rail, side by side, with drop-off, and broken
down by the truth's device, region and consent state."""

import polars as pl
import streamlit as st

from engine import datasets
from ui import context
from ui.charts import funnels as charts
from ui.charts.theme import LABELS
from ui.components.downloads import rounded, table_with_downloads
from ui.services import funnels

scenario = context.scenario()
site = datasets.site(scenario.site.kind)
st.title("Funnels")
st.caption(context.scenario_caption(scenario))

# Steps kept from another site kind would not be options any more: start from this site's funnel.
if any(s not in site["events"] for s in st.session_state.get("fn.steps", [])):
    st.session_state["fn.steps"] = list(site["funnel"])
c1, c2 = st.columns([3, 1])
steps = c1.multiselect("Steps, in the order you pick them", site["events"], default=site["funnel"], key="fn.steps",
                       help="Events of this site's taxonomy; a visitor counts at a step after doing every earlier step in order.")
window_min = c2.number_input("Window (minutes)", min_value=1, max_value=90 * 24 * 60, value=60, step=15, key="fn.window_minutes",
                             help="Time allowed from a user's first step to their last.")

if not steps:
    st.info("Pick at least one step to build a funnel.")
    st.stop()
window_s = int(window_min) * 60
table, missing = funnels.funnel(scenario, tuple(steps), window_s)
st.subheader("The funnel on each rail")
st.altair_chart(charts.users_per_step(table, steps))
st.caption(f"Users reaching each step within {window_min:,} minutes of the first, per rail, each counted by its own id "
           "(visitor id, daily visitor hash, device cookie); a sampled full stack's users are scaled back by its sampling tier; "
           "computed from the run.")
st.altair_chart(charts.drop_off(table, steps))
st.caption("Share of each rail's step-1 users still in the funnel at each step: the drop-off curve.")
for rail, events in missing.items():
    st.info(f"{LABELS[rail]} never records {', '.join(events)}: its zeros there are blindness, not drop-off.")
table_with_downloads(rounded(table), f"funnel-{scenario.run_id}")

st.subheader("Breakdown by device, region and consent state")
breakdown = funnels.funnel_breakdown(scenario, tuple(steps), window_s)
last = breakdown.filter(pl.col("step") == len(steps))
dims = {"device": "Device", "region": "Region", "consent_choice": "Consent state"}
for tab, (dim, label) in zip(st.tabs(list(dims.values())), dims.items(), strict=True):
    with tab:
        st.altair_chart(charts.breakdown(last.filter(pl.col("dimension") == dim), label, steps[-1]))
        st.caption(f"Share of step-1 users who reach the last step, by the truth's {label.lower()} of the visitor behind each "
                   "rail user (joined through the event id); computed from the run.")
table_with_downloads(rounded(breakdown).sort("dimension", "value", "rail", "step"), f"funnel-breakdown-{scenario.run_id}")
