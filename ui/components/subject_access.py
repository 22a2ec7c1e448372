"""The Data rights page's widgets: look a visitor up, show and export what the run holds about
them, erase them from this session's copy of the run, and restore it. They own the `dr.*` keys.

The shared run is never changed: an erasure makes a copy for this session only.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import streamlit as st

from engine import rights, schema
from engine.scenario import Scenario
from ui.components import data_words
from ui.components.downloads import table_with_downloads
from ui.present import note, show_data
from ui.services import simulation
from ui.words import num, t

Tables = dict[str, pl.DataFrame]
SESSION, ERASURE = "dr.session", "dr.erasure"
LINKABLE = ("visitors", "truth_events", "fullstack_events")  # what an erasure removes rows from (engine.rights.linkable)


def session_tables(scenario: Scenario) -> Tables:
    """This session's copy of the run: the shared run until this session erases someone."""
    shared = simulation.run(scenario)
    state = st.session_state.get(SESSION)
    if state and state["run_id"] != scenario.run_id:  # another scenario: drop the copy (it pins that run in memory)
        restore()
        return shared
    return state["tables"] if state else shared


def table_name(code: str) -> str:
    return t(f"data_rights.table.{code}")


def level_name(code: str) -> str:
    return t(f"data_rights.level.{code}")


def kept_for(days: int | None) -> str:
    """How long a retention keeps rows, in words ("2 years", "90 days", "forever")."""
    if days is None:
        return t("data_rights.forever")
    return t("data_rights.years", n=num(days // 365)) if days % 365 == 0 else t("data_rights.days", n=num(days))


def how_linked(code: str) -> str:
    return t(f"data_rights.how_{code}")


def table(frame: pl.DataFrame, name: str, label: Callable[[str], str] = data_words.field) -> None:
    """A table with its table and level codes in words and its columns labelled (stored columns by their names)."""
    shown = data_words.in_words(frame, {"table": table_name, "level_name": level_name, "how_linked": how_linked})
    table_with_downloads(shown, name, column_config=data_words.columns(shown, label))


def _col(name: str) -> str:
    return t(f"data_rights.col.{name}")


def _use_example() -> None:
    if st.session_state.get("dr.example"):
        st.session_state["dr.query"] = st.session_state["dr.example"]


def _erase(scenario: Scenario, query: str) -> None:
    tables = session_tables(scenario)
    subject = rights.find(tables, query, scenario)
    if subject is not None:
        consent = rights.holdings(tables, subject).rows["consent_log"]
        done = rights.erase(tables, subject)
        conflict = None
        if done.conflict and consent.height:  # the consent log stays: proof of consent, until its own retention ends
            level = schema.Level(int(rights.row_levels("consent_log", consent).max()))
            conflict = {"n": consent.height, "days": schema.RETENTION_DAYS[level], "level": level.name}
        st.session_state[SESSION] = {"run_id": scenario.run_id, "tables": done.tables}
        st.session_state[ERASURE] = {"run_id": scenario.run_id, "visitor_id": subject.visitor_id,
                                     "report": done.report, "conflict": conflict}


def _erasure_note(row: dict) -> str:
    """What the erasure did to one table, in words (five tables: a loop over rows is no cost here)."""
    what = t("data_rights.note_consent" if row["table"] == "consent_log" else
             "data_rights.note_erased" if row["table"] in LINKABLE else "data_rights.note_not_linkable")
    return what + (t("data_rights.note_theirs", n=num(row["theirs_kept"])) if row["table"] in rights.RAIL_EVENTS and row["theirs_kept"] else "")


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
    rows = {r["table"]: r for r in summary.iter_rows(named=True)}
    strip = (("truth_events", "linked_rows", "data_rights.strip_truth"), ("baseline_events", "ground_truth_only_rows", "data_rights.strip_baseline"),
             ("fullstack_events", "linked_rows", "data_rights.strip_fullstack"), ("consent_log", "linked_rows", "data_rights.strip_consent"))
    for col, (name, column, label) in zip(st.columns(len(strip)), strip, strict=True):  # every rail at once
        col.metric(t(label), num(rows[name][column] if name in rows else 0),
                   help=t("data_rights.strip_baseline_help") if name == "baseline_events" else None)
    with show_data("data-rights-summary") as opened:
        if opened:
            table(summary.with_columns(how_linked=pl.col("table")), f"dr-summary-{vid}", _col)
            note(t("data_rights.holdings_note"))
            st.download_button(t("data_rights.download_json"), rights.export_json(h), f"visitor-{vid}.json", "application/json", key="dr.json")
            exported = rights.export(h)
            for tab, (name, frame) in zip(st.tabs([t(f"data_rights.table.{n}") for n in exported]), exported.items(), strict=True):
                with tab:
                    note(t(f"data_rights.how_{name}"))
                    table(frame, f"visitor-{vid}-{name}")
                    if name in h.truth_only and h.truth_only[name].height:
                        note(t("data_rights.truth_only", n=num(h.truth_only[name].height), why=t("data_rights.truth_only_why")))
                        table(h.truth_only[name], f"visitor-{vid}-{name}-truth-only")
    st.button(t("data_rights.erase"), key="dr.erase", on_click=_erase, args=(scenario, query), type="primary")


def erasure_report(scenario: Scenario) -> None:
    """The last erasure in this session's copy of this scenario's run, and the button that undoes it."""
    erasure = st.session_state.get(ERASURE)
    if not (erasure and erasure["run_id"] == scenario.run_id):
        return
    st.subheader(t("data_rights.erasure_heading"))
    st.success(t("data_rights.erasure_done", visitor=erasure["visitor_id"]))
    report = erasure["report"].with_columns(note=pl.struct("table", "theirs_kept").map_elements(_erasure_note, return_dtype=pl.String))
    with show_data("data-rights-erasure") as opened:
        if opened:
            table(report, f"dr-erasure-{erasure['visitor_id']}", _col)
            note(t("data_rights.erasure_note"))
    if conflict := erasure["conflict"]:
        st.warning(t("data_rights.conflict", n=num(conflict["n"]), kept=kept_for(conflict["days"]), level=level_name(conflict["level"])))
    st.button(t("data_rights.restore"), key="dr.restore", on_click=restore)
