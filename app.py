"""Dual-Rail Consent Lab: router and frame.

Order matters (docs/architecture.md): page config -> navigation -> presenter login where a page needs it ->
shared scenario sidebar -> the lesson bar (Back / Next, when a lesson is in the URL) -> run the page,
inside an error boundary that logs and shows only an error id.
"""

from __future__ import annotations

import streamlit as st

from ui import rooms
from ui.components import auth
from ui.components.errors import error_boundary
from ui.components.lesson_bar import lesson_bar
from ui.components.scenario_sidebar import scenario_sidebar
from ui.present import presenting
from ui.words import t

PRESENTER_PAGES = {"runs"}

st.set_page_config(page_title=t("frame.title"), page_icon="🛤️", layout="wide")
auth.warn_once_if_refused()
pg = st.navigation(
    pages := [
        st.Page("app_pages/overview.py", title=t("frame.page.overview"), icon=":material/dashboard:", default=True),
        st.Page("app_pages/dashboard.py", title=t("frame.page.dashboard"), icon=":material/monitoring:"),
        st.Page("app_pages/consent_impact.py", title=t("frame.page.consent_impact"), icon=":material/how_to_reg:"),
        st.Page("app_pages/funnels.py", title=t("frame.page.funnels"), icon=":material/filter_alt:"),
        st.Page("app_pages/attribution.py", title=t("frame.page.attribution"), icon=":material/alt_route:"),
        st.Page("app_pages/live.py", title=t("frame.page.live"), icon=":material/sensors:"),
        st.Page("app_pages/data_rights.py", title=t("frame.page.data_rights"), icon=":material/policy:"),
        st.Page("app_pages/data_quality.py", title=t("frame.page.data_quality"), icon=":material/fact_check:"),
        st.Page("app_pages/privacy.py", title=t("frame.page.privacy"), icon=":material/fingerprint:"),
        st.Page("app_pages/identity.py", title=t("frame.page.identity"), icon=":material/join_inner:"),
        st.Page("app_pages/profiles.py", title=t("frame.page.profiles"), icon=":material/person_search:"),
        st.Page("app_pages/copy_tests.py", title=t("frame.page.copy_tests"), icon=":material/science:"),
        st.Page("app_pages/runs.py", title=t("frame.page.runs"), icon=":material/lock:"),
        st.Page("app_pages/room.py", title=t("frame.page.room"), icon=":material/groups:", url_path=rooms.ROOM_PAGE),
    ],
    # Every page in sight: collapsed, the menu hid the last pages (Profiles among them) behind "View 3 more".
    expanded=True,
    # Presenter mode gives the sidebar to the lesson's knobs: the menu moves to the top bar.
    position="top" if presenting() else "sidebar",
)
page = pg.url_path or "overview"  # the default page's url_path is ""
with error_boundary(pg.title):
    if page in PRESENTER_PAGES and not auth.require_presenter():
        st.stop()
    rooms.follow(pg, pages)  # a learner in a room: the room's page and poll
    st.session_state["scenario"] = scenario_sidebar()
    rooms.publish_if_presenting(st.session_state["scenario"], pg)
    lesson_bar(page, following=rooms.following())
    pg.run()
