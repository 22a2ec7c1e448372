"""Dashboard: the screens of a web analytics tool (KPIs, traffic over time, top rows), as each rail shows them.
Each section leads with its finding."""

import streamlit as st

from engine import dashboard as views
from ui import context
from ui.charts import dashboard as charts
from ui.charts.theme import LABELS, show
from ui.components import dashboard_story as story
from ui.components import dashboard_view as view
from ui.components.downloads import rounded, table_with_downloads
from ui.components.takeaway import lead, takeaway
from ui.present import data_expander, note
from ui.services import dashboard as data
from ui.words import t

scenario = context.scenario()
st.title(t("dashboard.title"))
first, last = views.run_days(scenario)

c1, c2 = st.columns(2)
rail = c1.radio(t("dashboard.show_as"), views.SHOWN_RAILS, format_func=LABELS.get, horizontal=True, index=1, key="dash-rail")
preset = c2.radio(t("dashboard.dates"), (*views.PRESETS, "custom"), horizontal=True, key="dash-preset")
if preset == "custom":
    picked = st.date_input(t("dashboard.custom_range"), (first, last), min_value=first, max_value=last, key="dash-range")
    start, end = (picked[0], picked[-1]) if isinstance(picked, tuple) and picked else (first, last)
else:
    start, end = views.preset_range(scenario, preset)
compare = st.toggle(t("dashboard.compare"), value=True, key="dash-compare")
period = f"{start.day} {start:%b} – {end.day} {end:%b %Y}" if start != end else f"{start.day} {start:%b %Y}"
shown = "fullstack" if rail == "modelled" else rail

rows = {by: data.breakdown(scenario, start, end, by, metric) for by, metric, _ in data.PANELS}
misses = views.worst_rows(rows, rail)
lead(view.takeaway(misses, rail, period))
for m in misses:
    if (w := data.whereabouts(scenario, start, end, rail, m["dimension"], m["row"])) is not None:
        note(view.cause(w, rail, m["value"], scenario.rails.fullstack_sampling))
view.kpi_strip(data.strip(scenario, start, end, rail))
note(view.rail_note(scenario, rail))

st.subheader(t("dashboard.traffic_title"))
metric = st.radio(t("dashboard.count"), ("visitors", "sessions", "page_views"), format_func=lambda m: t(f"charts.metric_{m}").capitalize(),
                  horizontal=True, key="dash-series")
series = data.daily(scenario, start, end, metric)
takeaway(story.traffic_takeaway(series, shown, metric))
show(charts.traffic(series, ("truth", shown) if compare else (shown,), t(f"charts.metric_{metric}")))
note(t("dashboard.traffic_note", period=period, first=f"{first:%d %b}", last=f"{last:%d %b %Y}"))

for by, _, _ in data.PANELS:
    st.subheader(t(f"dashboard.panel_{by}"))
    takeaway(story.panel_takeaway(rows[by], by, shown))
    top = rows[by].head(10)
    if by == "country":
        show(charts.country_map(data.with_iso(rows[by]), shown, data.world(), compare))
    show(charts.ranked(top, by, shown, t(f"charts.metric_{dict((b, m) for b, m, _ in data.PANELS)[by]}"), compare))
    worst = views.most_misread(rows[by], rail, by) if by == "device" and compare else None
    if worst is not None and (w := data.whereabouts(scenario, start, end, rail, by, worst)) is not None and w["counted_elsewhere"]:
        note(view.cause(w, rail, sampling=scenario.rails.fullstack_sampling))
gaps = view.dimension_gaps(rows, rail, {by: t(f"dashboard.panel_{by}") for by, _, _ in data.PANELS})
note(" ".join([t("dashboard.bars_compare_note" if compare else "dashboard.bars_note", rail=LABELS[shown]), t("dashboard.top_note")]
              + ([t("dashboard.gaps_note", gaps=", ".join(gaps))] if gaps else [])))

with data_expander():
    for by, metric_by, _ in data.PANELS:
        st.markdown(t("dashboard.table_heading", heading=t(f"dashboard.panel_{by}"), what=t(f"charts.metric_{metric_by}"), period=period))
        table_with_downloads(rounded(rows[by], 1), f"dashboard-{by}-{scenario.run_id}-{start}-{end}")
    st.markdown(t("dashboard.table_heading", heading=t("dashboard.traffic_title"), what=t(f"charts.metric_{metric}"), period=period))
    table_with_downloads(series.pivot(on="rail", index="day", values="value"), f"dashboard-daily-{scenario.run_id}-{start}-{end}")
    st.caption(context.scenario_caption(scenario))
