"""Dual-Rail Consent Lab: router and frame.

Order matters (docs/architecture.md): page config -> navigation -> presenter login where a page needs it ->
shared scenario sidebar -> run the page, inside an error boundary that logs and shows only an error id.
"""

from __future__ import annotations

import streamlit as st

from ui import rooms
from ui.components import auth
from ui.components.errors import error_boundary
from ui.components.scenario_sidebar import scenario_sidebar
from ui.words import t

PRESENTER_PAGES = {"Runs"}

st.set_page_config(page_title="Dual-Rail Consent Lab", page_icon="🛤️", layout="wide")
auth.warn_once_if_refused()
pg = st.navigation(
    pages := [
        st.Page("app_pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("app_pages/dashboard.py", title="Dashboard", icon=":material/monitoring:"),
        st.Page("app_pages/consent_impact.py", title="Consent impact", icon=":material/how_to_reg:"),
        st.Page("app_pages/funnels.py", title="Funnels", icon=":material/filter_alt:"),
        st.Page("app_pages/attribution.py", title="Attribution", icon=":material/alt_route:"),
        st.Page("app_pages/live.py", title="Live telemetry", icon=":material/sensors:"),
        st.Page("app_pages/data_rights.py", title="Data rights", icon=":material/policy:"),
        st.Page("app_pages/data_quality.py", title="Data quality", icon=":material/fact_check:"),
        st.Page("app_pages/privacy.py", title="Privacy leaks", icon=":material/fingerprint:"),
        st.Page("app_pages/identity.py", title="Identity", icon=":material/join_inner:"),
        st.Page("app_pages/profiles.py", title="Profiles", icon=":material/person_search:"),
        st.Page("app_pages/copy_tests.py", title="Copy tests", icon=":material/science:"),
        st.Page("app_pages/runs.py", title="Runs", icon=":material/lock:"),
        st.Page("app_pages/room.py", title=t("room.title"), icon=":material/groups:", url_path=rooms.ROOM_PAGE),
    ],
    # Every page in sight: collapsed, the menu hid the last pages (Profiles among them) behind "View 3 more".
    expanded=True,
)
with error_boundary(pg.title):
    if pg.title in PRESENTER_PAGES and not auth.require_presenter():
        st.stop()
    rooms.follow(pg, pages)  # a learner in a room: the room's page and poll
    st.session_state["scenario"] = scenario_sidebar()
    rooms.publish_if_presenting(st.session_state["scenario"], pg)
    pg.run()
