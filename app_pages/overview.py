"""Overview: the story on the first screen (lead sentence, three big numbers, where the hits go),
then what each rail records and where the full stack loses visitors; the method one click away."""

import streamlit as st

from ui import context, pin
from ui.charts import overview as charts
from ui.charts.theme import show
from ui.components import overview_story as story
from ui.components.downloads import people_table
from ui.components.rail_metrics import big_numbers, kpi_view
from ui.components.sampling_note import sampling_note
from ui.components.takeaway import lead, takeaway
from ui.present import note, presenting
from ui.services import overview, simulation
from ui.words import t

scenario = context.scenario()
pinned = pin.pinned_scenario()
kpi = simulation.kpi_table(scenario)
pinned_kpi = simulation.kpi_table(pinned) if pinned is not None else None
wf = overview.waterfall(scenario)

st.title(t("overview.title"))
lead(story.lead(kpi, scenario, pinned_kpi))
big_numbers(kpi, "visitors", pinned_kpi)
st.html(story.DIAGRAM_CSS)
for direction in ("LR", "TB"):  # one shown by screen width (CSS): left to right on a wide screen, top down on a phone
    with st.container(key=f"diagram-{direction.lower()}"):
        st.graphviz_chart(story.diagram(wf, scenario, direction, big=presenting()), width="stretch")
with st.expander(t("overview.method_title")):
    st.markdown(t("overview.method"))
    st.caption(t("overview.method_error"))
    st.caption(context.scenario_caption(scenario))
sampling_note(scenario)

st.subheader(t("overview.counts_title"))
takeaway(story.counts_takeaway(kpi))
show(charts.rail_counts(kpi, pinned_kpi))
note(t("overview.counts_note") + (" " + t("overview.pinned_note") if pinned_kpi is not None else ""))
people_table(kpi, f"kpis-{scenario.run_id}", shown=kpi_view, digits=4)

st.subheader(t("overview.waterfall_title"))
takeaway(story.waterfall_takeaway(wf))
show(charts.waterfall(wf))
note(t("overview.waterfall_note"))
people_table(wf, f"waterfall-{scenario.run_id}", shown=story.waterfall_in_words)
