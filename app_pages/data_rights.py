"""Data rights: find a visitor, export what the site holds about them, erase them (in this session's
copy of the run), and see which rows retention removes at a later "now", by PII level."""

import polars as pl
import streamlit as st

from engine import rights
from ui import context
from ui.charts import data_rights as charts
from ui.charts import theme
from ui.components import subject_access
from ui.present import note, show_data
from ui.services import data_rights, simulation
from ui.words import num, pct, t

scenario = context.scenario()
shared = simulation.run(scenario)  # shared by every session with this scenario: never changed here
st.title(t("data_rights.title"))
head = data_rights.headline(scenario)
st.markdown(t("data_rights.lead", people=num(head["people"]), with_email=num(head["with_email"]), findable=num(head["findable"]),
              share=pct(head["findable"] / max(head["with_email"], 1)), baseline=num(head["baseline_rows"])))
note(context.scenario_caption(scenario))
with st.expander(t("data_rights.method_title")):
    st.markdown(t("data_rights.method"))

st.subheader(t("data_rights.search_heading"))
tables = subject_access.session_tables(scenario)
query = subject_access.search(data_rights.examples(scenario), data_rights.example_visitor(scenario))
subject = rights.find(tables, query, scenario)
if not query.strip():
    st.info(t("data_rights.search_hint"))
elif subject is None:
    gone = tables is not shared and rights.find(shared, query, scenario) is not None
    st.warning(t("data_rights.erased") if gone else t("data_rights.no_match"))
    st.code(query, language=None, wrap_lines=True)
else:
    subject_access.holdings(scenario, tables, subject, query)
subject_access.erasure_report(scenario)

st.subheader(t("data_rights.retention_heading"))
days = int(st.session_state.get("dr.now_days", 40))
report = data_rights.retention(scenario, tables, days)
held, removed, top_table = data_rights.retention_totals(report)
if removed:
    st.markdown(t("data_rights.retention_lead", days=num(days), removed=num(removed), held=num(held), share=pct(removed / held),
                  table=subject_access.table_name(str(top_table))))
else:
    shortest = min(d for d in rights.policy()["retention_days"] if d is not None)
    st.markdown(t("data_rights.retention_lead_none", days=num(days), held=num(held), shortest=num(shortest)))
st.slider(t("data_rights.now_days"), 0, 800, 40, key="dr.now_days")
theme.show(charts.retention(report))
note(t("data_rights.retention_note"))
with show_data("data-rights-retention") as opened:
    if opened:
        subject_access.table(report, f"retention-{scenario.run_id}-{days}", lambda c: t(f"data_rights.col.{c}"))
with st.expander(t("data_rights.policy_title")):
    policy = rights.policy().with_columns(kept=pl.col("retention_days").map_elements(subject_access.kept_for, return_dtype=pl.String,
                                                                                      skip_nulls=False))
    st.markdown(t("data_rights.policy", levels=", ".join(
        t("data_rights.policy_item", level=subject_access.level_name(lv), kept=kept) for lv, kept in policy.select("level", "kept").iter_rows())))
    subject_access.table(policy.with_columns(level_name=pl.col("level")).drop("level"), "retention-policy", lambda c: t(f"data_rights.col.{c}"))
