"""Profiles: what the full stack learns about people. A persona guessed from each rail's events alone,
scored against the simulator's true personas, and what published sources say such a profile is worth."""

import polars as pl
import streamlit as st

from ui import context
from ui.charts import profiles as charts
from ui.components.downloads import rounded, table_with_downloads
from ui.services import profiles


def points(diff: float) -> str:
    """A difference of two shares in percentage points, signed."""
    n = round(100 * diff)
    return f"{n:+d} point{'' if abs(n) == 1 else 's'}"


scenario = context.scenario()
run = scenario.run_id
st.title("Profiles: what the full stack learns about people")
data = profiles.profiling(scenario)
s = {row["setting"]: row for row in data["summary"].iter_rows(named=True)}
full, everyone, base = (s[profiles.SETTINGS[k]] for k in ("fullstack", "everyone", "baseline"))
st.markdown(
    f"**From the full stack's events alone the site guesses {full['accuracy']:.0%} of its profiles' personas right "
    f"(always guessing the commonest persona: {full['majority_guess']:.0%}), but it profiles only {full['share_profiled']:.0%} "
    f"of visitors; if everyone consented it would profile {everyone['share_profiled']:.0%}. The privacy baseline alone "
    f"guesses {base['accuracy']:.0%} of its one-day, one-hash profiles right (majority guess: {base['majority_guess']:.0%}).**"
)
st.caption(context.scenario_caption(scenario))
c = st.columns(4)
c[0].metric("Full stack: persona guessed right", f"{full['accuracy']:.0%}",
            f"{points(full['accuracy'] - full['majority_guess'])} over the majority guess")
c[1].metric("Full stack: visitors profiled", f"{full['share_profiled']:.0%}",
            f"{points(full['share_profiled'] - everyone['share_profiled'])} vs. all consenting")
c[2].metric("If everyone consented: guessed right", f"{everyone['accuracy']:.0%}")
c[3].metric("Privacy baseline: guessed right", f"{base['accuracy']:.0%}", f"{points(base['accuracy'] - full['accuracy'])} vs. the full stack")
st.altair_chart(charts.accuracy_chart(data["summary"]))
st.caption("Share of test visitors' profiles whose persona the model guesses right, per setting; the dark tick is the "
           "majority guess (always the commonest persona). The truth only labels and scores: the features are the rail's rows.")
gap = round(100 * (base["accuracy"] - full["accuracy"]))
how = "about as good as" if abs(gap) <= 2 else f"{abs(gap)} points {'below' if gap < 0 else 'above'}"
st.markdown(
    f"The baseline's guesses are {how} the full stack's: personas here differ "
    "mostly in how they browse within a visit, which the baseline sees too. What it cannot do is follow a person: it splits "
    f"its visitors into {base['profiles'] / base['visitors_profiled']:.2f} one-day profiles each, never joined, and knows no "
    f"login; the full stack keeps {full['profiles'] / full['visitors_profiled']:.2f} profiles per consenting visitor, across days."
)

st.subheader("What such a profile sells for")
prices = profiles.price_figures()
usd = prices.filter(pl.col("currency") == "USD")
st.markdown(
    f"Published figures disagree by orders of magnitude, because they price different things: from "
    f"**${usd['value'].min():,.4f}** per person for basic facts on a data broker's list to **${usd['value'].max():,.2f}** "
    "a year of advertising revenue per user on a social network; one person who auctioned his own data got "
    f"**£{prices.filter(pl.col('currency') == 'GBP')['value'][0]:,.0f}**. Figures are quoted as published, not converted."
)
for r in prices.iter_rows(named=True):
    flag = " (secondary: read in a report of the source)" if r["secondary"] else ""
    st.markdown(f"- **{r['label']}**: {r['value']:,.4g} {r['currency']} {r['unit']}. {r['note']} "
                f"Source: [{r['source']}]({r['url']}){flag}.")

with st.expander("Show data"):
    st.markdown(
        f"**Method.** One profile per identifier: the full stack's logged-in user (stitched to the device cookie it logged "
        f"in on) or its device cookie; the baseline's daily visitor hash. Features: number of events, active days and "
        f"sessions (log), signed in, shares of page categories (from the path), event types, 4-hour blocks of the UTC day, "
        f"device class and country. Label: the persona of the true visitor behind most of the profile's rows. A multinomial "
        f"logistic regression is trained on the profiles of a seeded {1 - data['test_share']:.0%} of true visitors and scored "
        f"on the other {data['test_share']:.0%}. In this simulator personas differ in how much and how deep they browse, how "
        "often they return and whether they have an account; not in time of day, device or country."
    )
    table_with_downloads(rounded(data["summary"].drop("rail")), f"profiles-summary-{run}")
    st.markdown("**Recall per persona** (share of each persona's test profiles guessed right):")
    table_with_downloads(rounded(data["recall"]), f"profiles-recall-{run}")
    st.markdown("**What gives each persona away** (full stack, strongest positive weights on standardised features):")
    table_with_downloads(rounded(data["drivers"]), f"profiles-drivers-{run}")
    table_with_downloads(prices, f"profile-prices-{run}")
