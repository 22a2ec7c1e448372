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
from ui.present import note, show_data
from ui.services import simulation
from ui.words import num, t

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


def search(examples: list[str], first: str | None = None) -> str:
    """The search box (on a first visit holding `first`, a visitor with rows in every rail), and a picker
    of example visitors that fills it."""
    if first is not None and "dr.query" not in st.session_state:
        st.session_state["dr.query"] = first
    left, right = st.columns([2, 1])
    right.selectbox(t("data_rights.examples"), examples, index=None,
                    key="dr.example", on_change=_use_example, placeholder=t("data_rights.examples_placeholder"))
    return left.text_input(t("data_rights.query"), key="dr.query", placeholder=t("data_rights.query_placeholder"))


def holdings(scenario: Scenario, tables: Tables, subject: rights.Subject, query: str) -> None:
    """What the run holds about one visitor, every table downloadable, and the button that erases them."""
    vid = subject.visitor_id
    h = rights.holdings(tables, subject)
    summary = rights.summary(h)
    rails = summary.filter(pl.col("table").is_in(rights.RAIL_EVENTS))
    st.text(t("data_rights.holdings_search", query=query.strip(), visitor=vid))  # plain text: a query is never formatted
    st.subheader(t("data_rights.holdings_heading", visitor=vid))
    st.markdown(t("data_rights.holdings_lead", linked=num(rails["linked_rows"].sum()),
                  hidden=num(rails["ground_truth_only_rows"].sum())))
    with show_data():
        table_with_downloads(summary, f"dr-summary-{vid}")
        note(t("data_rights.holdings_note"))
        st.download_button(t("data_rights.download_json"), rights.export_json(h), f"visitor-{vid}.json", "application/json", key="dr.json")
        exported = rights.export(h)
        for tab, (name, frame) in zip(st.tabs([t(f"data_rights.table.{n}") for n in exported]), exported.items(), strict=True):
            with tab:
                note(rights.HOW_LINKED.get(name, ""))
                table_with_downloads(frame, f"visitor-{vid}-{name}")
                if name in h.truth_only and h.truth_only[name].height:
                    note(t("data_rights.truth_only", n=num(h.truth_only[name].height), why=rights.TRUTH_ONLY))
                    table_with_downloads(h.truth_only[name], f"visitor-{vid}-{name}-truth-only")
    st.button(t("data_rights.erase"), key="dr.erase", on_click=_erase, args=(scenario, query), type="primary")


def erasure_report(scenario: Scenario) -> None:
    """The last erasure in this session's copy of this scenario's run, and the button that undoes it."""
    erasure = st.session_state.get(ERASURE)
    if not (erasure and erasure["run_id"] == scenario.run_id):
        return
    st.subheader(t("data_rights.erasure_heading"))
    st.success(t("data_rights.erasure_done", visitor=erasure["visitor_id"]))
    with show_data():
        table_with_downloads(erasure["report"], f"dr-erasure-{erasure['visitor_id']}")
        note(t("data_rights.erasure_note"))
    if erasure["conflict"]:
        st.warning(erasure["conflict"])
    st.button(t("data_rights.restore"), key="dr.restore", on_click=restore)
