"""Consent impact: who consents under which banner, what each rail then sees, Consent Mode basic
vs advanced, and the bias consent brings into conversion rates."""

import streamlit as st

from engine.consent_impact import BANNERS, bias_ratios, describe_ga4
from engine.datasets import calibration, source_note
from ui import context
from ui.charts import consent_impact as charts
from ui.components.downloads import rounded, table_with_downloads
from ui.components.rail_metrics import rail_metrics
from ui.components.sampling_note import sampling_note
from ui.services import consent_impact, simulation

scenario = context.scenario()
rid = scenario.run_id
st.title("Consent impact")
st.caption(context.scenario_caption(scenario))

st.subheader("Who consents, by banner design")
rates = consent_impact.banner_rates(scenario)
st.altair_chart(charts.stacked_shares(rates, "banner", "banner design"))
st.caption("The same simulated visitors under each banner design: the share making each choice (computed from the run).")
st.altair_chart(charts.accept_vs_published(rates))
st.caption("Share accepting all among visitors who answer the banner: simulated vs published. "
           + source_note("consent", "accept_rate_given_decision"))
table_with_downloads(rounded(rates), f"consent-by-banner-{rid}")
st.caption(f"Deciders answer the banner (GPC refusals are automatic and not counted). Share who answer at all: "
           f"{scenario.consent.decision_share:.0%} in this scenario. {source_note('consent', 'decision_share')}")

labels = {"region": "region", "device": "device", "privacy_attitude": "privacy attitude"}
for tab, (by, label) in zip(st.tabs([v.capitalize() for v in labels.values()]), labels.items(), strict=True):
    with tab:
        r = consent_impact.rates_by(scenario, by)
        st.altair_chart(charts.stacked_shares(r, by, label))
        st.caption(f"Consent choices by {label} under the current banner `{scenario.consent.banner}` (computed from the run); "
                   "analytics_granted also counts regions whose default is granted.")
        table_with_downloads(rounded(r), f"consent-by-{by}-{rid}")

st.subheader("What each rail sees")
kpi = simulation.kpi_table(scenario)
rail_metrics(kpi, [("Visitors (truth)", "visitors", "truth"), ("Full-stack visitors", "visitors", "fullstack"),
                   ("Conversions (truth)", "conversions", "truth"), ("Full-stack conversions", "conversions", "fullstack")])
sampling_note(scenario)
table_with_downloads(rounded(kpi), f"consent-kpis-{rid}")
st.caption("Each rail's KPIs and their error vs the truth, in % (computed from the run). Change the banner in the sidebar: the full stack moves, the truth does not.")

st.subheader("Two banner designs, same visitors")
c1, c2 = st.columns(2)
banner_a = c1.selectbox("Banner A", BANNERS, index=BANNERS.index("reject_first_layer"), key="ci.banner_a")
banner_b = c2.selectbox("Banner B", BANNERS, index=BANNERS.index("no_reject"), key="ci.banner_b")
cmp = consent_impact.compare_banners(scenario, banner_a, banner_b)
st.altair_chart(charts.banner_comparison(cmp, banner_a, banner_b))
st.caption("Full-stack KPIs of the two banner designs on the very same visitors, next to their unchanged truth (computed from the runs).")
table_with_downloads(rounded(cmp), f"banner-ab-{rid}-{banner_a}-{banner_b}")

st.subheader("Consent Mode: basic vs advanced")
modes = consent_impact.consent_mode_summary(scenario)
st.altair_chart(charts.mode_conversions(modes))
st.caption("Conversions: the truth, what the full stack observed, and the modelled estimate, in each Consent Mode (computed from the runs).")
table_with_downloads(rounded(modes), f"consent-mode-{rid}")
thresholds = calibration()["consent_mode"]["ga4_modelling_thresholds"]
daily, verdict = consent_impact.ga4(scenario)
st.altair_chart(charts.ga4_days(daily, thresholds))
st.caption("Advanced mode, per day: events with analytics denied (pings) and users with analytics granted (device ids), against GA4's thresholds (dashed).")
st.write(describe_ga4(verdict, thresholds))
st.caption("GA4 behavioural modelling needs ≥1,000 events/day with analytics denied for ≥7 days and ≥1,000 daily users with analytics "
           "granted on ≥7 of the last 28 days. " + source_note("consent_mode", "ga4_modelling_thresholds"))
table_with_downloads(daily, f"ga4-daily-{rid}")

st.subheader("The consent bias")
bias = consent_impact.bias(scenario)
ratios = bias_ratios(bias)
mult = calibration()["consent"]["consenter_conversion_multiplier"]
c = st.columns(3)
c[0].metric("Consenting / everyone (simulated)", f"{ratios['vs_everyone']:.2f}×" if ratios["vs_everyone"] else "n/a")
c[1].metric("Consenting / not consenting (simulated)", f"{ratios['vs_not_consenting']:.2f}×" if ratios["vs_not_consenting"] else "n/a")
c[2].metric("Consented / not consented (published)", f"{mult['low']:g}–{mult['high']:g}×")
st.altair_chart(charts.consent_bias(bias))
st.caption("Truth-side share of visitors converting, by consent choice; the line is everyone. Consenting = accept_all or custom (computed from the run).")
st.caption(f"Published: consented users convert {mult['low']:g}–{mult['high']:g}× as often as non-consented ones. "
           + source_note("consent", "consenter_conversion_multiplier")
           + " In this simulator consent and buying are linked only through persona and account; compare the ratio "
           "above with the published range, and basic mode's modelled error, which scales consenters up to everyone.")
table_with_downloads(rounded(bias), f"consent-bias-{rid}")
