"""Attribution: who gets the credit for the conversions, under five rule-based models, on the truth's
journeys and on what each rail can stitch together. Each section leads with its finding."""

import polars as pl
import streamlit as st

from engine.attribution import MODEL_LABELS, MODELS, NONE_CHANNEL
from ui import context
from ui.charts import attribution as charts
from ui.charts.theme import LABELS, show
from ui.components.downloads import rounded, table_with_downloads
from ui.components.takeaway import takeaway
from ui.present import data_expander, note
from ui.services import attribution
from ui.words import num, signed, t

scenario = context.scenario()
st.title(t("attribution.title"))
note(context.scenario_caption(scenario))

# Last touch first: the view most reports default to, so the room starts from what it knows.
model = st.selectbox(t("attribution.model"), MODELS, index=MODELS.index("last_touch"), format_func=MODEL_LABELS.get, key="attr.model",
                     help=t("attribution.model_help"))
table, pings = attribution.credit(scenario, model)
takeaway(attribution.takeaway(table, scenario.consent.banner, model))
if table.is_empty():
    st.stop()

value_word = t("attribution.value_revenue" if table["value"][0] == "revenue" else "attribution.value_conversions")
totals = dict(table.group_by("rail").agg(pl.col("credit").sum()).iter_rows())
convs = dict(table.group_by("rail").agg(pl.col("conversions").first()).iter_rows())
for col, rail in zip(st.columns(3), ("truth", "baseline", "fullstack"), strict=True):
    gap = totals[rail] / totals["truth"] - 1 if rail != "truth" and totals["truth"] else None
    # A rail that sees less value than the truth shows the loss in red, more in grey (never a green "gain").
    delta = None if gap is None or abs(gap) < 0.005 else t("attribution.vs_truth", change=signed(gap * 100) + "%")
    col.metric(t("attribution.to_share", value=value_word, rail=LABELS[rail]), num(totals[rail]), delta,
               delta_color="red" if (gap or 0) < 0 else "gray", delta_arrow="off" if delta is None else ("down" if (gap or 0) < 0 else "up"),
               help=t("attribution.to_share_help", conversions=num(convs[rail])))

st.subheader(t("attribution.shares_title"))
takeaway(attribution.shares_takeaway(table))
show(charts.shares(table))
note(t("attribution.shares_note", none=NONE_CHANNEL))

st.subheader(t("attribution.errors_title"))
takeaway(attribution.errors_takeaway(table))
show(charts.errors(table))
note(t("attribution.errors_note"))
if pings:
    st.info(t("attribution.pings", pings=num(pings)))

with data_expander():
    shown = table.with_columns(rail=pl.col("rail").replace_strict(LABELS, default=pl.col("rail")))
    table_with_downloads(rounded(shown), f"attribution-{model}-{scenario.run_id}")
