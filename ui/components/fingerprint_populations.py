"""The Privacy leaks page's two fingerprint populations: ordinary visitors of a popular website
(the default) and the volunteers of a fingerprinting test site, beside the published studies.
Owns the page's `pv.curve_*` session keys."""

from __future__ import annotations

import polars as pl
import streamlit as st

from engine.datasets import calibration, source_note
from engine.scenario import Scenario
from ui.charts import privacy as charts
from ui.charts import theme
from ui.components import auth, data_words
from ui.components.downloads import rounded, table_with_downloads
from ui.present import note, show_data
from ui.services import privacy
from ui.words import num, pct, t

_EXTENDED = "pv_curve_extended"


def _share_at(curves: pl.DataFrame, kind: str, group: str) -> tuple[int, float]:
    row = curves.filter((pl.col("population_kind") == kind) & (pl.col("group") == group)).sort("population").row(-1, named=True)
    return int(row["population"]), float(row["unique_share"])


def fingerprint_populations(scenario: Scenario) -> None:
    """Finding sentence, both populations' unique shares beside the studies, and the uniqueness curves."""
    fp = calibration()["fingerprint"]
    study, shares = fp["general_audience"], fp["unique_share"]
    small, large = privacy.CURVE_BROWSERS
    browsers = large if st.session_state.get(_EXTENDED) else small
    curves = privacy.population_curves(scenario, browsers)
    n, general = _share_at(curves, "general_audience", "all browsers")
    _, volunteers = _share_at(curves, "volunteers", "all browsers")
    _, desk = _share_at(curves, "general_audience", "desktop")
    _, mob = _share_at(curves, "general_audience", "mobile")
    current = t(f"privacy.pop_{scenario.traffic.fingerprint_population}_name")
    st.markdown(t("privacy.pop_lead", n=num(n), general=pct(general), desktop=pct(desk), mobile=pct(mob), volunteers=pct(volunteers),
                  current=current))
    c = st.columns(4)
    # Short labels, sizes in the help: a quarter of the page at 1440 px cut longer ones off mid-number.
    c[0].metric(t("privacy.pop_general"), pct(general, 1), help=t("privacy.pop_general_help", n=num(n)))
    c[1].metric(t("privacy.pop_volunteers"), pct(volunteers, 1), help=t("privacy.pop_volunteers_help", n=num(n)))
    c[2].metric(t("privacy.pop_desktop"), pct(study["unique_desktop"], 1), help=t("privacy.pop_desktop_help", n=num(study["population"])))
    c[3].metric(t("privacy.pop_mobile"), pct(study["unique_mobile"], 1), help=t("privacy.pop_mobile_help", n=num(study["population"])))
    theme.show(charts.population_curve_chart(curves, shares, study))
    note(t("privacy.pop_note", browsers=num(browsers), general_source=source_note("fingerprint", "general_audience"),
           unique_source=source_note("fingerprint", "unique_share")))
    # Half a minute of CPU per scenario: a presenter's power, not something every learner can start.
    if browsers == small and auth.is_presenter() and st.button(t("privacy.pop_extend", n=num(large)),
                                                                key="pv.curve_extend"):
        st.session_state[_EXTENDED] = True
        st.rerun()
    with show_data("privacy-populations") as opened:
        if opened:
            groups = {"all browsers": "privacy.group_all", "desktop": "privacy.device_desktop", "mobile": "privacy.device_mobile"}
            shown = data_words.in_words(rounded(curves, 4), {"population_kind": lambda k: t(f"privacy.pop_{k}_name"),
                                                             "group": lambda g: t(groups[g])})
            table_with_downloads(shown, f"fingerprint-populations-{scenario.traffic_key}-{browsers}",
                                 column_config=data_words.columns(shown, lambda c: t(f"privacy.col.{c}"), percent=("unique_share",)))
