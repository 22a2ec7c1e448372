"""Room: the presenter opens a room for the projector (code, join link, QR code, polls); a learner
joins one, or sees which room they live."""

import streamlit as st

from ui.components import auth
from ui.rooms import live, panel
from ui.words import t

st.title(t("room.heading"))
presenter = auth.is_presenter()
if not presenter:
    if live.following():
        st.markdown(t("room.following_lead", code=live.joined_code()))
    else:
        panel.join_form()
    # The login form logs a presenter in (by the password, or by the cookie after a reload) and, in the same
    # run, draws the component that sets the login cookie: no rerun here, or the cookie is never set.
    presenter = panel.presenter_login()
if presenter:
    panel.presenter_panel()
