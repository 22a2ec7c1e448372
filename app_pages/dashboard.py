"""Dashboard: the screens of a web analytics tool (KPIs, traffic over time, top rows), as each rail shows them."""

import streamlit as st

from engine import dashboard as views
from ui import context
from ui.charts import dashboard as charts
from ui.charts.theme import LABELS
from ui.components import dashboard_view as view
from ui.components.downloads import rounded, table_with_downloads
from ui.services import dashboard as data

scenario = context.scenario()
st.title("What your analytics tool would show")
first, last = views.run_days(scenario)

c1, c2 = st.columns(2)
rail = c1.radio("Show it as", views.SHOWN_RAILS, format_func=lambda r: LABELS[r] if r != "modelled" else "Modelled estimate",
                horizontal=True, index=1, key="dash-rail")
preset = c2.radio("Dates", (*views.PRESETS, "custom"), horizontal=True, key="dash-preset")
if preset == "custom":
    picked = st.date_input("Custom range (UTC days of the run)", (first, last), min_value=first, max_value=last, key="dash-range")
    start, end = (picked[0], picked[-1]) if isinstance(picked, tuple) and picked else (first, last)
else:
    start, end = views.preset_range(scenario, preset)
compare = st.toggle("Compare with the truth", value=True, key="dash-compare")
period = f"{start.day} {start:%b} – {end.day} {end:%b %Y}" if start != end else f"{start.day} {start:%b %Y}"
shown = "fullstack" if rail == "modelled" else rail

rows = {by: data.breakdown(scenario, start, end, by, metric) for by, metric, _ in data.PANELS}
misses = views.worst_rows(rows, rail)
st.markdown("#### " + view.takeaway(misses, rail, period))
for m in misses:
    if (w := data.whereabouts(scenario, start, end, rail, m["dimension"], m["row"])) is not None:
        st.caption(view.cause(w, rail, m["value"], scenario.rails.fullstack_sampling))
view.kpi_strip(data.strip(scenario, start, end, rail))
st.caption(view.rail_note(scenario, rail))

st.subheader("Traffic over time")
metric = st.radio("Count", ("visitors", "sessions", "page_views"), format_func=lambda m: m.replace("_", " ").capitalize(),
                  horizontal=True, key="dash-series")
series = data.daily(scenario, start, end, metric)
st.altair_chart(charts.traffic(series, ("truth", shown) if compare else (shown,), metric.replace("_", " ")))
st.caption(f"Whole UTC days, {period}; the run covers {first:%d %b} – {last:%d %b %Y}, every day complete. "
           "A visitor counts once per day, a session on the day it starts.")

labels = {by: heading for by, _, heading in data.PANELS}
for by, metric_by, heading in data.PANELS:
    st.subheader(heading)
    top = rows[by].head(10)
    if by == "country":
        st.altair_chart(charts.country_map(data.with_iso(rows[by]), shown, data.world(), compare))
    st.altair_chart(charts.ranked(top, by, shown, metric_by.replace("_", " "), compare))
    worst = views.most_misread(rows[by], rail, by) if by == "device" and compare else None
    if worst is not None and (w := data.whereabouts(scenario, start, end, rail, by, worst)) is not None and w["counted_elsewhere"]:
        st.caption(view.cause(w, rail, sampling=scenario.rails.fullstack_sampling))
gaps = view.dimension_gaps(rows, rail, labels)
st.caption(
    ("Bars: " + LABELS[shown] + ("; grey behind: the truth; the percentage is the error vs the truth (red: undercounted)."
                                  if compare else ".")) +
    " Top 10 rows by the truth. Map: Natural Earth's countries at 1:110m (world-atlas, shipped with the app)." +
    (f" This rail records nothing for: {', '.join(gaps)}." if gaps else "")
)

with st.expander("Show data"):
    for by, metric_by, heading in data.PANELS:
        st.markdown(f"**{heading}** ({metric_by.replace('_', ' ')}, {period})")
        table_with_downloads(rounded(rows[by], 1), f"dashboard-{by}-{scenario.run_id}-{start}-{end}")
    st.markdown(f"**Traffic over time** ({metric.replace('_', ' ')})")
    table_with_downloads(series.pivot(on="rail", index="day", values="value"), f"dashboard-daily-{scenario.run_id}-{start}-{end}")
    st.caption(context.scenario_caption(scenario))
