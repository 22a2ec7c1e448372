"""Data rights: find a visitor, export what the site holds about them, erase them (in this session's
copy of the run), and see which rows retention removes at a later "now", by PII level."""

import streamlit as st

from engine import rights
from ui import context
from ui.charts import data_rights as charts
from ui.components import subject_access
from ui.components.downloads import table_with_downloads
from ui.services import data_rights, simulation

scenario = context.scenario()
shared = simulation.run(scenario)  # shared by every session with this scenario: never changed here
st.title("Data rights")
st.markdown(
    "A visitor may ask what a site holds about them (GDPR Art. 15), take a copy (Art. 20) and have it erased "
    "(Art. 17). The rails store no e-mail and no visitor id: the site finds a person only through what it can "
    "recompute — the keyed hash of their e-mail (`user_id`), the device ids on those rows, and the hash of the "
    "consent ID they present. The privacy baseline cannot be searched at all: it keeps neither IP nor user agent, "
    "so the site cannot recompute its visitor hash for a person."
)
st.caption(context.scenario_caption(scenario))

tables = subject_access.session_tables(scenario)
query = subject_access.search(data_rights.examples(scenario))
subject = rights.find(tables, query, scenario)
if not query.strip():
    st.info("Type a visitor id or an e-mail address, or pick an example.")
elif subject is None:
    gone = tables is not shared and rights.find(shared, query, scenario) is not None
    st.warning("Erased from your session's copy of the run:" if gone else "No visitor in this run matches:")
    st.code(query, language=None)
else:
    subject_access.holdings(scenario, tables, subject, query)
subject_access.erasure_report(scenario)

st.subheader("Retention: what a later “now” removes")
policy = rights.policy()
st.markdown(
    "This lab's retention policy keeps a row as long as its most sensitive non-empty column allows — "
    + ", ".join(f"{lv} {kept}" for lv, kept in policy.select("level", "kept").iter_rows())
    + " — counted from the row's own timestamp. The consent log never drops below LOW: proof of consent must outlive what it covers."
)
table_with_downloads(policy, "retention-policy")
days = st.slider("Now: days after the run's start", 0, 800, 40, key="dr.now_days")
report = data_rights.retention(scenario, tables, days)
st.altair_chart(charts.retention(report))
st.caption(f"Rows of each table that retention keeps (grey) or removes (red) {days} days after the run started, by the row's PII level.")
table_with_downloads(report, f"retention-{scenario.run_id}-{days}")
