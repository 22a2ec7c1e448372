"""Consent impact: who consents under which banner, what each rail then sees, Consent Mode basic
vs advanced, and the bias consent brings into conversion rates."""

import altair as alt
import polars as pl
import streamlit as st

from engine import consent_impact as ci
from engine import datasets
from ui import context
from ui.charts import theme
from ui.components.downloads import table_with_downloads
from ui.services import consent_impact as cd
from ui.services import simulation as data

scenario = context.scenario()
rid = scenario.run_id
st.title("Consent impact")
st.caption(context.scenario_caption(scenario))


def rounded(frame: pl.DataFrame, digits: int = 4) -> pl.DataFrame:
    return frame.with_columns(pl.selectors.float().round(digits))


st.subheader("Who consents, by banner design")
rates = cd.banner_rates(scenario)
st.altair_chart(cd.stacked_shares(ci.shares_long(rates, "banner"), "banner", "banner design"))
st.caption("The same simulated visitors under each banner design: the share making each choice (computed from the run).")
accept = rates.filter(pl.col("published_accept_rate").is_not_null()).unpivot(
    index="banner", on=["accept_rate_deciders", "published_accept_rate"], variable_name="figure", value_name="rate"
).with_columns(pl.col("figure").replace({"accept_rate_deciders": "simulated", "published_accept_rate": "published"}))
st.altair_chart(
    alt.Chart(accept).mark_bar().encode(
        x=alt.X("banner:N", title="banner design", axis=alt.Axis(labelAngle=0)), xOffset="figure:N", y=alt.Y("rate:Q", title="accept all, among deciders", axis=alt.Axis(format="%")),
        color=alt.Color("figure:N", scale=alt.Scale(domain=["simulated", "published"], range=[theme.COLOURS["fullstack"], "#90a4ae"]), title=None),
        tooltip=["banner", "figure", alt.Tooltip("rate:Q", format=".1%")],
    ).properties(height=240)
)
st.caption("Share accepting all among visitors who answer the banner: simulated vs published. "
           + cd.calibration_note("consent", "accept_rate_given_decision"))
table_with_downloads(rounded(rates), f"consent-by-banner-{rid}")
st.caption(f"Deciders answer the banner (GPC refusals are automatic and not counted). Share who answer at all: "
           f"{scenario.consent.decision_share:.0%} in this scenario. {cd.calibration_note('consent', 'decision_share')}")

labels = {"region": "region", "device": "device", "privacy_attitude": "privacy attitude"}
for tab, (by, label) in zip(st.tabs([v.capitalize() for v in labels.values()]), labels.items(), strict=True):
    with tab:
        r = cd.rates_by(scenario, by)
        st.altair_chart(cd.stacked_shares(ci.shares_long(r, by), by, label))
        st.caption(f"Consent choices by {label} under the current banner `{scenario.consent.banner}` (computed from the run); "
                   "analytics_granted also counts regions whose default is granted.")
        table_with_downloads(rounded(r), f"consent-by-{by}-{rid}")

st.subheader("What each rail sees")
kpi = data.kpi_table(scenario)
row = {r["metric"]: r for r in kpi.iter_rows(named=True)}
cols = st.columns(4)
cols[0].metric("Visitors (truth)", f"{row['visitors']['truth']:,.0f}")
cols[1].metric("Full-stack visitors", f"{row['visitors']['fullstack']:,.0f}", f"{row['visitors']['fullstack_error_pct']:+.1f}% vs truth", delta_color="off")
cols[2].metric("Conversions (truth)", f"{row['conversions']['truth']:,.0f}")
cols[3].metric("Full-stack conversions", f"{row['conversions']['fullstack']:,.0f}", f"{row['conversions']['fullstack_error_pct']:+.1f}% vs truth", delta_color="off")
table_with_downloads(rounded(kpi), f"consent-kpis-{rid}")
st.caption("Each rail's KPIs and their error vs the truth, in % (computed from the run). Change the banner in the sidebar: the full stack moves, the truth does not.")

st.subheader("Two banner designs, same visitors")
c1, c2 = st.columns(2)
banner_a = c1.selectbox("Banner A", ci.BANNERS, index=ci.BANNERS.index("reject_first_layer"), key="ci.banner_a")
banner_b = c2.selectbox("Banner B", ci.BANNERS, index=ci.BANNERS.index("no_reject"), key="ci.banner_b")
cmp = cd.compare_banners(scenario, banner_a, banner_b)
bars = cmp.unpivot(index="metric", on=["truth", "a", "b"], variable_name="series", value_name="value").with_columns(
    pl.col("series").replace({"a": f"A: {banner_a}", "b": f"B: {banner_b}"})
)
series = ["truth", f"A: {banner_a}", f"B: {banner_b}"]
st.altair_chart(
    alt.Chart(bars).mark_bar().encode(
        x=alt.X("series:N", sort=series, title=None, axis=alt.Axis(labels=False, ticks=False)), y=alt.Y("value:Q", title=None),
        color=alt.Color("series:N", scale=alt.Scale(domain=series, range=[theme.COLOURS["truth"], theme.COLOURS["fullstack"], "#64b5f6"]), title=None),
        column=alt.Column("metric:N", sort=list(ci.COMPARED_METRICS), title=None),
        tooltip=["metric", "series", alt.Tooltip("value:Q", format=",.0f")],
    ).resolve_scale(y="independent").properties(width=130, height=200)
)
st.caption("Full-stack KPIs of the two banner designs on the very same visitors, next to their unchanged truth (computed from the runs).")
table_with_downloads(rounded(cmp), f"banner-ab-{rid}-{banner_a}-{banner_b}")

