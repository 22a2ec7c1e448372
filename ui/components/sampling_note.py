"""One sentence under a page's headline numbers when the full stack samples: how much of its gap to the
truth sampling noise could explain."""

from __future__ import annotations

import streamlit as st

from engine.scenario import Scenario
from ui.services import data_quality
from ui.words import num, pct, t


def sampling_note(scenario: Scenario) -> None:
    """Nothing at the 100 % tier; below it, the 95 % sampling interval of the full stack's visitors."""
    if scenario.rails.fullstack_sampling == 100:
        return
    n = data_quality.sampling_noise(scenario)
    share = (t("common.sampling_no_gap") if n["share_of_gap"] is None
             else t("common.sampling_gap", share=pct(min(n["share_of_gap"], 1)), gap=num(abs(n["value"] - n["truth"]))))
    st.info(t("common.sampling_note", rate=pct(n["rate"]), factor=num(1 / n["rate"], 2), visitors=num(n["value"]),
              noise=num(n["half_width"]), share=share), icon=":material/casino:")
