"""Warming a room's next lesson step: when a room's state moves, the page after the one shown is
computed for the room's scenario in the background, so it is hot when the presenter clicks Next.

The next step is the next page of the room's lesson (`?lesson=` in the room's state), or of the
default lesson order when the room has none. One warm-up runs at a time per server, in one daemon
thread; a request that arrives meanwhile waits in a single slot (the newest replaces an older one).
It starts after a short pause, so the step everybody is loading goes first. Errors are logged, never
raised. The computations go through the same cached services as the page (ui.cache), so they fill
the entries the page reads. Only rooms are warmed: a learner exploring on their own never is.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.scenario import Scenario
from ui import lessons
from ui.cache import pageless
from ui.rooms.store import RoomState
from ui.services import warm as page_services

log = logging.getLogger(__name__)

DELAY_S = 1.0  # the step being shown goes first: its learners ask for it within a second (the fragment polls each second)
RECENT = 32  # warm-ups remembered, so thirty learners seeing one state ask for one warm-up
RECENT_S = 300.0  # after this, a state is warmed again (its entries may have been evicted)


def next_page(state: RoomState) -> str | None:
    """The page after the room's current one: in the room's lesson if it names a valid one and shows
    one of its steps, else in the default lesson order; None after the last step or off the lesson."""
    page = state.page or "overview"  # the default page's url_path is ""
    order: tuple[str, ...] | list[str] = lessons.DEFAULT_ORDER
    name = state.params.get(lessons.LESSON_PARAM)
    if name:
        with contextlib.suppress(lessons.LessonError):
            order = lessons.load_lesson(name).pages
    if page not in order:
        return None
    i = list(order).index(page)
    return order[i + 1] if i + 1 < len(order) else None


def compute_page(page: str, scenario: Scenario) -> None:
    page_services.PAGES[page](scenario)


@dataclass
class Warmer:
    """One server's warm-ups: one thread at a time, one waiting request, recent ones remembered."""

    compute: Callable[[str, Scenario], None] = compute_page
    delay_s: float = DELAY_S
    clock: Callable[[], float] = time.monotonic
    lock: threading.Lock = field(default_factory=threading.Lock)
    pending: tuple[str, str] | None = None
    running: tuple[str, str] | None = None
    busy: bool = False
    recent: OrderedDict[tuple[str, str], float] = field(default_factory=OrderedDict)
    thread: threading.Thread | None = None
    done: int = 0
    failed: int = 0

    def request(self, page: str, scenario_json: str) -> bool:
        """Ask for `page` to be computed for this scenario; False when it is already warm, under way or waiting."""
        key = (page, scenario_json)
        with self.lock:
            at = self.recent.get(key)
            if key in (self.pending, self.running) or (at is not None and self.clock() - at < RECENT_S):
                return False
            self.pending = key
            if self.busy:
                return True  # the thread under way takes it next
            self.busy = True
            self.thread = threading.Thread(target=self._work, name="room-warm-up", daemon=True)
        self.thread.start()
        return True

    def _work(self) -> None:
        while True:
            with self.lock:
                key, self.pending = self.pending, None
                self.running = key
                if key is None:
                    self.busy = False
                    return
            if self.delay_s:
                time.sleep(self.delay_s)
            page, scenario_json = key
            try:
                start = time.perf_counter()
                with pageless():
                    self.compute(page, Scenario.model_validate_json(scenario_json))
                log.info("room warm-up: %s computed in %.2f s", page, time.perf_counter() - start)
                ok = True
            except Exception:
                log.exception("room warm-up of %s failed", page)
                ok = False
            with self.lock:
                self.running = None
                self.done += ok
                self.failed += not ok
                self.recent[key] = self.clock()
                self.recent.move_to_end(key)
                while len(self.recent) > RECENT:
                    self.recent.popitem(last=False)


WARMER = Warmer()


def warm_next(state: RoomState, warmer: Warmer | None = None) -> bool:
    """Compute the room's next lesson step in the background (if there is one and it is not warm yet).
    DRCL_ROOM_WARMUP=off turns warm-ups off (e.g. to compare a room's timings with and without)."""
    if os.environ.get("DRCL_ROOM_WARMUP", "on") == "off":
        return False
    page = next_page(state)
    return page is not None and page in page_services.PAGES and (warmer or WARMER).request(page, state.scenario)
