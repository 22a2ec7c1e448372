"""What the Room page and a followed page draw: the presenter's panel (code, join link, QR code,
polls), the learner's join form, and the poll box a following learner sees at the top of the page."""

from __future__ import annotations

import io
import statistics

import segno
import streamlit as st

from ui import context, url_state
from ui.charts import theme
from ui.components import auth
from ui.rooms import chart, live, polls
from ui.rooms.store import Room, RoomError
from ui.words import pct, t

FALLBACK_URL = "http://localhost:8501"


def join_url(code: str) -> str:
    """The join link: the app's address as the browser sees it (st.context.url, less the page's path)."""
    url = (st.context.url or FALLBACK_URL).rstrip("/")
    if url.endswith("/" + live.ROOM_PAGE):
        url = url[: -len(live.ROOM_PAGE) - 1]
    return f"{url}/?{live.ROOM_PARAM}={code}"


def qr_png(url: str) -> bytes:
    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="png", scale=12, border=2)
    return buf.getvalue()


def _revealed(room: Room, values: list[float]) -> None:
    assert room.poll is not None
    if values:
        st.markdown(t("room.poll.truth", value=pct(room.poll.truth), median=pct(statistics.median(values)), count=len(values)))
        theme.show(chart.guesses(values, room.poll.truth))
    else:
        st.markdown(t("room.poll.truth", value=pct(room.poll.truth), median=pct(0), count=0))


# --- the presenter ------------------------------------------------------------------------------


@st.fragment(run_every=2)
def _answers(code: str, poll_id: int) -> None:
    """The answers as they arrive (no widgets here); the histogram once revealed."""
    room = live.store().get(code)
    if room is None or room.poll is None or room.poll_id != poll_id:
        return
    values = live.store().answers(code, poll_id)
    if room.poll.revealed:
        _revealed(room, values)
    else:
        st.markdown(t("room.poll.answers", count=len(values)) if values else t("room.poll.no_answers"))


def _ask() -> None:
    code, question = live.hosting(), st.session_state["room.poll.question"]
    if code:
        live.store().ask(code, question, polls.true_value(question, context.scenario()))


def _reveal() -> None:
    if code := live.hosting():
        live.store().reveal(code)


def _reset() -> None:
    if code := live.hosting():
        live.store().reset(code)


def presenter_panel() -> None:
    code = live.hosting()
    if code is None or live.store().get(code) is None:
        st.session_state.pop(live.HOSTING, None)
        url_state.set_sticky(live.HOST_PARAM, None)
        st.markdown(t("room.open_lead"))
        if st.button(t("room.open"), key="room.open", type="primary"):
            live.open_room(context.scenario())
            st.rerun()
        return
    url = join_url(code)
    room = live.store().get(code)
    assert room is not None
    # The QR code beside everything else: the panel, a running poll and its answers fit one projector screen.
    left, right = st.columns([3, 2], gap="large")
    with right:
        st.image(qr_png(url), caption=t("room.qr_caption"), width="stretch")
    with left:
        st.metric(t("room.code_label"), code)
        st.markdown(t("room.join_at", url=f"`{url}`"))
        st.markdown(t("room.hosting", code=code))
        st.button(t("room.close"), key="room.close", on_click=live.close_room)
        st.subheader(t("room.poll.heading"))
        st.selectbox(t("room.poll.pick"), polls.QUESTIONS, format_func=polls.question_text, key="room.poll.question")
        buttons = st.columns(3)
        buttons[0].button(t("room.poll.ask"), key="room.poll.ask", on_click=_ask, type="primary", width="stretch")
        if room.poll is not None:
            buttons[1].button(t("room.poll.reveal"), key="room.poll.reveal", on_click=_reveal, disabled=room.poll.revealed,
                              width="stretch")
            buttons[2].button(t("room.poll.reset"), key="room.poll.reset", on_click=_reset, width="stretch")
            st.markdown(f"**{polls.question_text(room.poll.question)}**")
            _answers(code, room.poll_id)


# --- the learner --------------------------------------------------------------------------------


def _join() -> None:
    typed = st.session_state.get("room.join.code", "")
    code = live.valid_code(typed)
    st.session_state["room.join.error"] = code is None
    if code:
        st.query_params[live.ROOM_PARAM] = code
        st.session_state[live.DETACHED] = False


def join_form() -> None:
    st.markdown(t("room.join_lead"))
    with st.form("room.join"):
        st.text_input(t("room.join_code"), key="room.join.code", placeholder=t("room.join_placeholder"), max_chars=6)
        st.form_submit_button(t("room.join"), on_click=_join, type="primary")
    if st.session_state.get("room.join.error"):
        st.warning(t("room.bad_code"))



def presenter_login() -> bool:
    """Presenters log in here too; True once logged in."""
    with st.expander(t("room.presenter_login")):
        return auth.require_presenter(t("room.presenter_login_why"))


def poll_box(room: Room) -> None:
    """A following learner's view of the room's poll, at the top of whatever page the room shows."""
    if room.poll is None:
        return
    token = live.session_token()
    mine = live.store().my_answer(room.code, room.poll_id, token)
    with st.container(border=True, key="room-poll"):
        st.markdown(f"**{polls.question_text(room.poll.question)}**")
        if room.poll.revealed:
            _revealed(room, live.store().answers(room.code, room.poll_id))
            if mine is not None:
                st.markdown(t("room.poll.your", value=pct(mine)))
        elif mine is not None:
            st.markdown(t("room.poll.sent", value=pct(mine)))
        else:
            with st.form(f"room.poll.form.{room.poll_id}", border=False):
                guess = st.slider(t("room.poll.guess"), 0, 100, 50, step=1, format="%d%%", key=f"room.poll.guess.{room.poll_id}")
                if st.form_submit_button(t("room.poll.send"), type="primary", width="stretch"):
                    try:
                        live.store().answer(room.code, room.poll_id, token, guess / 100)
                    except RoomError as err:
                        st.warning(live.error_text(err))
                    else:
                        st.rerun()
