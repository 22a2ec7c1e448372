"""The server's queue for heavy computations (a new run, a big copy test): one at a time, first come
first served. A waiting session sees its place; a session that leaves (closes the tab, changes a knob)
leaves the queue, because Streamlit stops its script at the next element it draws while waiting."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from ui.words import num, t

POLL_S = 0.25


@dataclass
class Queue:
    cond: threading.Condition = field(default_factory=threading.Condition)
    waiting: list[object] = field(default_factory=list)
    holder: int | None = None  # thread id of the computation under way
    depth: int = 0  # nested heavy calls of the holder (a run computing its traffic) pass straight through
    served: int = 0
    longest_wait_s: float = 0.0

    def ahead_of(self, ticket: object) -> int:
        """Computations that go before this ticket: the one under way and those queued earlier."""
        return self.waiting.index(ticket) + (1 if self.holder is not None else 0)

    def stats(self) -> dict[str, float]:
        with self.cond:
            return {"waiting": len(self.waiting), "busy": float(self.holder is not None), "served": self.served,
                    "longest_wait_s": round(self.longest_wait_s, 2)}


QUEUE = Queue()


def _message(ahead: int, label: str) -> str:
    key = "spinner.queue_one" if ahead == 1 else "spinner.queue_many"
    return t(key, ahead=num(ahead), what=label.rstrip("…. "))


def show_place(place: Any, ahead: int, label: str) -> None:
    place.info(_message(ahead, label), icon=":material/hourglass_top:")  # raises if the session has gone


@contextlib.contextmanager
def turn(label: str, queue: Queue = QUEUE, show: Callable[[Any, int, str], None] | None = show_place) -> Iterator[None]:
    """Wait for this session's turn (showing its place with `show`; None: a thread with no page,
    e.g. a room's warm-up, waits without showing anything), run the block, hand the turn on."""
    me = threading.get_ident()
    with queue.cond:
        if queue.holder == me:
            queue.depth += 1
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield
        finally:
            with queue.cond:
                queue.depth -= 1
        return
    ticket = object()
    start = time.monotonic()
    with queue.cond:
        queue.waiting.append(ticket)
    try:
        place = st.empty() if show is not None else None
        while True:
            with queue.cond:
                if queue.holder is None and queue.waiting[0] is ticket:
                    queue.waiting.pop(0)
                    queue.holder, queue.depth = me, 0
                    queue.longest_wait_s = max(queue.longest_wait_s, time.monotonic() - start)
                    break
                ahead = queue.ahead_of(ticket)
            if show is not None:
                show(place, ahead, label)
            with queue.cond:
                queue.cond.wait(timeout=POLL_S)
        if place is not None:
            place.empty()
        yield
    finally:
        with queue.cond:
            if ticket in queue.waiting:
                queue.waiting.remove(ticket)
            if queue.holder == me and queue.depth == 0:
                queue.holder = None
                queue.served += 1
            queue.cond.notify_all()
