"""The Privacy leaks page's interactive demos: pick a simulated visitor, and crack hashed
identifiers live. They own the page's `pv.*` session keys."""

from __future__ import annotations

import polars as pl
import streamlit as st

from engine.scenario import Scenario
from ui.components.downloads import rounded, table_with_downloads
from ui.services import privacy

CRACK_RESULT = "pv_crack_result"


def visitor_picker(options: dict[int, str]) -> int:
    """A visitor from the sample; a pick from another scenario's sample falls back to the first."""
    if st.session_state.get("pv.visitor") not in options:
        st.session_state.pop("pv.visitor", None)
    return st.selectbox("Simulated visitor", list(options), format_func=options.get, key="pv.visitor")


def one_in_n(rarity: pl.DataFrame) -> None:
    """The visitor's fingerprint as a whole: measured, and as if its attributes were independent."""
    together = {r["attribute"]: r for r in rarity.tail(2).iter_rows(named=True)}
    c = st.columns(2)
    c[0].metric("All attributes together: one in", f"{together['all together (measured)']['one_in']:,.0f}",
                help="Capped by the population: one in N means nobody else in this run shares the fingerprint.")
    # Three significant figures, written out with separators ("3.6e+08" is no number for a room).
    independent = float(f"{together['all together if independent']['one_in']:.3g}")
    c[1].metric("If the attributes were independent: one in", f"{independent:,.0f}")


def crack_demo(scenario: Scenario, country: str) -> None:
    """What the demo does, the button that hashes and cracks IPv4 and e-mail addresses, and its
    result (kept for this run and country until the learner changes either)."""
    run = scenario.run_id
    st.markdown(
        f"A plain SHA-256 of an IPv4 address looks anonymous, but there are only 2^32 addresses, and an attacker who knows "
        f"the country (which the rails keep) only has to try that country's address blocks from a GeoIP table. The demo "
        f"hashes every IPv4 address of this run's visitors in **{country}** (the picked visitor's country) and every "
        "e-mail address in the run, plain and with a secret key (HMAC, as the rails do), then runs one attack against both."
    )
    if st.button("Crack the hashes", key="pv.crack", type="primary"):
        st.session_state[CRACK_RESULT] = (run, country, privacy.crack_ipv4(scenario, country), privacy.crack_email(scenario))
    result = st.session_state.get(CRACK_RESULT)
    if not (result and result[:2] == (run, country)):
        return
    for title, (summary, crack, timings) in zip(("IPv4 addresses", "E-mail addresses"), result[2:]):
        st.markdown(f"**{title}**: {crack.candidates:,} candidates hashed in {crack.seconds:.2f} s "
                    f"({crack.seconds_per_candidate * 1e6:.2f} µs each, one CPU core, Python).")
        table_with_downloads(rounded(summary), f"cracked-{title.split()[0].lower()}-{run}")
        table_with_downloads(rounded(timings, 3), f"crack-times-{title.split()[0].lower()}-{run}")
    st.caption("Reversed = the attack found the exact input behind the hash. Times beyond the measured run are extrapolated "
               "at the measured rate on this machine; dedicated tools on GPUs are far faster. The e-mail attacker holds a list "
               "of 1,000 names (50 of them customers here) and tries the pattern first.last<nn>@domain for each.")
