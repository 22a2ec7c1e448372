"""Dual-Rail Consent Lab: router and frame.

Order matters (docs/architecture.md): the language -> page config -> navigation -> presenter login where a page needs it ->
shared scenario sidebar -> the lesson bar (Back / Next, when a lesson is in the URL) -> run the page,
inside an error boundary that logs and shows only an error id.
"""

from __future__ import annotations

import streamlit as st

from ui import rooms, runtime_fix
from ui.components import auth
from ui.components.errors import error_boundary
from ui.components.lesson_bar import lesson_bar
from ui.components.scenario_sidebar import scenario_sidebar
from ui.language import choose_language
from ui.present import presenting, style
from ui.words import t

PRESENTER_PAGES = {"runs"}

runtime_fix.install()  # once per process: a whole-app run's output is never dropped for a fragment's tick
choose_language()  # first: every text of this run is in the session's language
st.set_page_config(page_title=t("frame.title"), page_icon="🛤️", layout="wide")
auth.warn_once_if_refused()
auth.restore_from_cookie()  # a presenter's reload stays logged in, on every page
# The pages in menu order, with their Material icons; titles come from the catalogue (frame.page.<name>).
PAGES = (("overview", "dashboard"), ("dashboard", "monitoring"), ("consent_impact", "how_to_reg"), ("funnels", "filter_alt"),
         ("attribution", "alt_route"), ("live", "sensors"), ("data_rights", "policy"), ("data_quality", "fact_check"),
         ("privacy", "fingerprint"), ("identity", "join_inner"), ("profiles", "person_search"), ("copy_tests", "science"),
         ("runs", "lock"), ("room", "groups"))  # "room" is rooms.ROOM_PAGE
pg = st.navigation(
    pages := [st.Page(f"app_pages/{name}.py", title=t(f"frame.page.{name}"), icon=f":material/{icon}:", default=name == "overview")
              # In presenter mode the top bar shows only the first few pages: the Room panel comes second.
              for name, icon in (PAGES if not presenting() else (PAGES[0], PAGES[-1], *PAGES[1:-1]))],
    # Every page in sight: collapsed, the menu hid the last pages (Profiles among them) behind "View 3 more".
    expanded=True,
    # Presenter mode gives the sidebar to the lesson's knobs: the menu moves to the top bar.
    position="top" if presenting() else "sidebar",
)
page = pg.url_path or "overview"  # the default page's url_path is ""
with error_boundary(pg.title):
    if page in PRESENTER_PAGES and not auth.require_presenter():
        st.stop()
    # A learner following a room: the room's page, its poll on top, its scenario in a read-only sidebar.
    if (room := rooms.follow(pg, pages)) is not None:
        rooms.poll_box(room)
    st.session_state["scenario"] = scenario_sidebar(room)
    rooms.publish_if_presenting(st.session_state["scenario"], pg)
    lesson_bar(page, following=room is not None)
    style()
    with rooms.drawing():  # a follower's pass counts once the page has run to its end
        pg.run()
