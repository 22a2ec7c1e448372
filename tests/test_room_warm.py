"""A room's next lesson step, computed in the background when the room's state moves: which page,
one warm-up at a time, errors logged, the page's own cache entries filled, learners' sessions asking."""

from __future__ import annotations

import importlib
import logging
import pkgutil
import threading

import pytest
from conftest import small
from test_rooms import presenter, rooms_db, session  # noqa: F401 (rooms_db: a fixture)

from ui.rooms import warm
from ui.rooms.store import RoomState
from ui.services import privacy


def state(page: str, scenario: str = '{"seed": 1}', **params: str) -> RoomState:
    return RoomState(scenario=scenario, preset="eu_shop", page=page, params=params)


def finish(w: warm.Warmer) -> None:
    assert w.thread is not None
    w.thread.join(timeout=120)
    assert not w.thread.is_alive()


def test_the_next_step_follows_the_rooms_lesson_or_the_default_order():
    assert warm.next_page(state("")) == "consent_impact"  # the Overview's url_path is ""
    assert warm.next_page(state("live")) == "privacy"
    assert warm.next_page(state("copy_tests")) is None  # the last step
    assert warm.next_page(state("dashboard")) is None  # off the lesson
    assert warm.next_page(state("funnels", lesson="consent_talk")) == "live"
    assert warm.next_page(state("live", lesson="consent_talk")) is None  # the talk ends there
    assert warm.next_page(state("live", lesson="no_such_lesson")) == "privacy"


def test_one_warm_up_at_a_time_and_the_newest_request_waits():
    gate, running, most = threading.Event(), [0], [0]
    computed: list[str] = []
    lock = threading.Lock()

    def compute(page, scenario):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        gate.wait(timeout=30)
        computed.append(page)
        with lock:
            running[0] -= 1

    w = warm.Warmer(compute=compute, delay_s=0)
    s = small().canonical_json()
    assert w.request("privacy", s)
    assert w.request("funnels", s) and w.request("live", s)  # funnels waits, then live replaces it
    assert not w.request("live", s)  # already waiting
    gate.set()
    finish(w)
    assert computed == ["privacy", "live"] and most[0] == 1
    assert not w.request("privacy", s)  # warm a moment ago: not again
    assert w.done == 2


def test_a_failed_warm_up_is_logged_not_raised(caplog):
    def compute(page, scenario):
        raise RuntimeError("the services broke")

    w = warm.Warmer(compute=compute, delay_s=0)
    with caplog.at_level(logging.ERROR, logger=warm.__name__):
        assert warm.warm_next(state("live", small().canonical_json()), w)
        finish(w)
    assert w.failed == 1 and "room warm-up of privacy failed" in caplog.text and "the services broke" in caplog.text


@pytest.mark.usefixtures("rooms_db")
def test_a_published_room_state_and_a_following_learner_ask_for_the_next_step(no_background_room_warm_ups):
    from ui.rooms import live

    host = presenter()
    code = host.session_state[live.HOSTING]
    host.switch_page("app_pages/live.py").run()
    assert not host.exception
    want = ("privacy", host.session_state["scenario"].run_id)
    assert want in no_background_room_warm_ups  # the presenter's publish asked for the next step
    no_background_room_warm_ups.clear()
    warm.WARMER.recent.clear()
    learner = session(room=code).run()
    assert not learner.exception
    assert no_background_room_warm_ups == [want]  # the learner seeing the state asked too: once
    learner.run()
    assert no_background_room_warm_ups == [want]  # not again for the same version


def test_after_a_warm_up_the_privacy_page_computes_nothing_new(rooms_db):  # noqa: F811
    # The warm-up's calls are the page's own: rendering the warmed page adds no entry to any service's cache.
    import ui.services
    from ui import cache
    from ui.services import warm as page_services

    at = session(**{"traffic.visitors": "1200", "traffic.days": "3", "seed": "4242"}).run()
    assert not at.exception
    scenario = at.session_state["scenario"]
    w = warm.Warmer(delay_s=0)
    assert w.request("privacy", scenario.canonical_json())
    finish(w)
    assert w.done == 1
    services = [importlib.import_module(f"ui.services.{m.name}") for m in pkgutil.iter_modules(ui.services.__path__)]
    owners = {f._owner for m in services for f in vars(m).values() if isinstance(f, cache.Cached)}
    assert privacy.linkability._owner in owners

    def entries() -> set:
        with cache.STORE.lock:
            return {k for k, e in cache.STORE.entries.items() if e.owner in owners}

    warmed = entries()
    at.switch_page("app_pages/privacy.py").run()
    assert not at.exception and at.session_state["scenario"] == scenario
    assert entries() == warmed
    assert page_services.PAGES["privacy"] is page_services._privacy
