"""Following a room, the Streamlit side: the presenter's session publishes, learners' sessions follow.

The presenter's session publishes its state after the sidebar computed the scenario (a write only
when something changed). A learner at `?room=CODE` shows the room's scenario, page and mirrored
query parameters; a fragment polls the room's version every second (one indexed SELECT) and reruns
the app, or switches the page, only when it moved. The room's scenario is rebuilt from its canonical
JSON, so it hashes, and caches, exactly like the presenter's: the room shares one computed run.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.navigation.page import StreamlitPage
from streamlit.runtime.scriptrunner import StopException, get_script_run_ctx

from engine.scenario import DEFAULT_PRESET, Scenario, iter_fields
from ui import knob_words, url_state
from ui.components import auth
from ui.language import LANG_PARAM
from ui.lessons import LESSON_PARAM
from ui.paths import ROOT
from ui.pin import PIN_PARAM
from ui.rooms import warm
from ui.rooms.store import Room, RoomError, RoomState, RoomStore, new_session_token, valid_code
from ui.words import num, t

ROOM_PARAM = "room"
HOST_PARAM = "host"  # the presenter's own URL: the room this session hosts, so a reload resumes it
ROOM_PAGE = "room"  # the Room page's url_path: the presenter's own panel, never sent to learners
# Pages the room never sends: the panel itself, and presenter-only pages (a learner would meet a login form).
UNSENT_PAGES = {ROOM_PAGE, "runs"}
PRESET_KEY = "preset"  # the sidebar's preset widget
# Parameters that are never mirrored to learners: the room itself, and presenter mode.
_PRIVATE_PARAMS = {ROOM_PARAM, HOST_PARAM, "present", LANG_PARAM}  # each learner keeps their own language
_STICKY = (LESSON_PARAM, PIN_PARAM)  # the lesson (and its step's page) and the pin follow the presenter
HOSTING, DETACHED, SEEN, TOKEN = "room.hosting", "room.detached", "room.seen", "room.token"
DRAWN = "room.drawn"  # the room's version this session's page has drawn to its end
_PUBLISHED, _LAST_PAGE, _TOUCHED = "room.published", "room.last_page", "room.touched"
TOUCH_EVERY_S = 600.0
# A room that has not moved for ten minutes: its learners are told they may explore on their own. The
# line counts in five-minute steps, so a quiet room costs each learner one whole-app rerun per step.
QUIET_AFTER_S = 600.0
QUIET_STEP_S = 300.0


def rooms_path() -> Path:
    """data/rooms/rooms.sqlite under the repository ($DRCL_ROOMS_DB overrides, e.g. for tests)."""
    override = os.environ.get("DRCL_ROOMS_DB")
    return Path(override) if override else ROOT / "data" / "rooms" / "rooms.sqlite"


@functools.cache
def _store(path: str) -> RoomStore:
    return RoomStore(Path(path))


def store() -> RoomStore:
    """The server's one room store (one per file; its connections are per thread)."""
    return _store(str(rooms_path()))


def error_text(err: RoomError) -> str:
    from ui.rooms.store import MAX_ANSWERS

    return {
        "closed": t("room.poll.error_closed"),
        "poll_over": t("room.poll.error_poll_over"),
        "revealed": t("room.poll.error_revealed"),
        "full": t("room.poll.error_full", max=num(MAX_ANSWERS)),
        "bad_answer": t("room.poll.error_bad_answer"),
    }[err.reason]


def session_token() -> str:
    """This browser session's anonymous token for poll answers (random, never shown, never stored elsewhere)."""
    if TOKEN not in st.session_state:
        st.session_state[TOKEN] = new_session_token()
    return str(st.session_state[TOKEN])


# --- the learner's side -----------------------------------------------------------------------


def joined_code() -> str | None:
    """The room this session was asked to join (`?room=CODE`), if the code has a room code's shape."""
    return valid_code(st.query_params.get(ROOM_PARAM))


def hosting() -> str | None:
    """The room this presenter's session hosts, if any. A reloaded page (a new session) resumes the room
    in its URL (`?host=CODE`) once its presenter is logged in again, if that room is still open."""
    if not auth.is_presenter():
        return None
    asked = valid_code(url_state.sticky(HOST_PARAM))  # also puts it back into the URL after a page change
    code = st.session_state.get(HOSTING)
    if code is None and asked and store().version(asked) is not None:
        code = st.session_state[HOSTING] = asked
    return code


def current_room() -> Room | None:
    code = joined_code()
    return store().get(code) if code else None


