"""A fix for Streamlit 1.67: a whole-app run's output lost when a fragment's timer fires as it ends.

How it is lost (read from Streamlit 1.67's `AppSession.request_rerun`, `_create_scriptrunner` and
`_handle_scriptrunner_event_on_event_loop`): a script runner posts everything it produces (the run's
start, its deltas, its end, its own shutdown) to the server's event loop. When the runner has no more
work it stops, but the session forgets it only once its shutdown event is handled on that loop. A
fragment rerun (a `run_every` tick) that arrives in between is refused by the stopped runner, so the
session starts a new runner at once, and every event of the old runner still waiting on the busy loop
is then ignored as coming from "a non-current ScriptRunner". Those are the last run's deltas and its
end: the browser never sees the page the server drew, and nothing asks again. Streamlit guards this
only for a fragment that no longer exists (its issue 9921).

In this app it is what a room's learner met under load: the room moved, the learner's page was redrawn
on the server, and its screen kept the old step until the room moved again (the classroom benchmark
counted 4 to 19 such learner-steps of 270 with 30 learners).

The fix: a new runner that would replace a runner which still exists waits until the loop has handled
the old runner's pending events (they were posted before, so they run first); only then it starts.
Nothing is dropped and no run is repeated. The wait is bounded (`GIVE_UP_S`): past it, Streamlit's own
behaviour applies.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from streamlit.runtime.app_session import AppSession
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData

_LOG = logging.getLogger(__name__)
GIVE_UP_S = 2.0  # the old runner's shutdown normally reaches the loop within a few of its turns
RETRY_S = 0.005  # after the first turn: no busy spinning while a slow loop catches up
_MARK = "_drcl_waits_for_old_runner"


def install() -> bool:
    """Wrap `AppSession._create_scriptrunner` once per process; False if this Streamlit has no such method."""
    original = getattr(AppSession, "_create_scriptrunner", None)
    if original is None or getattr(original, _MARK, False):
        return original is not None

    def create_after_old_runner(session: AppSession, initial_rerun_data: RerunData) -> None:
        _create(session, initial_rerun_data, original, deadline=time.monotonic() + GIVE_UP_S, first=True)

    setattr(create_after_old_runner, _MARK, True)
    setattr(AppSession, "_create_scriptrunner", create_after_old_runner)  # noqa: B010 (a method replaced on the class)
    return True


def _create(session: AppSession, rerun_data: RerunData, original: Any, deadline: float, first: bool) -> None:
    old = getattr(session, "_scriptrunner", None)
    loop: asyncio.AbstractEventLoop | None = getattr(session, "_event_loop", None)
    if old is None or loop is None or loop.is_closed() or time.monotonic() > deadline:
        if old is not None:
            _LOG.warning("the old script runner did not shut down within %.1f s; starting a new one", GIVE_UP_S)
        original(session, rerun_data)
        return

    def retry() -> None:
        current = getattr(session, "_scriptrunner", None)
        # Meanwhile another request may have started a runner that takes requests: hand this one to it.
        if current is not None and current is not old and current.request_rerun(rerun_data):
            return
        _create(session, rerun_data, original, deadline, first=False)

    # call_soon_threadsafe: request_rerun may come from another thread; the first retry runs after every
    # callback already queued on the loop (the old runner's events among them).
    if first:
        loop.call_soon_threadsafe(retry)
    else:
        loop.call_soon_threadsafe(loop.call_later, RETRY_S, retry)
