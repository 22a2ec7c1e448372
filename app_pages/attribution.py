"""Attribution: who gets the credit for the conversions, under five rule-based models, on the truth's
journeys and on what each rail can stitch together."""

import polars as pl
import streamlit as st

from engine.attribution import MODEL_LABELS, MODELS, NONE_CHANNEL
from ui import context
from ui.charts import attribution as charts
from ui.charts.theme import LABELS
from ui.components.downloads import rounded, table_with_downloads
from ui.services import attribution

scenario = context.scenario()
st.title("Attribution: who gets the credit")
st.caption(context.scenario_caption(scenario))

# Last touch first: the view most reports default to, so the room starts from what it knows.
model = st.selectbox("Attribution model", MODELS, index=MODELS.index("last_touch"), format_func=MODEL_LABELS.get, key="attr.model",
                     help="How a conversion's value is shared among the visits of its journey in the 30 days before it: "
                          "all to the first or the last visit, equally, 40% first / 20% middle / 40% last, "
                          "or by a weight halving every 7 days back.")
table, pings = attribution.credit(scenario, model)
st.markdown(f"**{attribution.takeaway(table, scenario.consent.banner, model)}**")
if table.is_empty():
    st.stop()

value_word = "Revenue" if table["value"][0] == "revenue" else "Conversions"
totals = dict(table.group_by("rail").agg(pl.col("credit").sum()).iter_rows())
convs = dict(table.group_by("rail").agg(pl.col("conversions").first()).iter_rows())
cols = st.columns(3)
for col, rail in zip(cols, ("truth", "baseline", "fullstack"), strict=True):
    gap = totals[rail] / totals["truth"] - 1 if rail != "truth" and totals["truth"] else None
    # A rail that sees less value than the truth shows the loss in red; no arrow when it sees it all.
    delta = None if gap is None or abs(gap) < 0.005 else f"{gap:+.0%} vs truth"
    col.metric(f"{value_word} to share out · {LABELS[rail]}", f"{totals[rail]:,.0f}", delta,
               help=f"{convs[rail]:,} conversions this rail can see and credit.")

st.subheader("Each channel's share of the credit")
st.altair_chart(charts.shares(table))
st.caption("Share of each rail's conversion value credited to each acquisition channel (the landing channel of each "
           "visit; visits without a source count as direct). Journeys: the truth follows each visitor across days and "
           "devices; the privacy baseline sees one visitor hash for one day; the full stack follows a device cookie until "
           "it is reset, refused, blocked or capped by Safari's 7-day limit, joined across devices by the login. "
           f"Computed from the run. {NONE_CHANNEL} = a conversion with no visit in its 30-day window.")

st.subheader("Which channels the rails misjudge")
st.altair_chart(charts.errors(table))
st.caption("Each rail's share minus the truth's share, in percentage points: right of zero, the rail gives that "
           "channel more of the credit than it earned; left, less.")
if pings:
    st.info(f"The full stack also received {pings:,} conversions only as cookieless pings (Consent Mode advanced): "
            "no cookie, no user id and no revenue, so they cannot be attributed to any channel and are left out of its "
            "credit.")

with st.expander("Show data"):
    shown = table.with_columns(rail=pl.col("rail").replace_strict(LABELS, default=pl.col("rail")))
    table_with_downloads(rounded(shown), f"attribution-{model}-{scenario.run_id}")
