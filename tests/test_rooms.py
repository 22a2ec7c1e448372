"""The live room: the SQLite store (concurrency, the answer cap, expiry, restart), and two AppTest
sessions in one room (following, detaching and re-joining, a poll revealed)."""

from __future__ import annotations

import sqlite3
import threading

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
