"""Privacy leaks: fingerprints, quasi-identifiers per rail, linkability across days, and why an
unkeyed hash is no anonymisation."""

import polars as pl
import streamlit as st

from engine.datasets import calibration, source_note
from engine.privacy import K_THRESHOLD
from ui import context, pin
from ui.charts import privacy as charts
from ui.charts import theme
from ui.components import data_words
from ui.components.downloads import rounded, table_with_downloads
from ui.components.fingerprint_populations import fingerprint_populations
from ui.components.pin_delta import points
from ui.components.privacy_demos import MEASURED, attribute, crack_demo, one_in_n, visitor_picker
from ui.present import note, show_data
from ui.services import privacy
from ui.words import num, pct, t

LINK_WORDS = {"baseline, daily salt": "privacy.link_daily", "baseline, fixed salt": "privacy.link_fixed",
              "full stack, device id": "privacy.link_device", "cookieless fingerprint": "privacy.link_fingerprint"}


def table(frame: pl.DataFrame, name: str, percent: tuple[str, ...] = (), digits: int = 4) -> None:
    """A table with its codes in words and its columns labelled (downloads as shown)."""
    shown = data_words.in_words(rounded(frame, digits), {"attribute": attribute, "rail": theme.rail_label,
                                                         "method": lambda m: t(LINK_WORDS[m]),
                                                         "quasi_identifiers": lambda q: ", ".join(map(data_words.field, q.split(", ")))})
    table_with_downloads(shown, name, column_config=data_words.columns(shown, lambda c: t(f"privacy.col.{c}"), percent=percent))


scenario = context.scenario()
run = scenario.run_id
pinned = pin.pinned_scenario()
fp = privacy.fingerprints(scenario)
fp_before = privacy.fingerprints(pinned)["unique_share"] if pinned is not None else None  # cached by traffic: the same visitors cost nothing
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
c[0].metric(t("privacy.fp_unique"), pct(fp["unique_share"], 1), help=t("privacy.fp_unique_help", browsers=num(fp["browsers"])),
            **points(fp["unique_share"], fp_before))
c[1].metric(t("privacy.fp_panopticlick"), pct(shares["panopticlick"], 1))
c[2].metric(t("privacy.fp_amiunique"), pct(shares["amiunique"], 1))
theme.show(charts.entropy_chart(fp["entropy"]))
note(t("privacy.entropy_note"))
theme.show(charts.histogram_chart(fp["histogram"]))
note(t("privacy.histogram_note"))
with st.expander(t("privacy.sources_title")):
    st.caption(t("privacy.fp_sources", source=source_note("fingerprint", "unique_share")))
    st.caption(t("privacy.entropy_method", source=source_note("fingerprint", "entropy_bits")))
with show_data("privacy-entropy") as opened:
    if opened:
        table(fp["entropy"], f"fingerprint-entropy-{run}", digits=2)
st.markdown(f"**{t('privacy.populations_heading')}**")
fingerprint_populations(scenario)

st.subheader(t("privacy.one_heading"))
visitor = visitor_picker(privacy.visitor_options(scenario))
rarity, country = privacy.rarity(scenario, visitor)
rarest = rarity.head(rarity.height - 2).drop_nulls("value").sort("one_in", descending=True).row(0, named=True)
st.markdown(t("privacy.one_lead", one_in=num(rarity.filter(pl.col("attribute") == MEASURED)["one_in"][0]),
              attribute=attribute(rarest["attribute"]), attribute_one_in=num(rarest["one_in"])))
one_in_n(rarity)
theme.show(charts.rarity_chart(rarity))
note(t("privacy.rarity_note"))
note(t("privacy.rarity_method"))
with show_data("privacy-one-in-n") as opened:
    if opened:
        table(rarity, f"one-in-n-{run}-{visitor}", percent=("share",))

st.subheader(t("privacy.k_heading"))
st.markdown(t("privacy.k_lead", baseline=pct(below_k["baseline"]), fullstack=pct(below_k["fullstack"]), k=K_THRESHOLD))
theme.show(charts.k_chart(k_table, None if pinned is None else privacy.quasi_identifiers(pinned)[0]))  # the pin: faint ticks
note(t("privacy.k_note", k=K_THRESHOLD))
note(t("privacy.k_method"))
st.markdown(t("privacy.steps_lead", first=pct(steps["share_below_k"][0]), last=pct(steps["share_below_k"][-1]), k=K_THRESHOLD))
theme.show(charts.steps_chart(steps))
note(t("privacy.steps_note", k=K_THRESHOLD))
with show_data("privacy-k-anonymity") as opened:
    if opened:
        table(k_table, f"k-anonymity-{run}", percent=("share_below_k", "unique_share"))
        table(steps, f"masking-steps-{run}", percent=("share_below_k", "unique_share"))

st.subheader(t("privacy.link_heading"))
st.markdown(t("privacy.link_lead", daily=pct(linked["baseline, daily salt"]), fixed=pct(linked["baseline, fixed salt"]),
              fingerprint=pct(linked["cookieless fingerprint"])))
theme.show(charts.link_chart(link, None if pinned is None else privacy.linkability(pinned)))
note(t("privacy.link_note"))
with show_data("privacy-linkability") as opened:
    if opened:
        table(link, f"linkability-{run}", percent=("share_linked", "share_followed_throughout"))

st.subheader(t("privacy.hash_heading"))
crack_demo(scenario, country)

st.subheader(t("privacy.consent_heading"))
st.markdown(t("privacy.consent_lead", fp_link=pct(linked["cookieless fingerprint"])))
with st.expander(t("privacy.law_title")):
    st.markdown(t("privacy.law"))
