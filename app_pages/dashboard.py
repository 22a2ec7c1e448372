"""Dashboard: the screens of a web analytics tool (KPIs, traffic over time, top rows), as each rail shows them.
Each section leads with its finding."""

import streamlit as st

from engine import dashboard as views
from ui import context, pin
from ui.charts import dashboard as charts
from ui.charts import pinned as pinned_charts
from ui.charts.theme import rail_label, show
from ui.components import dashboard_story as story
from ui.components import dashboard_view as view
from ui.components.downloads import people_table
from ui.components.takeaway import lead, takeaway
from ui.present import note
from ui.services import dashboard as data
from ui.words import day, t

scenario = context.scenario()
pinned = pin.pinned_scenario()
st.title(t("dashboard.title"))
first, last = views.run_days(scenario)

c1, c2 = st.columns(2)
rail = c1.radio(t("dashboard.show_as"), views.SHOWN_RAILS, format_func=rail_label, horizontal=True, index=1, key="dash-rail")
preset = c2.radio(t("dashboard.dates"), (*views.PRESETS, "custom"), horizontal=True, key="dash-preset",
                  format_func=lambda p: t(f"dashboard.preset_{p.replace(' ', '_')}"))
if preset == "custom":
    picked = st.date_input(t("dashboard.custom_range"), (first, last), min_value=first, max_value=last, key="dash-range",
                           format=view.date_format())
    start, end = (picked[0], picked[-1]) if isinstance(picked, tuple) and picked else (first, last)
else:
    start, end = views.preset_range(scenario, preset)
compare = st.toggle(t("dashboard.compare"), value=True, key="dash-compare")
period = t("dashboard.period", start=day(start), end=day(end)) if start != end else day(start)
shown = "fullstack" if rail == "modelled" else rail

rows = {by: data.breakdown(scenario, start, end, by, metric) for by, metric in data.PANELS}
misses = views.worst_rows(rows, rail)
lead(view.takeaway(misses, rail, period))
for m in misses:
    if (w := data.whereabouts(scenario, start, end, rail, m["dimension"], m["row"])) is not None:
        note(view.cause(w, rail, m["value"], scenario.rails.fullstack_sampling))
view.kpi_strip(data.strip(scenario, start, end, rail), data.strip(pinned, start, end, rail) if pinned is not None else None)
note(view.rail_note(scenario, rail) + (" " + t("dashboard.pinned_note") if pinned is not None else ""))

st.subheader(t("dashboard.traffic_title"))
metric = st.radio(t("dashboard.count"), ("visitors", "sessions", "page_views"), format_func=lambda m: t(f"common.metric.{m}"),
                  horizontal=True, key="dash-series")
series = data.daily(scenario, start, end, metric)
takeaway(story.traffic_takeaway(series, shown, metric))
lines = ("truth", shown) if compare else (shown,)
if pinned is None:
    show(charts.traffic(series, lines, t(f"common.metric.{metric}")))
else:  # the pinned scenario's lines faint behind the current ones
    show(pinned_charts.traffic(series, data.daily(pinned, start, end, metric), lines, t(f"common.metric.{metric}")))
note(t("dashboard.traffic_note", period=period, first=day(first), last=day(last)))
people_table(series.pivot(on="rail", index="day", values="value"), f"dashboard-daily-{scenario.run_id}-{start}-{end}")

for by, metric_by in data.PANELS:
    st.subheader(t(f"dashboard.panel_{by}"))
    takeaway(story.panel_takeaway(rows[by], by, shown))
    named = view.rows_in_words(rows[by], by)
    if by == "country":
        show(charts.country_map(view.rows_in_words(data.with_iso(rows[by]), by), shown, data.world(), compare))
    show(charts.ranked(named.head(10), by, shown, t(f"common.metric.{metric_by}"), compare))
    worst = views.most_misread(rows[by], rail, by) if by == "device" and compare else None
    if worst is not None and (w := data.whereabouts(scenario, start, end, rail, by, worst)) is not None and w["counted_elsewhere"]:
        note(view.cause(w, rail, sampling=scenario.rails.fullstack_sampling))
    people_table(rows[by], f"dashboard-{by}-{scenario.run_id}-{start}-{end}", shown=lambda f, by=by: view.rows_in_words(f, by), digits=1)
gaps = view.dimension_gaps(rows, rail, {by: t(f"dashboard.panel_{by}") for by, _ in data.PANELS})
note(" ".join([t("dashboard.bars_compare_note" if compare else "dashboard.bars_note", rail=rail_label(shown)), t("dashboard.top_note")]
              + ([t("dashboard.gaps_note", gaps=", ".join(gaps))] if gaps else [])))
note(context.scenario_caption(scenario))
