"""A quiet presenter: the room records when it last moved, and after ten minutes without a change its
following learners see one calm line saying so (the store's clock is injected; no sleeps)."""

from __future__ import annotations

import sqlite3

import pytest
from test_rooms import Clock, presenter, rooms_db, session  # noqa: F401 (rooms_db: a fixture)
from test_rooms import state as room_state

from ui.rooms import live
from ui.rooms.store import RoomStore, new_session_token
from ui.words import num, t


def test_the_room_moves_on_publish_and_polls_not_on_touches_or_answers(tmp_path):
    clock = Clock()
    store = RoomStore(tmp_path / "rooms.sqlite", clock=clock)
    code = store.open(room_state())
    assert store.get(code).moved == clock.now and store.pulse(code) == (1, clock.now)
    clock.now += 400
    store.touch(code)  # the presenter is still there, but nothing changed for the learners
    assert store.pulse(code)[1] == clock.now - 400
    clock.now += 100
    assert store.publish(code, room_state("funnels"))
    assert store.pulse(code) == (2, clock.now) and store.get(code).moved == clock.now
    clock.now += 60
    poll = store.ask(code, "conversions_share", 0.4)
    assert store.pulse(code)[1] == clock.now
    clock.now += 60
    store.answer(code, poll, new_session_token(), 0.3)  # a learner's answer is not the presenter moving
    assert store.pulse(code)[1] == clock.now - 60
    store.close_room(code)
    assert store.pulse(code) is None


def test_a_file_from_before_moved_gets_the_column(tmp_path):
    path = tmp_path / "rooms.sqlite"
    con = sqlite3.connect(path)
    con.executescript("CREATE TABLE rooms (code TEXT PRIMARY KEY, version INTEGER NOT NULL, state TEXT NOT NULL, poll TEXT, "
                      "poll_id INTEGER NOT NULL DEFAULT 0, touched REAL NOT NULL);")
    con.execute("INSERT INTO rooms VALUES ('ABCDE', 3, ?, NULL, 0, 1800000000.0)", (room_state().model_dump_json(),))
    con.commit()
    con.close()
    store = RoomStore(path, clock=Clock(1_800_000_100.0))
    assert store.pulse("ABCDE") == (3, 1_800_000_000.0)  # moved when last touched
    assert store.publish("ABCDE", room_state("funnels"))
    assert store.pulse("ABCDE") == (4, 1_800_000_100.0)


@pytest.mark.parametrize(("idle_s", "minutes"), [(0, None), (599, None), (600, 10), (899, 10), (900, 15), (12 * 60 + 30, 10), (3600, 60)])
def test_quiet_minutes_count_from_ten_in_five_minute_steps(idle_s, minutes):
    assert live.quiet_minutes(1_000.0, 1_000.0 + idle_s) == minutes


def _age(db, code: str, seconds: float) -> None:
    """The room last moved `seconds` earlier than it did (what a quiet presenter leaves behind)."""
    with sqlite3.connect(db) as con:
        con.execute("UPDATE rooms SET moved = moved - ? WHERE code = ?", (seconds, code))


def _quiet_line(at) -> str | None:
    return next((c.value for c in at.caption if "has not moved" in c.value), None)


def test_a_following_learner_is_told_when_the_presenter_has_gone_quiet(rooms_db):  # noqa: F811
    host = presenter()
    code = host.session_state[live.HOSTING]
    learner = session(room=code).run()
    assert not learner.exception and _quiet_line(learner) is None
    _age(rooms_db, code, 12 * 60)
    learner.run()  # the fragment's poll sees the room went quiet for another step: the app reruns
    assert not learner.exception
    assert _quiet_line(learner) == ":material/schedule: " + t("room_idle.quiet", minutes=num(10))
    assert learner.sidebar.button(key="room.explore")  # what the line points to
    host.button(key="room.poll.ask").click().run()  # the presenter moves on: a poll
    assert not host.exception
    learner.run()
    assert not learner.exception and _quiet_line(learner) is None
    # a learner exploring on their own is not following any more
    _age(rooms_db, code, 20 * 60)
    learner.sidebar.button(key="room.explore").click().run()
    assert not learner.exception and _quiet_line(learner) is None
