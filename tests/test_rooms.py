"""The live room: the SQLite store (concurrency, the answer cap, expiry, restart), and two AppTest
sessions in one room (following, detaching and re-joining, a poll revealed)."""

from __future__ import annotations

import io
import sqlite3
import threading
from pathlib import Path

import polars as pl
import pytest

from ui.rooms.store import ALPHABET, IDLE_SECONDS, MAX_ANSWERS, RoomError, RoomState, RoomStore, new_session_token, valid_code


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def state(page: str = "overview", **params: str) -> RoomState:
    return RoomState(scenario='{"seed": 1}', preset="default", page=page, params=params)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path, clock) -> RoomStore:
    return RoomStore(tmp_path / "rooms" / "rooms.sqlite", clock=clock)


def test_codes_are_short_unambiguous_and_unique(store):
    codes = {store.open(state()) for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert 4 <= len(code) <= 6 and set(code) <= set(ALPHABET)
        assert not set(code) & set("0O1IL")
        assert valid_code(code.lower()) == code
    assert valid_code("AB0D1") is None and valid_code("A") is None and valid_code(None) is None


def test_publish_bumps_the_version_only_on_a_change(store):
    code = store.open(state())
    v1 = store.version(code)
    assert store.publish(code, state()) is False
    assert store.version(code) == v1
    assert store.publish(code, state("funnels", lesson="consent-10")) is True
    assert store.version(code) == v1 + 1
    room = store.get(code)
    assert room.state.page == "funnels" and room.state.params == {"lesson": "consent-10"}


def test_thirty_threads_answer_once_each_and_the_cap_holds(store):
    code = store.open(state())
    poll = store.ask(code, "conversions_share", 0.4)
    tokens = [new_session_token() for _ in range(30)]
    errors: list[BaseException] = []
    start = threading.Barrier(30)

    def learner(i: int) -> None:
        try:
            start.wait()
            for k in range(3):  # each learner changes its mind twice: still one answer
                store.answer(code, poll, tokens[i], (i + k) / 100)
        except BaseException as err:  # collected, asserted below
            errors.append(err)

    threads = [threading.Thread(target=learner, args=(i,)) for i in range(30)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert sorted(store.answers(code, poll)) == pytest.approx(sorted((i + 2) / 100 for i in range(30)))

    for _ in range(MAX_ANSWERS - 30):
        store.answer(code, poll, new_session_token(), 0.5)
    assert len(store.answers(code, poll)) == MAX_ANSWERS
    with pytest.raises(RoomError, match="at most 500") as refused:
        store.answer(code, poll, new_session_token(), 0.5)
    assert refused.value.reason == "full"
    store.answer(code, poll, tokens[0], 0.9)  # a known session may still change its guess
    assert len(store.answers(code, poll)) == MAX_ANSWERS


def test_answers_are_checked_and_close_with_the_reveal(store):
    code = store.open(state())
    poll = store.ask(code, "conversions_share", 0.4)
    with pytest.raises(RoomError, match="between 0 and 1"):
        store.answer(code, poll, new_session_token(), 1.5)
    with pytest.raises(RoomError, match="poll is over"):
        store.answer(code, poll + 1, new_session_token(), 0.5)
    store.answer(code, poll, new_session_token(), 0.5)
    store.reveal(code)
    assert store.get(code).poll.revealed
    with pytest.raises(RoomError) as late:
        store.answer(code, poll, new_session_token(), 0.5)
    assert late.value.reason == "revealed"
    store.reset(code)
    assert store.get(code).poll is None and store.answers(code, poll) == []


def test_rooms_expire_after_twelve_idle_hours(store, clock):
    code = store.open(state())
    clock.now += IDLE_SECONDS - 60
    store.publish(code, state("funnels"))  # a change keeps the room alive
    clock.now += IDLE_SECONDS - 60
    assert store.version(code) is not None
    clock.now += 120
    assert store.version(code) is None and store.get(code) is None
    with pytest.raises(RoomError, match="closed"):
        store.publish(code, state("dashboard"))
    assert store.expire() == 1
    with sqlite3.connect(store.path) as con:
        assert con.execute("SELECT count(*) FROM rooms").fetchone() == (0,)


def test_a_room_survives_a_restart(tmp_path, clock):
    path = tmp_path / "rooms.sqlite"
    first = RoomStore(path, clock=clock)
    code = first.open(state("funnels", lesson="privacy-45"))
    poll = first.ask(code, "unique_share", 0.8)
    token = new_session_token()
    first.answer(code, poll, token, 0.3)
    first.close()
    again = RoomStore(path, clock=clock)
    room = again.get(code)
    assert room.state == state("funnels", lesson="privacy-45")
    assert room.poll.question == "unique_share" and room.poll_id == poll
    assert again.my_answer(code, poll, token) == pytest.approx(0.3)


# --- two sessions in one room (AppTest) --------------------------------------------------------

from streamlit.testing.v1 import AppTest  # noqa: E402

from ui.rooms import live  # noqa: E402

SMALL_RUN = {"traffic.visitors": "3000", "traffic.days": "7"}
AUTH = {
    "cookie": {"name": "drcl_room_test", "key": "room-test-cookie-key-0123456789abcdef", "expiry_days": 1},
    "credentials": {"usernames": {"presenter": {"name": "Presenter", "email": "p@example.com",
                                                "password": "$2b$12$" + "a" * 53}}},
    "login_sleep_time": 0,
}


@pytest.fixture
def rooms_db(tmp_path, monkeypatch):
    monkeypatch.setenv("DRCL_ROOMS_DB", str(tmp_path / "rooms.sqlite"))
    monkeypatch.setenv("DRCL_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path / "rooms.sqlite"


def session(**params: str) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.secrets["auth"] = AUTH
    for key, value in params.items():
        at.query_params[key] = value
    return at


def logged_in(at: AppTest) -> AppTest:
    """The session as streamlit-authenticator leaves it after the presenter's login."""
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "presenter"
    at.session_state["name"] = "Presenter"
    return at


def presenter() -> AppTest:
    at = logged_in(session(**SMALL_RUN))
    at.run()
    at.switch_page("app_pages/room.py").run()
    at.button(key="room.open").click().run()
    assert not at.exception
    return at


def page_of(at: AppTest) -> str:
    """The script the session shows (AppTest keeps the pages of its last run by hash)."""
    return Path(at._registered_pages[at._finished_page_script_hash]["script_path"]).name


def run_id(at: AppTest) -> str:
    return at.session_state["scenario"].run_id


def test_a_learner_follows_the_presenter(rooms_db):
    host = presenter()
    code = host.session_state[live.HOSTING]
    assert [m.value for m in host.metric] == [code] and host.get("image"), "the code and its QR code"
    assert any(f"/?room={code}" in m.value for m in host.markdown), "the join link"
    learner = session(room=code).run()
    assert not learner.exception
    assert run_id(learner) == run_id(host)
    assert not learner.sidebar.selectbox  # read-only: a summary instead of the widgets
    summary = [m.value for m in learner.sidebar.markdown]
    assert any(m.startswith("EU shop · ") for m in summary), summary  # the preset in words, as the sidebar names it

    host.switch_page("app_pages/overview.py").run()
    host.sidebar.selectbox(key="consent.banner").set_value("no_reject").run()
    host.switch_page("app_pages/funnels.py").run()
    assert not host.exception and page_of(host) == "funnels.py"
    learner.run()  # what the fragment's next poll does: the version moved, the app reruns
    assert not learner.exception
    assert page_of(learner) == "funnels.py"
    assert run_id(learner) == run_id(host)
    assert learner.session_state["scenario"].consent.banner == "no_reject"
    assert learner.query_params["room"] == code


def test_detach_and_rejoin(rooms_db):
    host = presenter()
    code = host.session_state[live.HOSTING]
    learner = session(room=code).run()
    learner.sidebar.button(key="room.explore").click().run()
    assert not learner.exception
    assert learner.sidebar.selectbox(key="consent.banner").value == host.session_state["scenario"].consent.banner
    assert learner.sidebar.selectbox(key="preset").value == "eu_shop"
    assert run_id(learner) == run_id(host)  # exploring starts from the room's scenario
    learner.sidebar.selectbox(key="consent.banner").set_value("no_banner").run()
    assert learner.session_state["scenario"].consent.banner == "no_banner"

    host.switch_page("app_pages/dashboard.py").run()
    learner.run()
    assert page_of(learner) != "dashboard.py"  # on its own, the learner stays where it is
    learner.sidebar.button(key="room.back").click().run()
    assert not learner.exception
    assert page_of(learner) == "dashboard.py"
    assert run_id(learner) == run_id(host)


def test_a_poll_with_three_answers_revealed(rooms_db):
    host = presenter()
    code = host.session_state[live.HOSTING]
    host.selectbox(key="room.poll.question").set_value("conversions_share").run()
    host.button(key="room.poll.ask").click().run()
    room = live.store().get(code)
    assert room.poll.question == "conversions_share" and 0 < room.poll.truth <= 1
    learners = [session(room=code).run() for _ in range(3)]
    for guess, learner in zip((20, 40, 70), learners, strict=True):
        learner.slider(key=f"room.poll.guess.{room.poll_id}").set_value(guess)
        next(b for b in learner.button if b.label == "Send my guess").click().run()
        assert not learner.exception
        assert any("Your guess: " + f"{guess}%" in m.value for m in learner.markdown)
    assert sorted(live.store().answers(code, room.poll_id)) == pytest.approx([0.2, 0.4, 0.7])

    host.button(key="room.poll.reveal").click().run()
    assert not host.exception
    chart = host.get("vega_lite_chart")[0].proto
    shown = [pl.read_ipc_stream(io.BytesIO(d.data.data)) for d in chart.datasets]
    bins = next(f for f in shown if "learners" in f.columns)
    counts = {round(b, 1): n for b, n in bins.select("bin", "learners").iter_rows()}
    truth = next(f for f in shown if "truth" in f.columns)["truth"][0]
    assert truth == pytest.approx(room.poll.truth)
    assert counts[0.2] == counts[0.4] == counts[0.7] == 1 and sum(counts.values()) == 3
    shown_before = len(learners[0].get("vega_lite_chart"))
    learners[0].run()
    assert len(learners[0].get("vega_lite_chart")) == shown_before + 1, "the learner sees the revealed histogram too"
    assert any("You guessed 20%" in m.value for m in learners[0].markdown)
    assert any("40%" in m.value for m in host.markdown), "the room's median"

    host.button(key="room.poll.reset").click().run()
    assert live.store().get(code).poll is None
    learners[1].run()
    assert not any(m.value.startswith("**What share") for m in learners[1].markdown), "the poll is gone"


def test_joining_by_code_and_a_closed_room(rooms_db):
    host = presenter()
    code = host.session_state[live.HOSTING]
    learner = session()
    learner.run()
    learner.switch_page("app_pages/room.py").run()
    learner.text_input(key="room.join.code").input("OOPS0")
    learner.button[0].click().run()
    assert "not a room code" in learner.warning[0].value and "OOPS0" not in learner.warning[0].value
    learner.text_input(key="room.join.code").input(code.lower())  # typed codes are forgiven their case
    learner.button[0].click().run()
    assert not learner.exception
    assert learner.query_params["room"] == code and run_id(learner) == run_id(host)

    host.button(key="room.close").click().run()
    assert live.store().get(code) is None and host.button(key="room.open")
    learner.run()
    assert any(f"Room {code} is closed" in w.value for w in learner.sidebar.warning)
    assert learner.sidebar.selectbox(key="consent.banner"), "on its own again: the learner's own widgets"


def test_the_lesson_and_the_pin_follow_the_presenter(rooms_db):
    host = session(lesson="consent_talk", **SMALL_RUN)
    logged_in(host)
    host.run()
    host.sidebar.button(key="pin.pin").click().run()
    assert not host.exception and host.query_params.get("pin")
    host.switch_page("app_pages/room.py").run()
    host.button(key="room.open").click().run()
    code = host.session_state[live.HOSTING]
    learner = session(room=code).run()
    assert not learner.exception
    assert learner.query_params["lesson"] == "consent_talk"
    assert learner.query_params["pin"] == host.query_params["pin"]

    host.switch_page("app_pages/overview.py").run()
    host.sidebar.button(key="pin.unpin").click().run()
    learner.run()
    assert "pin" not in learner.query_params, "the presenter's unpin reaches the learner"
    assert learner.query_params["lesson"] == "consent_talk"


def test_a_reloaded_presenter_page_resumes_its_room(rooms_db):
    host = presenter()
    code = host.session_state[live.HOSTING]
    assert host.query_params[live.HOST_PARAM] == code, "the presenter's URL names the room it hosts"
    learner = session(room=code).run()
    assert live.HOST_PARAM not in learner.query_params, "the host parameter is never mirrored to learners"

    again = session(**{live.HOST_PARAM: code}, **SMALL_RUN)  # a reload: a new session, logged in again
    logged_in(again)
    again.run()
    again.switch_page("app_pages/room.py").run()
    assert not again.exception
    assert [m.value for m in again.metric] == [code], "the same room, not a new one"
    assert "room.open" not in [b.key for b in again.button]

    stranger = session(**{live.HOST_PARAM: code}).run()  # not logged in: the parameter grants nothing
    stranger.switch_page("app_pages/room.py").run()
    assert not stranger.exception and not stranger.metric
    assert live.HOSTING not in stranger.session_state


def test_the_room_page_offers_learners_the_join_form_and_presenters_a_login(rooms_db):
    at = session().run()
    at.switch_page("app_pages/room.py").run()
    assert not at.exception
    assert "Presenter? Log in to open a room" in [e.label for e in at.main.expander]
    assert at.text_input(key="room.join.code"), "the learner's join form"
    assert len(at.text_input) >= 3, "the join code, and the login form's user name and password"


def test_a_following_learner_sees_the_lesson_step_but_not_its_buttons(rooms_db):
    host = session(lesson="consent_talk", **SMALL_RUN)
    logged_in(host)
    host.run()
    assert host.button(key="lesson.next"), "the presenter moves the lesson"
    host.switch_page("app_pages/room.py").run()
    host.button(key="room.open").click().run()
    learner = session(room=host.session_state[live.HOSTING]).run()
    assert not learner.exception
    keys = [b.key for b in learner.button]
    assert "lesson.next" not in keys and "lesson.back" not in keys
    assert any("Step 1 of" in m.value for m in learner.markdown)


def test_a_pulse_is_read_once_per_moment_for_every_follower(tmp_path, clock, monkeypatch):
    """Thirty followers poll once a second, each from a new thread: within PULSE_TTL_S they share one read.
    A write in this process shows at once; another process's write within PULSE_TTL_S."""
    from ui.rooms import store as store_module

    path = tmp_path / "rooms.sqlite"
    mine, other = RoomStore(path, clock=clock), RoomStore(path, clock=clock)
    code = mine.open(state())
    first = mine.pulse(code)
    other.publish(code, state("funnels"))  # another process moves the room
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(mine.pulse(code))) for _ in range(30)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert seen == [first] * 30  # the shared read, not thirty SELECTs
    monkeypatch.setattr(store_module, "PULSE_TTL_S", 0.0)
    assert mine.pulse(code)[0] == first[0] + 1  # stale no longer than PULSE_TTL_S
    monkeypatch.setattr(store_module, "PULSE_TTL_S", 60.0)
    mine.publish(code, state("live"))
    assert mine.pulse(code)[0] == first[0] + 2  # this process's own write clears it at once


def test_a_follower_asks_again_when_its_last_pass_was_cut_short():
    """The watcher's decision: the room moved, or the page of the version seen was never drawn to its end."""
    now = 1_000.0
    assert not live.needs_redraw((4, now), seen=4, drawn=4, quiet=None, now=now)  # in step: nothing to do
    assert live.needs_redraw((5, now), seen=4, drawn=4, quiet=None, now=now)  # the room moved
    assert live.needs_redraw((4, now), seen=4, drawn=3, quiet=None, now=now)  # cut short after SEEN was set
    assert live.needs_redraw((4, now), seen=4, drawn=None, quiet=None, now=now)  # no page drawn yet
    assert live.needs_redraw(None, seen=4, drawn=4, quiet=None, now=now)  # the room closed
    assert live.needs_redraw((4, now - live.QUIET_AFTER_S), seen=4, drawn=4, quiet=None, now=now)  # gone quiet


def test_a_followers_page_counts_as_drawn_once_it_has_run_to_its_end(rooms_db):
    host = presenter()
    code = host.session_state[live.HOSTING]
    learner = session(room=code).run()
    version = live.store().get(code).version
    assert learner.session_state[live.SEEN] == learner.session_state[live.DRAWN] == version
    host.switch_page("app_pages/overview.py").run()
    host.sidebar.selectbox(key="consent.banner").set_value("no_reject").run()
    moved = live.store().get(code).version
    assert moved > version
    learner.run()
    assert learner.session_state[live.SEEN] == learner.session_state[live.DRAWN] == moved


def _drawing_script() -> None:
    import streamlit as st

    from ui.rooms import live

    st.session_state["at_start"] = [*st.session_state.get("at_start", []), st.session_state.get(live.DRAWN)]
    st.session_state[live.SEEN] = 7
    try:
        with live.drawing():
            raise ValueError("the page broke")
    except ValueError:
        st.session_state["caught"] = True
    st.session_state[live.SEEN] = 8
    with live.drawing():
        if not st.session_state.get("again"):
            st.session_state["again"] = True
            st.rerun()  # cut short for another rerun: not drawn; the rerun's pass draws it


def test_a_page_error_counts_as_drawn_and_a_cut_short_pass_does_not():
    """A page that fails is not redrawn every second (the error stays on screen until the room moves); a
    pass cut short by st.rerun leaves the marker for the pass that follows."""
    at = AppTest.from_function(_drawing_script).run()
    assert not at.exception
    assert at.session_state["caught"] and at.session_state["again"]
    # The first pass's error marked 7; its st.rerun under 8 did not mark 8 (the second pass began at 7);
    # the second pass ran to its end and marked 8.
    assert at.session_state["at_start"] == [None, 7]
    assert at.session_state[live.DRAWN] == 8
