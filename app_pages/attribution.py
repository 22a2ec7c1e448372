"""Attribution: who gets the credit for the conversions, under five rule-based models, on the truth's
journeys and on what each rail can stitch together. Each section leads with its finding."""

import polars as pl
import streamlit as st

from engine.attribution import MODELS
from ui import context, pin
from ui.charts import attribution as charts
from ui.charts.theme import rail_label, show
from ui.components.downloads import people_table
from ui.components.rail_metrics import delta
from ui.components.takeaway import takeaway
from ui.present import note
from ui.services import attribution
from ui.words import num, t

scenario = context.scenario()
pinned = pin.pinned_scenario()
st.title(t("attribution.title"))
note(context.scenario_caption(scenario))

# Last touch first: the view most reports default to, so the room starts from what it knows.
model = st.selectbox(t("attribution.model"), MODELS, index=MODELS.index("last_touch"), format_func=lambda m: t(f"common.model.{m}"),
                     key="attr.model", help=t("attribution.model_help"))
table, pings = attribution.credit(scenario, model)
takeaway(attribution.takeaway(table, scenario.consent.banner, model))
if table.is_empty():
    st.stop()

value_word = t("attribution.value_revenue" if table["value"][0] == "revenue" else "attribution.value_conversions")
totals = dict(table.group_by("rail").agg(pl.col("credit").sum()).iter_rows())
convs = dict(table.group_by("rail").agg(pl.col("conversions").first()).iter_rows())
pinned_table = attribution.credit(pinned, model)[0] if pinned is not None else None
before = dict(pinned_table.group_by("rail").agg(pl.col("credit").sum()).iter_rows()) if pinned_table is not None else None
for col, rail in zip(st.columns(3), ("truth", "baseline", "fullstack"), strict=True):
    # Without a pin: the loss against the truth in red, an over-count grey (never a green "gain"); with a pin,
    # the change against the pinned scenario on the same visitors, the gap to the truth beside it.
    d = delta(totals[rail], totals["truth"], None if before is None else before.get(rail, 0.0), rail == "truth")
    col.metric(t("attribution.to_share", value=value_word, rail=rail_label(rail)), num(totals[rail]), d.text,
               delta_color=d.colour, delta_arrow=d.arrow, delta_description=d.description,
               help=t("attribution.to_share_help", conversions=num(convs[rail])))
if before is not None:
    note(t("attribution.pinned_note"))

shown = attribution.in_words(table)  # channels by name: the charts show data values as they are
st.subheader(t("attribution.shares_title"))
takeaway(attribution.shares_takeaway(table))
show(charts.shares(shown, None if pinned_table is None else attribution.in_words(pinned_table)))  # the pin: faint ticks
note(t("attribution.shares_note", none=t("common.none_channel")))

st.subheader(t("attribution.errors_title"))
takeaway(attribution.errors_takeaway(table))
show(charts.errors(shown))
note(t("attribution.errors_note"))
if pings:
    st.info(t("attribution.pings", pings=num(pings)))
people_table(table, f"attribution-{model}-{scenario.run_id}", {"value": t("attribution.col_value")}, digits=4)
