"""The Privacy leaks page's two fingerprint populations: ordinary visitors of a popular website
(the default) and the volunteers of a fingerprinting test site, beside the published studies.
Owns the page's `pv.curve_*` session keys."""

from __future__ import annotations

import polars as pl
import streamlit as st

from engine.datasets import calibration, source_note
from engine.scenario import Scenario
from ui.charts import privacy as charts
from ui.components import auth
from ui.components.downloads import rounded, table_with_downloads
from ui.services import privacy

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
    current = charts.POPULATION_LABELS[scenario.traffic.fingerprint_population].split(" (")[0]
    st.markdown(
        f"Among {n:,} simulated browsers of ordinary visitors, **{general:.0%}** have a fingerprint nobody else shares "
        f"(desktop {desk:.0%}, phones {mob:.0%}); among as many fingerprinting-test volunteers, **{volunteers:.0%}**. "
        f"The more browsers, the fewer are unique. This run uses the **{current}** population (sidebar: fingerprint population)."
    )
    c = st.columns(4)
    # Short labels, sizes in the help: a quarter of the page at 1440 px cut longer ones off mid-number.
    c[0].metric("General audience, simulated", f"{general:.1%}", help=f"{n:,} simulated browsers; all 12 attributes; default population.")
    c[1].metric("Volunteers, simulated", f"{volunteers:.1%}", help=f"{n:,} simulated browsers; all 12 attributes.")
    c[2].metric("Gomez-Boix 2018, desktop", f"{study['unique_desktop']:.1%}",
                help=f"Gomez-Boix, Laperdrix, Baudry, WWW 2018: desktop browsers unique among about {study['population']:,}.")
    c[3].metric("Gomez-Boix 2018, mobile", f"{study['unique_mobile']:.1%}",
                help=f"Gomez-Boix, Laperdrix, Baudry, WWW 2018: mobile browsers unique among about {study['population']:,}.")
    st.altair_chart(charts.population_curve_chart(curves, shares, study))
    st.caption(
        f"Share of unique fingerprints in nested random subsets of {browsers:,} generated browsers per population "
        f"(the scenario's device mix). Diamonds: published. {source_note('fingerprint', 'general_audience')} "
        f"{source_note('fingerprint', 'unique_share')} The study's overall share and per-attribute figures could not be "
        "verified here and are left out. Volunteers came to a fingerprinting test site; the general audience are "
        "ordinary visitors of a popular website, mostly with stock browsers."
    )
    # Half a minute of CPU per scenario: a presenter's power, not something every learner can start.
    if browsers == small and auth.is_presenter() and st.button(f"Extend the curves to {large:,} browsers (about half a minute)",
                                                                key="pv.curve_extend"):
        st.session_state[_EXTENDED] = True
        st.rerun()
    with st.expander("Show data"):
        table_with_downloads(rounded(curves, 4), f"fingerprint-populations-{scenario.traffic_key}-{browsers}")