def following() -> bool:
    """Is this session following a live room (joined, not exploring on its own, not its presenter)?"""
    code = joined_code()
    return bool(code and not st.session_state.get(DETACHED) and code != hosting() and store().version(code) is not None)


def room_scenario(room: Room | None = None) -> Scenario:
    """The followed room's scenario, rebuilt from the presenter's canonical JSON (same cache key, same run)."""
    room = room or current_room()
    if room is None:
        raise RoomError("closed", "no room to follow")
    return Scenario.model_validate_json(room.state.scenario)


def _to_widget(value: Any) -> Any:
    return ", ".join(value) if isinstance(value, tuple) else value


def _detach() -> None:
    """Explore on my own: the sidebar's widgets start from the room's scenario."""
    room = current_room()
    st.session_state[DETACHED] = True
    if room is None:
        return
    scenario = room_scenario(room)
    st.session_state[PRESET_KEY] = room.state.preset
    for path, _ in iter_fields():
        st.session_state[path] = _to_widget(_value_at(scenario, path))


def _rejoin() -> None:
    st.session_state[DETACHED] = False
    st.session_state.pop(SEEN, None)
    st.session_state.pop(DRAWN, None)


# The knobs a lesson turns (the presenter-mode sidebar's): the learner's read-only summary names them.
SUMMARY_KNOBS = ("consent.banner", "consent.mode", "consent.decision_share", "traffic.adblock.chrome",
                 "rails.server_side_proxy")


def _value_at(scenario: Scenario, path: str) -> Any:
    node: Any = scenario
    for part in path.split("."):
        node = getattr(node, part)
    return node


def summary_lines(scenario: Scenario) -> list[str]:
    """The room's scenario in words, one line per lesson knob ("Banner: No reject button")."""
    return [t("room.knob", label=knob_words.label(p), value=knob_words.value_words(p, _value_at(scenario, p)))
            for p in SUMMARY_KNOBS]


def room_sidebar(room: Room) -> Scenario:
    """The learner's sidebar while following `room` (what follow() returned): its scenario as a short summary, read-only."""
    scenario = room_scenario(room)
    sb = st.sidebar
    sb.header(t("room.sidebar_header"))
    sb.markdown(t("room.summary", preset=knob_words.preset(room.state.preset), visitors=num(scenario.traffic.visitors),
                  days=num(scenario.traffic.days)))
    sb.markdown("\n".join(f"- {line}" for line in summary_lines(scenario)))
    sb.button(t("room.explore"), key="room.explore", on_click=_detach, help=t("room.explore_help"), width="stretch")
    return scenario


def _room_params(room: Room) -> dict[str, str]:
    own = {LANG_PARAM: lang} if (lang := st.session_state.get(url_state.key(LANG_PARAM))) else {}
    return {**room.state.params, ROOM_PARAM: room.code, **own}