st.subheader("Consent Mode: basic vs advanced")
modes = cd.consent_mode_summary(scenario)
conv = modes.unpivot(index="mode", on=["truth_conversions", "observed_conversions", "modelled_conversions"], variable_name="rail", value_name="conversions").with_columns(
    pl.col("rail").replace({"truth_conversions": "truth", "observed_conversions": "fullstack", "modelled_conversions": "modelled"})
)
st.altair_chart(
    alt.Chart(conv).mark_bar().encode(
        x=alt.X("mode:N", title="Consent Mode"), xOffset=alt.XOffset("rail:N", sort=["truth", "fullstack", "modelled"]),
        y=alt.Y("conversions:Q"), color=theme.rail_color(rails=("truth", "fullstack", "modelled")),
        tooltip=["mode", "rail", alt.Tooltip("conversions:Q", format=",.0f")],
    ).properties(height=240)
)
st.caption("Conversions: the truth, what the full stack observed, and the modelled estimate, in each Consent Mode (computed from the runs).")
table_with_downloads(rounded(modes), f"consent-mode-{rid}")
thresholds = datasets.calibration()["consent_mode"]["ga4_modelling_thresholds"]
daily, verdict = cd.ga4(scenario)
need = pl.DataFrame({"measure": ["denied_events", "granted_users"], "threshold": [thresholds["denied_events_per_day"], thresholds["granted_users_per_day"]]})
per_day = daily.unpivot(index="date", variable_name="measure", value_name="count")
base = alt.Chart(per_day).encode(x=alt.X("date:T", title=None), y=alt.Y("count:Q", title="per day"), color=alt.Color("measure:N", title=None))
st.altair_chart(base.mark_line(point=True).encode(tooltip=["date:T", "measure", "count"])
                + alt.Chart(need).mark_rule(strokeDash=[4, 4]).encode(y="threshold:Q", color="measure:N"))
st.caption("Advanced mode, per day: events with analytics denied (pings) and users with analytics granted (device ids), against GA4's thresholds (dashed).")
st.write(ci.describe_ga4(verdict, thresholds))
st.caption("GA4 behavioural modelling needs ≥1,000 events/day with analytics denied for ≥7 days and ≥1,000 daily users with analytics "
           "granted on ≥7 of the last 28 days. " + cd.calibration_note("consent_mode", "ga4_modelling_thresholds"))
table_with_downloads(daily, f"ga4-daily-{rid}")

st.subheader("The consent bias")
bias = cd.bias(scenario)
ratios = ci.bias_ratios(bias)
everyone = bias.filter(pl.col("group") == "everyone")["conversion_rate"].item()
mult = datasets.calibration()["consent"]["consenter_conversion_multiplier"]
c = st.columns(3)
c[0].metric("Consenting / everyone (simulated)", f"{ratios['vs_everyone']:.2f}×" if ratios["vs_everyone"] else "n/a")
c[1].metric("Consenting / not consenting (simulated)", f"{ratios['vs_not_consenting']:.2f}×" if ratios["vs_not_consenting"] else "n/a")
c[2].metric("Consented / not consented (published)", f"{mult['low']:g}–{mult['high']:g}×")
st.altair_chart(
    alt.Chart(bias).mark_bar(color=theme.COLOURS["fullstack"]).encode(
        y=alt.Y("group:N", sort=None, title=None), x=alt.X("conversion_rate:Q", title="visitors converting", axis=alt.Axis(format="%")),
        tooltip=["group", "visitors", "converters", alt.Tooltip("conversion_rate:Q", format=".2%")],
    ) + alt.Chart(pl.DataFrame({"everyone": [everyone]})).mark_rule(color=theme.COLOURS["truth"]).encode(x="everyone:Q")
)
st.caption("Truth-side share of visitors converting, by consent choice; the line is everyone. Consenting = accept_all or custom (computed from the run).")
st.caption(f"Published: consented users convert {mult['low']:g}–{mult['high']:g}× as often as non-consented ones. "
           + cd.calibration_note("consent", "consenter_conversion_multiplier")
           + " In this simulator consent and buying are linked only through persona and account; compare the ratio "
           "above with the published range, and basic mode's modelled error, which scales consenters up to everyone.")
table_with_downloads(rounded(bias), f"consent-bias-{rid}")
