"""Profiles: what the full stack learns about people. A persona guessed from each rail's events alone,
scored against the simulator's true personas, and what published sources say such a profile is worth."""

import polars as pl
import streamlit as st

from ui import context
from ui.charts import profiles as charts
from ui.charts import theme
from ui.components.downloads import rounded, table_with_downloads
from ui.present import data_expander, note
from ui.services import profiles
from ui.words import num, pct, t


def points(diff: float) -> str:
    """A difference of two shares in percentage points, signed."""
    n = round(100 * diff)
    return t("profiles.point" if abs(n) == 1 else "profiles.points", n=f"{n:+d}")


scenario = context.scenario()
run = scenario.run_id
st.title(t("profiles.title"))
data = profiles.profiling(scenario)
s = {row["setting"]: row for row in data["summary"].iter_rows(named=True)}
full, everyone, base = (s[profiles.SETTINGS[k]] for k in ("fullstack", "everyone", "baseline"))
st.markdown(t("profiles.lead", accuracy=pct(full["accuracy"]), majority=pct(full["majority_guess"]), profiled=pct(full["share_profiled"]),
              everyone=pct(everyone["share_profiled"]), baseline=pct(base["accuracy"]), baseline_majority=pct(base["majority_guess"])))
note(context.scenario_caption(scenario))
c = st.columns(4)
c[0].metric(t("profiles.m_accuracy"), pct(full["accuracy"]), t("profiles.m_accuracy_delta", points=points(full["accuracy"] - full["majority_guess"])))
c[1].metric(t("profiles.m_profiled"), pct(full["share_profiled"]),
            t("profiles.m_profiled_delta", points=points(full["share_profiled"] - everyone["share_profiled"])))
c[2].metric(t("profiles.m_everyone"), pct(everyone["accuracy"]))
c[3].metric(t("profiles.m_baseline"), pct(base["accuracy"]), t("profiles.m_baseline_delta", points=points(base["accuracy"] - full["accuracy"])))
theme.show(charts.accuracy_chart(data["summary"]))
note(t("profiles.accuracy_note"))
gap = round(100 * (base["accuracy"] - full["accuracy"]))
how = t("profiles.as_good") if abs(gap) <= 2 else t("profiles.below" if gap < 0 else "profiles.above", n=abs(gap))
st.markdown(t("profiles.compare", how=how, base_per=num(base["profiles"] / base["visitors_profiled"], 2),
              full_per=num(full["profiles"] / full["visitors_profiled"], 2)))
with st.expander(t("profiles.method_title")):
    st.markdown(t("profiles.method", train=pct(1 - data["test_share"]), test=pct(data["test_share"])))

st.subheader(t("profiles.prices_heading"))
prices = profiles.price_figures()
usd = prices.filter(pl.col("currency") == "USD")
st.markdown(t("profiles.prices_lead", low=num(usd["value"].min(), 4), high=num(usd["value"].max(), 2),
              own=num(prices.filter(pl.col("currency") == "GBP")["value"][0])))
with st.expander(t("profiles.prices_title")):
    st.markdown("\n".join(
        t("profiles.price_item", label=r["label"], value=f"{r['value']:,.4g}", currency=r["currency"], unit=r["unit"], note=r["note"],
          source=r["source"], url=r["url"], flag=t("profiles.price_secondary") if r["secondary"] else "")
        for r in prices.iter_rows(named=True)))

with data_expander():
    table_with_downloads(rounded(data["summary"].drop("rail")), f"profiles-summary-{run}")
    st.markdown(t("profiles.recall_title"))
    table_with_downloads(rounded(data["recall"]), f"profiles-recall-{run}")
    st.markdown(t("profiles.drivers_title"))
    table_with_downloads(rounded(data["drivers"]), f"profiles-drivers-{run}")
    table_with_downloads(prices, f"profile-prices-{run}")
