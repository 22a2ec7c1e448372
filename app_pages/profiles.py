"""Profiles: what the full stack learns about people. A persona guessed from each rail's events alone,
scored against the simulator's true personas, and what published sources say such a profile is worth."""

import polars as pl
import streamlit as st

from ui import context, pin
from ui.charts import profiles as charts
from ui.charts import theme
from ui.components import data_words
from ui.components.downloads import rounded, table_with_downloads
from ui.components.pin_delta import points as vs_pinned
from ui.present import note, show_data
from ui.services import profiles
from ui.words import num, pct, signed, t

FEATURES = {"log events": "profiles.feature_log_events", "log active days": "profiles.feature_log_days",
            "log sessions": "profiles.feature_log_sessions", "signed in": "profiles.feature_signed_in"}


def points(diff: float) -> str:
    """A difference of two shares in percentage points, signed."""
    n = round(100 * diff)
    return t("profiles.point" if abs(n) == 1 else "profiles.points", n=signed(n))


def feature(name: str) -> str:
    """A model feature in words ("Share of events: Add to cart")."""
    if name in FEATURES:
        return t(FEATURES[name])
    kind, _, value = name.partition(": ")
    if kind == "event":
        return t("profiles.feature_event", event=data_words.event(value))
    if kind in ("page", "device", "country"):
        return t(f"profiles.feature_{kind}", value=value)
    return t("profiles.feature_hours", hours=name.removeprefix("hours ").removesuffix(" UTC"))


WORDS = {"setting": lambda c: t(f"profiles.setting_{c}"), "persona": lambda c: t(f"profiles.persona_{c}"), "feature": feature}
scenario = context.scenario()
run = scenario.run_id
pinned = pin.pinned_scenario()
st.title(t("profiles.title"))
data = profiles.profiling(scenario)
s = {row["setting"]: row for row in data["summary"].iter_rows(named=True)}
full, everyone, base = (s[k] for k in profiles.SETTINGS)
# Cached by scenario: a pin is usually the scenario this page showed a moment ago.
pinned_summary = None if pinned is None else profiles.profiling(pinned)["summary"]
before = None if pinned_summary is None else {r["setting"]: r for r in pinned_summary.iter_rows(named=True)}
st.markdown(t("profiles.lead", accuracy=pct(full["accuracy"]), majority=pct(full["majority_guess"]), profiled=pct(full["share_profiled"]),
              everyone=pct(everyone["share_profiled"]), baseline=pct(base["accuracy"]), baseline_majority=pct(base["majority_guess"])))
note(context.scenario_caption(scenario))


def change(setting: str, column: str, without_pin: str | None, diff: float = 0.0) -> dict:
    """The metric's delta: against the pinned scenario when one is pinned, else the comparison the page makes
    (`diff`: its sign, set explicitly: the text's typographic minus is no sign to Streamlit; a loss is red)."""
    if before is not None:
        return vs_pinned(s[setting][column], before[setting][column], 0)
    if not without_pin:
        return {}
    n = round(100 * diff)
    return {"delta": without_pin, "delta_color": "red" if n < 0 else ("green" if n > 0 else "gray"),
            "delta_arrow": "down" if n < 0 else ("up" if n > 0 else "off")}


c = st.columns(4)
c[0].metric(t("profiles.m_accuracy"), pct(full["accuracy"]), **change(
    "fullstack", "accuracy", t("profiles.m_accuracy_delta", points=points(full["accuracy"] - full["majority_guess"])),
    full["accuracy"] - full["majority_guess"]))
c[1].metric(t("profiles.m_profiled"), pct(full["share_profiled"]), **change(
    "fullstack", "share_profiled", t("profiles.m_profiled_delta", points=points(full["share_profiled"] - everyone["share_profiled"])),
    full["share_profiled"] - everyone["share_profiled"]))
c[2].metric(t("profiles.m_everyone"), pct(everyone["accuracy"]), **change("everyone", "accuracy", None))
c[3].metric(t("profiles.m_baseline"), pct(base["accuracy"]), **change(
    "baseline", "accuracy", t("profiles.m_baseline_delta", points=points(base["accuracy"] - full["accuracy"])),
    base["accuracy"] - full["accuracy"]))
summary = data_words.in_words(data["summary"], {"setting": WORDS["setting"]})
pinned_shown = None if pinned_summary is None else data_words.in_words(pinned_summary, {"setting": WORDS["setting"]})
theme.show(charts.accuracy_chart(summary, pinned_shown))  # the pin: faint dots
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
        t("profiles.price_item", label=r["label"], value=num(r["value"], 4 if r["value"] < 1 else 2), currency=r["currency"], unit=r["unit"],
          note=r["note"], source=r["source"], url=r["url"], flag=t("profiles.price_secondary") if r["secondary"] else "")
        for r in prices.iter_rows(named=True)))

SHARES = ("share_profiled", "accuracy", "majority_guess", "recall")
with show_data("profiles") as opened:
    if opened:
        for frame, name, title in ((data["summary"].drop("rail"), "summary", None), (data["recall"], "recall", "profiles.recall_title"),
                                   (data["drivers"], "drivers", "profiles.drivers_title")):
            if title:
                st.markdown(t(title))
            shown = data_words.in_words(rounded(frame), WORDS)
            table_with_downloads(shown, f"profiles-{name}-{run}",
                                 column_config=data_words.columns(shown, lambda c: t(f"profiles.col.{c}"), percent=SHARES))
        table_with_downloads(prices, f"profile-prices-{run}", column_config=data_words.columns(prices, lambda c: t(f"profiles.col.{c}")))
