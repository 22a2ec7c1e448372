"""Room: the presenter opens a room for the projector (code, join link, QR code, polls); a learner
joins one, or sees which room they live."""

import streamlit as st

from ui.components import auth
from ui.rooms import live, panel
from ui.words import t

st.title(t("room.heading"))
if auth.is_presenter():
    panel.presenter_panel()
else:
    if live.following():
        st.markdown(t("room.following_lead", code=live.joined_code()))
    else:
        panel.join_form()
    panel.presenter_login()
