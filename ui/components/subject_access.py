"""The Data rights page's widgets: look a visitor up, show and export what the run holds about
them, erase them from this session's copy of the run, and restore it. They own the `dr.*` keys.

The shared run is never changed: an erasure makes a copy for this session only.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from engine import rights
from engine.scenario import Scenario
from ui.components.downloads import table_with_downloads
from ui.services import simulation

Tables = dict[str, pl.DataFrame]
SESSION, ERASURE = "dr.session", "dr.erasure"


def session_tables(scenario: Scenario) -> Tables:
    """This session's copy of the run: the shared run until this session erases someone."""
    shared = simulation.run(scenario)
    state = st.session_state.get(SESSION)
    if state and state["run_id"] != scenario.run_id:  # another scenario: drop the copy (it pins that run in memory)
        restore()
        return shared
    return state["tables"] if state else shared


def _use_example() -> None:
    if st.session_state.get("dr.example"):
        st.session_state["dr.query"] = st.session_state["dr.example"]


def _erase(scenario: Scenario, query: str) -> None:
    tables = session_tables(scenario)
    subject = rights.find(tables, query, scenario)
    if subject is not None:
        done = rights.erase(tables, subject)
        st.session_state[SESSION] = {"run_id": scenario.run_id, "tables": done.tables}
        st.session_state[ERASURE] = {"run_id": scenario.run_id, "visitor_id": subject.visitor_id,
                                     "report": done.report, "conflict": done.conflict}


def restore() -> None:
    st.session_state.pop(SESSION, None)
    st.session_state.pop(ERASURE, None)


def search(examples: list[str]) -> str:
    """The search box, and a picker of example visitors that fills it."""
    left, right = st.columns([2, 1])
    right.selectbox("Examples: simulated visitors with an e-mail", examples, index=None,
                    key="dr.example", on_change=_use_example, placeholder="Pick one…")
    return left.text_input("Visitor id or e-mail", key="dr.query", placeholder="a visitor id (digits) or an e-mail address")


def holdings(scenario: Scenario, tables: Tables, subject: rights.Subject, query: str) -> None:
    """What the run holds about one visitor, every table downloadable, and the button that erases them."""
    vid = subject.visitor_id
    h = rights.holdings(tables, subject)
    st.text(f"Search: {query.strip()}  →  visitor {vid}")
    st.subheader("What the run holds about this visitor")
    table_with_downloads(rights.summary(h), f"dr-summary-{vid}")
    st.caption("Linked rows: what the site can find and must export or erase. Ground-truth-only rows: theirs according "
               "to the simulator (same event id), but the site cannot find them. Counts are from the simulated run.")
    st.download_button("Download everything (JSON)", rights.export_json(h), f"visitor-{vid}.json", "application/json", key="dr.json")
    exported = rights.export(h)
    for tab, (t, frame) in zip(st.tabs(list(exported)), exported.items(), strict=True):
        with tab:
            st.caption(rights.HOW_LINKED.get(t, ""))
            table_with_downloads(frame, f"visitor-{vid}-{t}")
            if t in h.truth_only and h.truth_only[t].height:
                st.caption(f"{h.truth_only[t].height} more rows — {rights.TRUTH_ONLY}.")
                table_with_downloads(h.truth_only[t], f"visitor-{vid}-{t}-truth-only")
    st.button("Erase this visitor (from your session's copy)", key="dr.erase", on_click=_erase, args=(scenario, query), type="primary")


def erasure_report(scenario: Scenario) -> None:
    """The last erasure in this session's copy of this scenario's run, and the button that undoes it."""
    erasure = st.session_state.get(ERASURE)
    if not (erasure and erasure["run_id"] == scenario.run_id):
        return
    st.subheader("Erasure")
    st.success(f"Visitor {erasure['visitor_id']} was erased from your session's copy; other learners still see the shared run.")
    table_with_downloads(erasure["report"], f"dr-erasure-{erasure['visitor_id']}")
    st.caption("Rows per table before and after the erasure; 'theirs_kept' counts the visitor's rows that stay.")
    if erasure["conflict"]:
        st.warning(erasure["conflict"])
    st.button("Restore the full run", key="dr.restore", on_click=restore)
