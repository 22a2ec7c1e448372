"""Funnels: the same ordered steps counted on each rail, side by side, with drop-off, and broken
down by the truth's device, region and consent state."""

import altair as alt
import polars as pl
import streamlit as st

from engine import datasets
from ui import context
from ui.charts import theme
from ui.components.downloads import table_with_downloads
from ui.services import consent_impact as cd

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
else:
    window_s = int(window_min) * 60
    table, missing = cd.funnel(scenario, steps, window_s)
    rails = ("truth", "baseline", "fullstack")
    order = {e: i for i, e in enumerate(steps)}
    st.subheader("The funnel on each rail")
    st.altair_chart(
        alt.Chart(table).mark_bar().encode(
            x=alt.X("event:N", sort=steps, title=None), xOffset=alt.XOffset("rail:N", sort=list(rails)),
            y=alt.Y("users:Q", title="users reaching the step"), color=theme.rail_color(rails=rails),
            tooltip=["rail", "step", "event", "users", "drop_off", alt.Tooltip("conversion_from_previous:Q", format=".1%")],
        ).properties(height=280)
    )
    st.caption(f"Users reaching each step within {window_min:,} minutes of the first, per rail, each counted by its own id "
               "(visitor id, daily visitor hash, device cookie); computed from the run.")
    st.altair_chart(
        alt.Chart(table).mark_line(point=True).encode(
            x=alt.X("event:N", sort=steps, title=None), y=alt.Y("conversion_from_start:Q", title="share of step-1 users", axis=alt.Axis(format="%")),
            color=theme.rail_color(rails=rails), tooltip=["rail", "event", alt.Tooltip("conversion_from_start:Q", format=".1%")],
        ).properties(height=240)
    )
    st.caption("Share of each rail's step-1 users still in the funnel at each step: the drop-off curve.")
    for rail, events in missing.items():
        st.info(f"{theme.LABELS[rail]} never records {', '.join(events)}: its zeros there are blindness, not drop-off.")
    table_with_downloads(table.with_columns(pl.selectors.float().round(4)), f"funnel-{scenario.run_id}")

    st.subheader("Breakdown by device, region and consent state")
    breakdown = cd.funnel_breakdown(scenario, steps, window_s)
    last = breakdown.filter(pl.col("step") == len(steps))
    dims = {"device": "Device", "region": "Region", "consent_choice": "Consent state"}
    for tab, (dim, label) in zip(st.tabs(list(dims.values())), dims.items(), strict=True):
        with tab:
            part = last.filter(pl.col("dimension") == dim)
            st.altair_chart(
                alt.Chart(part).mark_bar().encode(
                    x=alt.X("value:N", title=label), xOffset=alt.XOffset("rail:N", sort=list(rails)),
                    y=alt.Y("conversion_from_start:Q", title=f"step 1 → {steps[-1]}", axis=alt.Axis(format="%")),
                    color=theme.rail_color(rails=rails),
                    tooltip=["rail", "value", "users", alt.Tooltip("conversion_from_start:Q", format=".1%")],
                ).properties(height=260)
            )
            st.caption(f"Share of step-1 users who reach the last step, by the truth's {label.lower()} of the visitor behind each "
                       "rail user (joined through the event id); computed from the run.")
    table_with_downloads(breakdown.with_columns(pl.selectors.float().round(4)).sort("dimension", "value", "rail", "step"),
                         f"funnel-breakdown-{scenario.run_id}")
