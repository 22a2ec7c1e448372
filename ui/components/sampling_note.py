"""One sentence under a page's headline numbers when the full stack samples: how much of its gap to the
truth sampling noise could explain."""

from __future__ import annotations

import streamlit as st

from engine.scenario import Scenario
from ui.services import data_quality


def sampling_note(scenario: Scenario) -> None:
    """Nothing at the 100 % tier; below it, the 95 % sampling interval of the full stack's visitors."""
    if scenario.rails.fullstack_sampling == 100:
        return
    n = data_quality.sampling_noise(scenario)
    share = ("none of its gap to the truth" if n["share_of_gap"] is None
             else f"{min(n['share_of_gap'], 1):.0%} of its {abs(n['value'] - n['truth']):,.0f}-visitor gap to the truth")
    st.info(
        f"The full stack keeps {n['rate']:.0%} of browsers (sampling tier) and scales its counts back by "
        f"{1 / n['rate']:.2g}×. Its {n['value']:,.0f} visitors carry ±{n['half_width']:,.0f} of sampling noise "
        f"(95% interval): sampling could explain at most {share}; the rest is consent, ad blockers and cookie resets.",
        icon=":material/casino:",
    )
