"""Data rights: find a visitor, export what the site holds about them, erase them (in this session's
copy of the run), and see which rows retention removes at a later "now", by PII level."""

import datetime as dt

import altair as alt
import polars as pl
import streamlit as st

from engine import masking, rights
from engine.scenario import Scenario
from ui import context
from ui.components.downloads import table_with_downloads
from ui.services import simulation as data

scenario = context.scenario()
shared = data.run(scenario)  # shared by every session with this scenario: never changed here


@st.cache_data(max_entries=32, ttl=3600, show_spinner=False)
def _examples(scenario_json: str) -> list[str]:
    return rights.examples(data.run(Scenario.model_validate_json(scenario_json)))["email"].to_list()


@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def _retention(scenario_json: str, days: int) -> pl.DataFrame:
    s = Scenario.model_validate_json(scenario_json)
    return rights.retention_report(data.run(s), _now(s, days))


def _now(s: Scenario, days: int) -> dt.datetime:
    return dt.datetime.combine(s.traffic.start_date, dt.time(), tzinfo=dt.UTC) + dt.timedelta(days=days)


def _session_tables() -> dict[str, pl.DataFrame]:
    """This session's copy of the run: the shared run until this session erases someone."""
    state = st.session_state.get("dr.session")
    if state and state["run_id"] != scenario.run_id:  # another scenario: drop the copy (it pins that run in memory)
        _restore()
        return shared
    return state["tables"] if state else shared


def _use_example() -> None:
    if st.session_state.get("dr.example"):
        st.session_state["dr.query"] = st.session_state["dr.example"]


def _erase(query: str) -> None:
    tables = _session_tables()
    subject = rights.find(tables, query, scenario)
    if subject is not None:
        done = rights.erase(tables, subject)
        st.session_state["dr.session"] = {"run_id": scenario.run_id, "tables": done.tables}
        st.session_state["dr.erasure"] = {"run_id": scenario.run_id, "visitor_id": subject.visitor_id,
                                          "report": done.report, "conflict": done.conflict}


def _restore() -> None:
    st.session_state.pop("dr.session", None)
    st.session_state.pop("dr.erasure", None)


st.title("Data rights")
st.markdown(
    "A visitor may ask what a site holds about them (GDPR Art. 15), take a copy (Art. 20) and have it erased "
    "(Art. 17). The rails store no e-mail and no visitor id: the site finds a person only through what it can "
    "recompute — the keyed hash of their e-mail (`user_id`), the device ids on those rows, and the hash of the "
    "consent ID they present. The privacy baseline cannot be searched at all: it keeps neither IP nor user agent, "
    "so the site cannot recompute its visitor hash for a person."
)
st.caption(context.scenario_caption(scenario))

tables = _session_tables()
left, right = st.columns([2, 1])
right.selectbox("Examples: simulated visitors with an e-mail", _examples(scenario.canonical_json()), index=None,
                key="dr.example", on_change=_use_example, placeholder="Pick one…")
query = left.text_input("Visitor id or e-mail", key="dr.query", placeholder="a visitor id (digits) or an e-mail address")
subject = rights.find(tables, query, scenario)

if not query.strip():
    st.info("Type a visitor id or an e-mail address, or pick an example.")
elif subject is None:
    gone = tables is not shared and rights.find(shared, query, scenario) is not None
    st.warning("Erased from your session's copy of the run:" if gone else "No visitor in this run matches:")
    st.code(query, language=None)
else:
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
    st.button("Erase this visitor (from your session's copy)", key="dr.erase", on_click=_erase, args=(query,), type="primary")

erasure = st.session_state.get("dr.erasure")
if erasure and erasure["run_id"] == scenario.run_id:
    st.subheader("Erasure")
    st.success(f"Visitor {erasure['visitor_id']} was erased from your session's copy; other learners still see the shared run.")
    table_with_downloads(erasure["report"], f"dr-erasure-{erasure['visitor_id']}")
    st.caption("Rows per table before and after the erasure; 'theirs_kept' counts the visitor's rows that stay.")
    if erasure["conflict"]:
        st.warning(erasure["conflict"])
    st.button("Restore the full run", key="dr.restore", on_click=_restore)

st.subheader("Retention: what a later “now” removes")
policy = rights.policy()
st.markdown(
    "The project's policy (DESIGN.md) keeps a row as long as its most sensitive non-empty column allows — "
    + ", ".join(f"{lv} {kept}" for lv, kept in policy.select("level", "kept").iter_rows())
    + " — counted from the row's own timestamp. The consent log never drops below LOW: proof of consent must outlive what it covers."
)
table_with_downloads(policy, "retention-policy")
days = st.slider("Now: days after the run's start", 0, 800, 40, key="dr.now_days")
report = (_retention(scenario.canonical_json(), days) if tables is shared
          else rights.retention_report(tables, _now(scenario, days)))
bars = report.select("table", "level_name", "kept", removed="expired").unpivot(
    index=["table", "level_name"], variable_name="status", value_name="rows"
)
chart = (
    alt.Chart(bars)
    .mark_bar()
    .encode(
        x=alt.X("level_name:N", sort=[lv.name for lv in masking.Level], title="row PII level"),
        y=alt.Y("rows:Q", title="rows"),
        color=alt.Color("status:N", scale=alt.Scale(domain=["kept", "removed"], range=["#90a4ae", "#c62828"]), title=None),
        column=alt.Column("table:N", title=None),
        tooltip=["table", "level_name", "status", alt.Tooltip("rows:Q", format=",.0f")],
    )
    .resolve_scale(y="independent")
    .properties(width=100, height=220)
)
st.altair_chart(chart)
st.caption(f"Rows of each table that retention keeps (grey) or removes (red) {days} days after the run started, by the row's PII level.")
table_with_downloads(report, f"retention-{scenario.run_id}-{days}")
