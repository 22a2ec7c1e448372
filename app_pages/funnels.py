"""Funnels: the same ordered steps counted on each rail, side by side, with drop-off, and broken
down by the truth's device, region and consent state. Each section leads with its finding."""

import streamlit as st

from engine import datasets
from ui import context, pin
from ui.charts import funnels as charts
from ui.charts.theme import rail_label, show
from ui.components import funnel_story as story
from ui.components.downloads import people_table
from ui.components.takeaway import takeaway
from ui.present import note
from ui.words import language, num, t

scenario = context.scenario()
pinned = pin.pinned_scenario()
site = datasets.site(scenario.site.kind)
st.title(t("funnels.title"))
note(context.scenario_caption(scenario))

# Steps kept from another site kind would not be options any more: start from this site's funnel.
if any(s not in site["events"] for s in st.session_state.get("fn.steps", [])):
    st.session_state["fn.steps"] = list(site["funnel"])
c1, c2 = st.columns([3, 1])
steps = c1.multiselect(t("funnels.steps"), site["events"], default=site["funnel"], key="fn.steps", help=t("funnels.steps_help"),
                       format_func=story.event_name)
window_min = c2.number_input(t("funnels.window"), min_value=1, max_value=90 * 24 * 60, value=60, step=15, key="fn.window_minutes",
                             help=t("funnels.window_help"))

if not steps:
    st.info(t("funnels.pick_steps"))
    st.stop()
window_s = int(window_min) * 60
view = story.view(scenario, tuple(steps), window_s, pinned.canonical_json() if pinned is not None else None, language())
st.subheader(t("funnels.funnel_title"))
takeaway(view.takeaway)
# The charts show data values as they are: the events go in by name (and the steps' order with them).
named = [story.event_name(e) for e in steps]
show(charts.users_per_step(view.named, named, view.before_named))
note(t("funnels.users_note", minutes=num(window_min)) + (" " + t("funnels.pinned_note") if view.before_named is not None else ""))
show(charts.drop_off(view.named, named))
note(t("funnels.drop_note"))
for rail, events in view.missing.items():
    st.info(t("funnels.never_records", rail=rail_label(rail), events=", ".join(story.event_name(e) for e in events)))
people_table(view.table, f"funnel-{scenario.run_id}", digits=4)

st.subheader(t("funnels.breakdown_title"))
for tab, (dim, part, sentence) in zip(st.tabs([t(f"funnels.tab_{d}") for d in story.BREAKDOWN_DIMS]), view.parts, strict=True):
    with tab:
        takeaway(sentence)
        show(charts.breakdown(part, t(f"funnels.tab_{dim}"), named[-1]))
        note(t("funnels.breakdown_note", label=t(f"funnels.tab_{dim}").lower()))
people_table(view.breakdown, f"funnel-breakdown-{scenario.run_id}", digits=4)
