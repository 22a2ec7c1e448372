"""Privacy leaks: fingerprints, quasi-identifiers per rail, linkability across days, and why an
unkeyed hash is no anonymisation."""

import polars as pl
import streamlit as st

from engine.datasets import calibration, source_note
from engine.privacy import K_THRESHOLD
from ui import context
from ui.charts import privacy as charts
from ui.charts import theme
from ui.components.downloads import rounded, table_with_downloads
from ui.components.fingerprint_populations import fingerprint_populations
from ui.components.privacy_demos import crack_demo, one_in_n, visitor_picker
from ui.present import note, show_data
from ui.services import privacy
from ui.words import num, pct, t

scenario = context.scenario()
run = scenario.run_id
fp = privacy.fingerprints(scenario)
k_table, steps = privacy.quasi_identifiers(scenario)
link = privacy.linkability(scenario)
below_k = dict(zip(k_table["rail"], k_table["share_below_k"], strict=True))
linked = dict(zip(link["method"], link["share_linked"], strict=True))

st.title(t("privacy.title"))
st.markdown(t("privacy.lead", unique=pct(fp["unique_share"]), browsers=num(fp["browsers"]), k=K_THRESHOLD,
              baseline_k=pct(below_k["baseline"]), fullstack_k=pct(below_k["fullstack"]), fp_link=pct(linked["cookieless fingerprint"])))
note(context.scenario_caption(scenario))
with st.expander(t("privacy.method_title")):
    st.markdown(t("privacy.method"))

st.subheader(t("privacy.fp_heading"))
shares = calibration()["fingerprint"]["unique_share"]
st.markdown(t("privacy.fp_lead", simulated=pct(fp["unique_share"], 1), panopticlick=pct(shares["panopticlick"], 1),
              amiunique=pct(shares["amiunique"], 1)))
c = st.columns(3)
c[0].metric(t("privacy.fp_unique"), pct(fp["unique_share"], 1), help=t("privacy.fp_unique_help", browsers=num(fp["browsers"])))
c[1].metric(t("privacy.fp_panopticlick"), pct(shares["panopticlick"], 1))
c[2].metric(t("privacy.fp_amiunique"), pct(shares["amiunique"], 1))
theme.show(charts.entropy_chart(fp["entropy"]))
note(t("privacy.entropy_note"))
theme.show(charts.histogram_chart(fp["histogram"]))
note(t("privacy.histogram_note"))
with st.expander(t("privacy.sources_title")):
    st.caption(t("privacy.fp_sources", source=source_note("fingerprint", "unique_share")))
    st.caption(t("privacy.entropy_method", source=source_note("fingerprint", "entropy_bits")))
with show_data():
    table_with_downloads(rounded(fp["entropy"], 2), f"fingerprint-entropy-{run}")
st.markdown(f"**{t('privacy.populations_heading')}**")
fingerprint_populations(scenario)

st.subheader(t("privacy.one_heading"))
visitor = visitor_picker(privacy.visitor_options(scenario))
rarity, country = privacy.rarity(scenario, visitor)
rarest = rarity.head(rarity.height - 2).drop_nulls("value").sort("one_in", descending=True).row(0, named=True)
st.markdown(t("privacy.one_lead", one_in=num(rarity.filter(pl.col("attribute") == "all together (measured)")["one_in"][0]),
              attribute=rarest["attribute"].replace("_", " "), attribute_one_in=num(rarest["one_in"])))
one_in_n(rarity)
theme.show(charts.rarity_chart(rarity))
note(t("privacy.rarity_note"))
note(t("privacy.rarity_method"))
with show_data():
    table_with_downloads(rounded(rarity), f"one-in-n-{run}-{visitor}")

st.subheader(t("privacy.k_heading"))
st.markdown(t("privacy.k_lead", baseline=pct(below_k["baseline"]), fullstack=pct(below_k["fullstack"]), k=K_THRESHOLD))
theme.show(charts.k_chart(k_table))
note(t("privacy.k_note", k=K_THRESHOLD))
note(t("privacy.k_method"))
st.markdown(t("privacy.steps_lead", first=pct(steps["share_below_k"][0]), last=pct(steps["share_below_k"][-1]), k=K_THRESHOLD))
theme.show(charts.steps_chart(steps))
note(t("privacy.steps_note", k=K_THRESHOLD))
with show_data():
    table_with_downloads(rounded(k_table), f"k-anonymity-{run}")
    table_with_downloads(rounded(steps), f"masking-steps-{run}")

st.subheader(t("privacy.link_heading"))
st.markdown(t("privacy.link_lead", daily=pct(linked["baseline, daily salt"]), fixed=pct(linked["baseline, fixed salt"]),
              fingerprint=pct(linked["cookieless fingerprint"])))
theme.show(charts.link_chart(link))
note(t("privacy.link_note"))
with show_data():
    table_with_downloads(rounded(link), f"linkability-{run}")

st.subheader(t("privacy.hash_heading"))
crack_demo(scenario, country)

st.subheader(t("privacy.consent_heading"))
st.markdown(t("privacy.consent_lead", fp_link=pct(linked["cookieless fingerprint"])))
with st.expander(t("privacy.law_title")):
    st.markdown(t("privacy.law"))
