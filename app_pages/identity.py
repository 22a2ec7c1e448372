"""Identity: which sessions each rail can tie to the same person, scored against the truth; why
fingerprinting needs consent and why a keyed e-mail hash is still personal data. A measurement on
simulated visitors: the app offers no stitching of real data."""

import polars as pl
import streamlit as st

from ui import context, pin
from ui.charts import identity as charts
from ui.charts import theme
from ui.components import data_words
from ui.components.downloads import rounded, table_with_downloads
from ui.components.pin_delta import pair
from ui.present import note, show_data
from ui.services import identity
from ui.words import pct, t


def named(frame: pl.DataFrame) -> pl.DataFrame:
    """The methods by their names for people (charts and metrics show `label`)."""
    return frame.with_columns(label=pl.col("method").replace_strict({m: t(f"identity.method_{m}") for m in frame["method"]}))


scenario = context.scenario()
pinned = pin.pinned_scenario()
st.title(t("identity.title"))
measure_fp = bool(st.session_state.get("identity.fingerprint", True))  # the toggle sits under the finding it changes
scores = named(identity.scores(scenario, measure_fp))
pinned_scores = None if pinned is None else identity.scores(pinned, measure_fp)
before = None if pinned_scores is None else {r["method"]: (r["precision"], r["recall"] or 0)
                                              for r in pinned_scores.iter_rows(named=True)}
row = {r["method"]: r for r in scores.iter_rows(named=True)}
base, login = row["daily_hash"], row["login"]
finding = t("identity.lead", login_recall=pct(login["recall"] or 0), login_share=pct(login["share_identified"]),
            base_recall=pct(base["recall"] or 0))
if measure_fp:
    fp = row["fingerprint"]
    finding += t("identity.lead_fingerprint", fp_share=pct(fp["share_identified"]), fp_wrong=pct(1 - fp["precision"]))
st.markdown(finding)
note(context.scenario_caption(scenario))
st.toggle(t("identity.measure_fp"), value=True, key="identity.fingerprint", help=t("identity.measure_fp_help"))

cols = st.columns(len(scores))
for col, r in zip(cols, scores.iter_rows(named=True), strict=True):
    col.metric(r["label"], t("identity.pair", precision=pct(r["precision"]), recall=pct(r["recall"] or 0)), help=t("identity.pair_help"),
               **pair(r["precision"], r["recall"] or 0, None if before is None else before.get(r["method"])))
note(t("identity.pair_note"))
theme.show(charts.precision_recall_chart(scores, pinned_scores))  # the pin: faint ticks
if measure_fp:
    note(t("identity.fp_note"))

st.subheader(t("identity.devices_heading"))
xd = named(identity.cross_device(scenario, measure_fp))
splits = identity.cookie_splits(scenario)
st.markdown(identity.cross_device_sentence(xd, splits))
note(t("identity.devices_note"))
theme.show(charts.cross_device_chart(xd))

st.subheader(t("identity.law_heading"))
st.markdown(t("identity.law_lead", login_share=pct(login["share_identified"])))
with st.expander(t("identity.law_title")):
    st.markdown(t("identity.law"))
st.info(t("identity.lab_only"))

SHARES = ("share_identified", "precision", "recall", "share_joined", "share_rejoined")
with show_data("identity") as opened:
    if opened:
        for frame, name in ((scores, "identity"), (xd, "identity-cross-device"), (pl.DataFrame([splits]), "identity-cookie-splits")):
            shown = data_words.in_words(rounded(frame.drop("method", strict=False)), {"rail": theme.rail_label})
            table_with_downloads(shown, f"{name}-{scenario.run_id}",
                                 column_config=data_words.columns(shown, lambda c: t(f"identity.col.{c}"), percent=SHARES))
            if name == "identity":
                note(t("identity.data_note"))