def quiet_minutes(moved: float, now: float) -> int | None:
    """Minutes since the room last moved, in QUIET_STEP_S steps, once that is QUIET_AFTER_S or more; else None."""
    idle = now - moved
    if idle < QUIET_AFTER_S:
        return None
    return int(idle // QUIET_STEP_S * QUIET_STEP_S // 60)


@st.fragment(run_every=1)
def _watch(code: str, seen: int, quiet: int | None) -> None:
    """Once a second: has the room moved (or gone quiet for another step)? Only then the whole app
    reruns (or switches to the room's page)."""
    st.caption(t("room.following_live", code=code))
    rooms = store()
    # In the app's own pass the page is still to come: only a pass of this fragment alone looks at DRAWN.
    ctx = get_script_run_ctx()
    drawn = st.session_state.get(DRAWN) if ctx is not None and ctx.fragment_ids_this_run else seen
    if needs_redraw(rooms.pulse(code), seen, drawn, quiet, rooms.clock()):
        st.rerun(scope="app")


def needs_redraw(pulse: tuple[int, float] | None, seen: int, drawn: int | None, quiet: int | None, now: float) -> bool:
    """Whether a follower's page must be redrawn: the room moved or closed, it went quiet for another
    minute, or the last pass for the version seen was cut short before the page's end (that pass set SEEN,
    so nothing else would ask again and the page would stay half drawn)."""
    return pulse is None or pulse[0] != seen or drawn != seen or quiet_minutes(pulse[1], now) != quiet


@contextlib.contextmanager
def drawing() -> Iterator[None]:
    """Around the page in app.py: a pass that runs the page to its end, stops it on purpose or ends in the
    page's error (which app.py's boundary shows; asking again every second would not mend it) has drawn the
    room's version it follows; a pass cut short for another rerun has not, and the watcher asks again."""
    try:
        yield
    except (StopException, Exception):  # st.rerun's RerunException is a BaseException: it passes unmarked
        st.session_state[DRAWN] = st.session_state.get(SEEN)
        raise
    st.session_state[DRAWN] = st.session_state.get(SEEN)


def follow(pg: StreamlitPage, pages: list[StreamlitPage]) -> Room | None:
    """In app.py before the sidebar: keep a learner in step with the room (page, query parameters) and
    return the room followed (app.py draws its poll at the top of the page); offer "Back to the room"
    to a learner exploring."""
    code = joined_code()
    if st.query_params.get(ROOM_PARAM) and code is None:
        st.sidebar.warning(t("room.bad_code"))  # never echoes the URL's text
        return None
    if code is None or code == hosting():
        return None
    room = store().get(code)
    if room is None:
        st.sidebar.warning(t("room.gone", code=code))
        return None
    if st.session_state.get(DETACHED):
        st.sidebar.info(t("room.detached", code=code))
        st.sidebar.button(t("room.back"), key="room.back", on_click=_rejoin, type="primary", width="stretch")
        return None
    wanted = _room_params(room)
    if st.session_state.get(SEEN) != room.version:
        st.session_state[SEEN] = room.version
        # Warmed from here too, not only where it was published: another server process (or a
        # presenter on another server) fills only its own caches. Once per state, however many follow.
        warm.warm_next(room.state)
        current = url_state.all_params()  # released from the widgets that bound them (a bound one cannot be set)
        if current != wanted:
            st.query_params.from_dict(wanted)
        for param in _STICKY:  # remembered in the session too: the presenter's unpin must unpin here
            url_state.set_sticky(param, room.state.params.get(param))
    if pg.url_path != room.state.page:
        target = next((p for p in pages if p.url_path == room.state.page), None)
        if target is not None:
            st.switch_page(target, query_params=wanted)
    quiet = quiet_minutes(room.moved, store().clock())
    if quiet is not None:
        st.caption(":material/schedule: " + t("room_idle.quiet", minutes=num(quiet)))
    with st.sidebar:
        _watch(code, room.version, quiet)
    return room


# --- the presenter's side ---------------------------------------------------------------------


def state_for(scenario: Scenario, page: str) -> RoomState:
    """What learners follow: this session's scenario, page and query parameters (less the private ones
    and the scenario's own knobs, which the canonical JSON already carries)."""
    knobs = {path for path, _ in iter_fields()} | {PRESET_KEY}
    params = {k: v for k, v in st.query_params.to_dict().items() if k not in _PRIVATE_PARAMS and k not in knobs}
    return RoomState(scenario=scenario.canonical_json(), preset=str(st.session_state.get(PRESET_KEY, DEFAULT_PRESET)),
                     page=page, params=params)


def open_room(scenario: Scenario) -> str:
    code = store().open(state_for(scenario, st.session_state.get(_LAST_PAGE, "")))
    st.session_state[HOSTING] = code
    url_state.set_sticky(HOST_PARAM, code)
    st.session_state[_TOUCHED] = time.monotonic()
    return code


def close_room() -> None:
    if code := st.session_state.pop(HOSTING, None):
        store().close_room(code)
    url_state.set_sticky(HOST_PARAM, None)
    st.session_state.pop(_PUBLISHED, None)


def publish_if_presenting(scenario: Scenario, pg: StreamlitPage) -> None:
    """In app.py after the sidebar: the hosting presenter's state goes to the room when it changed.
    The Room page and presenter-only pages are not sent: learners stay on the last page the presenter showed."""
    if pg.url_path not in UNSENT_PAGES:
        st.session_state[_LAST_PAGE] = pg.url_path
    code = hosting()
    if code is None:
        return
    state = state_for(scenario, st.session_state.get(_LAST_PAGE, ""))
    try:
        if st.session_state.get(_PUBLISHED) != state:
            store().publish(code, state)
            st.session_state[_PUBLISHED] = state
            warm.warm_next(state)  # the next lesson step, in the background
            st.session_state[_TOUCHED] = time.monotonic()
        elif time.monotonic() - st.session_state.get(_TOUCHED, 0.0) > TOUCH_EVERY_S:
            store().touch(code)
            st.session_state[_TOUCHED] = time.monotonic()
    except RoomError:
        st.session_state.pop(HOSTING, None)
        st.sidebar.warning(t("room.closed_now"))


