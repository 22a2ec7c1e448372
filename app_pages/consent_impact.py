"""Consent impact: who consents under which banner, what each rail then sees, Consent Mode basic
vs advanced, and the bias consent brings into conversion rates. Each section leads with its finding."""

import streamlit as st

from engine.consent_impact import BANNERS, bias_ratios
from engine.datasets import calibration, source_note
from ui import context, pin
from ui.charts import consent_impact as charts
from ui.charts import overview as overview_charts
from ui.charts.theme import show
from ui.components import consent_story as story
from ui.components.downloads import people_table
from ui.components.rail_metrics import kpi_view, rail_metrics
from ui.components.sampling_note import sampling_note
from ui.components.takeaway import takeaway
from ui.present import note
from ui.services import consent_impact, simulation
from ui.words import num, pct, t

scenario = context.scenario()
rid = scenario.run_id
pinned = pin.pinned_scenario()
st.title(t("consent_impact.title"))
note(context.scenario_caption(scenario))

st.subheader(t("consent_impact.who_title"))
rates = consent_impact.banner_rates(scenario)
takeaway(story.banners_takeaway(rates, scenario.consent.banner))
show(charts.stacked_shares(rates, "banner", t("consent_impact.banner_axis")))
note(t("consent_impact.shares_note"))
show(charts.accept_vs_published(rates))
note(t("consent_impact.published_note", source=source_note("consent", "accept_rate_given_decision")))
people_table(rates, f"consent-by-banner-{rid}", digits=4)
note(t("consent_impact.deciders_note", share=pct(scenario.consent.decision_share), source=source_note("consent", "decision_share")))

traits = ("region", "device", "privacy_attitude")
for tab, by in zip(st.tabs([t(f"consent_impact.tab_{b}") for b in traits]), traits, strict=True):
    with tab:
        r = consent_impact.rates_by(scenario, by)
        takeaway(story.trait_takeaway(r, by))
        show(charts.stacked_shares(story.in_words(r, by), by, t(f"consent_impact.trait_{by}")))
        note(t("consent_impact.trait_note", label=t(f"consent_impact.trait_{by}"), banner=story.banner_label(scenario.consent.banner)))
        people_table(r, f"consent-by-{by}-{rid}", digits=4)

st.subheader(t("consent_impact.rails_title"))
kpi = simulation.kpi_table(scenario)
pinned_kpi = simulation.kpi_table(pinned) if pinned is not None else None
takeaway(story.rails_takeaway(kpi, pinned_kpi))
rail_metrics(kpi, [(t(f"consent_impact.{rail}_{m}"), m, rail) for m in ("visitors", "conversions") for rail in ("truth", "fullstack")],
             pinned_kpi)
show(overview_charts.rail_counts(kpi, pinned_kpi))
sampling_note(scenario)
people_table(kpi, f"consent-kpis-{rid}", shown=kpi_view, digits=4)
note(t("consent_impact.rails_note"))

st.subheader(t("consent_impact.compare_title"))
c1, c2 = st.columns(2)
banner_a = c1.selectbox(t("consent_impact.banner_a"), BANNERS, index=BANNERS.index("reject_first_layer"), format_func=story.banner_label, key="ci.banner_a")
banner_b = c2.selectbox(t("consent_impact.banner_b"), BANNERS, index=BANNERS.index("no_reject"), format_func=story.banner_label, key="ci.banner_b")
cmp = consent_impact.compare_banners(scenario, banner_a, banner_b)
takeaway(story.compare_takeaway(cmp, banner_a, banner_b))
show(charts.banner_comparison(cmp, banner_a, banner_b))
note(t("consent_impact.compare_note"))
people_table(cmp, f"banner-ab-{rid}-{banner_a}-{banner_b}",
             {"a": story.banner_label(banner_a), "b": story.banner_label(banner_b),
              "a_error_pct": t("common.col.rail_error_pct", rail=story.banner_label(banner_a)),
              "b_error_pct": t("common.col.rail_error_pct", rail=story.banner_label(banner_b))}, digits=4)

st.subheader(t("consent_impact.modes_title"))
modes = consent_impact.consent_mode_summary(scenario)
takeaway(story.modes_takeaway(modes))
show(charts.mode_conversions(modes))
note(t("consent_impact.modes_note"))
people_table(modes, f"consent-mode-{rid}", digits=4)
thresholds = calibration()["consent_mode"]["ga4_modelling_thresholds"]
daily, verdict = consent_impact.ga4(scenario)
takeaway(story.ga4_takeaway(verdict, thresholds))
show(charts.ga4_days(daily, thresholds))
note(t("consent_impact.ga4_note"))
note(t("consent_impact.ga4_rules", source=source_note("consent_mode", "ga4_modelling_thresholds")))
people_table(daily, f"ga4-daily-{rid}")

st.subheader(t("consent_impact.bias_title"))
bias = consent_impact.bias(scenario)
ratios = bias_ratios(bias)
mult = calibration()["consent"]["consenter_conversion_multiplier"]
takeaway(story.bias_takeaway(ratios, mult))
c = st.columns(3)
for col, label, ratio in ((c[0], "bias_vs_everyone", ratios["vs_everyone"]), (c[1], "bias_vs_not", ratios["vs_not_consenting"])):
    col.metric(t(f"consent_impact.{label}"), t("consent_impact.ratio", value=num(ratio, 2)) if ratio else t("consent_impact.not_available"))
c[2].metric(t("consent_impact.bias_published"), t("consent_impact.range", low=story.plain(mult["low"]), high=story.plain(mult["high"])))
show(charts.consent_bias(bias))
note(t("consent_impact.bias_note"))
note(t("consent_impact.bias_source", low=story.plain(mult["low"]), high=story.plain(mult["high"]),
       source=source_note("consent", "consenter_conversion_multiplier")))
people_table(bias, f"consent-bias-{rid}", digits=4)
