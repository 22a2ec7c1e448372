"""The Privacy leaks page's interactive demos: pick a simulated visitor, and crack hashed
identifiers live. They own the page's `pv.*` session keys."""

from __future__ import annotations

import polars as pl
import streamlit as st

from engine.scenario import Scenario
from ui.components import data_words
from ui.components.downloads import rounded, table_with_downloads
from ui.present import note, show_data
from ui.services import privacy
from ui.words import num, pct, t

CRACK_RESULT = "pv_crack_result"
MEASURED, INDEPENDENT = "all together (measured)", "all together if independent"  # the rarity table's last two rows


def attribute(code: str) -> str:
    """A fingerprint attribute's name for people, and the rarity table's two totals."""
    return t({MEASURED: "privacy.attr_all_measured", INDEPENDENT: "privacy.attr_all_independent"}.get(code) or f"privacy.attr_{code}")


def visitor_picker(options: dict[int, dict[str, str]]) -> int:
    """A visitor from the sample; a pick from another scenario's sample falls back to the first."""
    if st.session_state.get("pv.visitor") not in options:
        st.session_state.pop("pv.visitor", None)

    def words(visitor: int) -> str:
        v = options[visitor]
        return t("privacy.visitor_option", visitor=visitor, device=t(f"privacy.device_{v['device']}"), browser=v["browser"], os=v["os"],
                 country=v["country"])

    return st.selectbox(t("privacy.visitor"), list(options), format_func=words, key="pv.visitor")


def one_in_n(rarity: pl.DataFrame) -> None:
    """The visitor's fingerprint as a whole: measured, and as if its attributes were independent."""
    together = {r["attribute"]: r for r in rarity.tail(2).iter_rows(named=True)}
    c = st.columns(2)
    c[0].metric(t("privacy.one_all"), num(together[MEASURED]["one_in"]), help=t("privacy.one_all_help"))
    # Three significant figures, written out with separators ("3.6e+08" is no number for a room).
    independent = float(f"{together[INDEPENDENT]['one_in']:.3g}")
    c[1].metric(t("privacy.one_independent"), num(independent))


def crack_demo(scenario: Scenario, country: str) -> None:
    """The finding, the button that hashes and cracks IPv4 and e-mail addresses, and its result as
    big numbers (share reversed without and with a key; kept for this run and country until either changes)."""
    run = scenario.run_id
    ips, emails = privacy.crack_targets(scenario, country)
    st.markdown(t("privacy.hash_lead", ips=num(ips), country=country, emails=num(emails)))
    with st.expander(t("privacy.hash_method_title")):
        st.markdown(t("privacy.hash_method", country=country))
    if st.button(t("privacy.crack"), key="pv.crack", type="primary"):
        st.session_state[CRACK_RESULT] = (run, country, privacy.crack_ipv4(scenario, country), privacy.crack_email(scenario))
    result = st.session_state.get(CRACK_RESULT)
    if not (result and result[:2] == (run, country)):
        return
    kinds = (("ipv4", t("privacy.crack_ipv4")), ("email", t("privacy.crack_email")))
    for (_, what), (summary, crack, _) in zip(kinds, result[2:], strict=True):
        plain, keyed = (r for r in summary.iter_rows(named=True))
        c = st.columns(2)
        c[0].metric(t("privacy.crack_plain", what=what), pct(plain["share_reversed"]),
                    t("privacy.crack_plain_delta", reversed=num(plain["reversed"]), hashes=num(plain["hashes"]), seconds=num(crack.seconds, 2)),
                    delta_color="off", delta_arrow="off")
        c[1].metric(t("privacy.crack_keyed", what=what), pct(keyed["share_reversed"]),
                    t("privacy.crack_keyed_delta", reversed=num(keyed["reversed"]), hashes=num(keyed["hashes"])), delta_color="off", delta_arrow="off")
    note(t("privacy.crack_note"))
    with show_data("privacy-cracked") as opened:
        if opened:
            for (kind, what), (summary, crack, timings) in zip(kinds, result[2:], strict=True):
                st.markdown(t("privacy.crack_detail", what=what, candidates=num(crack.candidates), seconds=num(crack.seconds, 2),
                              micro=num(crack.seconds_per_candidate * 1e6, 2)))
                schemes = summary.with_columns(scheme=pl.Series([t("privacy.scheme_plain"), t("privacy.scheme_keyed")]))
                table_with_downloads(rounded(schemes), f"cracked-{kind}-{run}", column_config=data_words.columns(
                    schemes, lambda c: t(f"privacy.col.{c}"), percent=("share_reversed",)))
                spaces = timings.with_columns(space=pl.Series([
                    t("privacy.space_measured") if r["space"] == "measured here" else t(f"privacy.space_{r['space']}", n=num(r["candidates"]))
                    for r in timings.iter_rows(named=True)]))
                table_with_downloads(rounded(spaces, 3), f"crack-times-{kind}-{run}",
                                     column_config=data_words.columns(spaces, lambda c: t(f"privacy.col.{c}")))
