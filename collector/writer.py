"""The collector's writer process, and the client the HTTP process uses to talk to it.

The HTTP process (uvicorn: parsing, pydantic validation, rate limit) and the writer process
(decoding, rails, masking, DuckDB) each get their own interpreter and GIL, so the two halves run
on two cores. Only the writer opens the DuckDB file.

Protocol over one duplex pipe: the client sends `(id, op, args)`; the writer answers
`(id, ok, value)`. Ops: "ingest" (answered when its group commits), "history", "stats", "quality",
"subject_export" and "subject_erase" (answered between groups; an erasure commits the group
being gathered first) and "stop" (commit what is queued, write the runs row, checkpoint, close). The
writer gathers ingest items while they keep arriving (each within `QUIET_S` of the last), for up to
`linger` seconds (0.2 s) after the first one or until `max_group_events`: the rails cost a fixed ~25 ms
a call whatever the size, so committing every lone batch at once would spend most of the time on that.
Under load the groups grow by themselves: what arrives while a group commits waits in the pipe and is
read back to back into the next group. If the HTTP process dies, the writer
sees the pipe close and exits; if the writer dies, every waiting request gets an error (503).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import logging
import multiprocessing as mp
import os
import queue
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import duckdb

from collector.ingest import IngestError, Ingestor, Item, open_store
from engine.scenario import Scenario

log = logging.getLogger("drcl.collector")

WRITER_THREADS = int(os.environ.get("DRCL_COLLECTOR_THREADS", "1"))
LOCK_WAIT_S = 15.0  # a previous writer that is still closing the file (after a crash of its parent)
# A group is committed once no batch has arrived for this long (or at `linger`). Fixed, not longer when
# batches come densely: waiting three mean gaps (the rule until 2026-12-02) gathered bigger groups but
# every batch waited for them; at 20,000 events/s offered (benchmarks/collector_load.py, this machine)
# p99 fell from 435-513 ms to 233-268 ms with the fixed gap, for ~6 us more writer CPU an event and a
# closed-model capacity of 26,460 instead of 28,568 events/s. Not shorter either: with no wait at all
# the writer read one batch at a time (the pipe holds only a few) and fell behind (13,378 events/s).
QUIET_S = 0.005
# Ops answered between groups, and the Ingestor method each calls.
CALLS = {"history": "consent_history", "stats": "stats", "quality": "quality", "subject_export": "subject_export", "subject_erase": "subject_erase"}
CALL_TIMEOUT_S = 120.0  # a request waits at most this long for the writer (then 503: retrying is safe)
GC_GEN0 = 50_000  # allocations between young-generation collections (CPython's default: 700)


def settle_gc() -> None:
    """Once a collector process has started: what it allocated so far (modules, models, the
    scenario) is kept out of every later collection, and young collections come rarely.

    A request allocates a few thousand objects (a batch's validated events) that reference
    counting frees at once, without the cyclic collector; at the default threshold of 700 the
    collector still ran several times a request and, every tenth time, walked the whole heap
    of imported modules: a fifth of the HTTP process's time under load. Cycles (an exception's
    traceback) are still collected, only later."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0, gen1, gen2)


def unsettle_gc() -> None:
    """Before a collector process exits: its frozen objects are collectable again, so they are
    freed at exit (else DuckDB's bindings report them as leaked)."""
    gc.unfreeze()
    gc.collect()


def open_when_free(db: Path, wait: float = LOCK_WAIT_S) -> duckdb.DuckDBPyConnection:
    """Open the store, waiting while another process still holds its lock."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return open_store(db)
        except duckdb.IOException as err:
            if "lock" not in str(err).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def writer_main(conn: Connection, db: str, scenario_json: str, linger: float, max_group_events: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    try:
        con = open_when_free(Path(db))
        # One thread: the HTTP process and the sender need the other core; measured faster than
        # DuckDB's default of one thread per core for these small groups.
        con.execute(f"SET threads = {WRITER_THREADS}")
        # Fewer automatic checkpoints while loading (each rewrites the tables); the WAL stays
        # durable and is replayed on open after a crash.
        con.execute("SET checkpoint_threshold = '1GB'")
        ing = Ingestor(con, Scenario.model_validate_json(scenario_json))
    except Exception as err:
        conn.send((0, False, f"cannot open {db}: {err}"))
        return
    settle_gc()
    conn.send((0, True, ing.stats()))
    group: list[tuple[int, Item]] = []
    group_n = 0
    deadline = 0.0

    def commit() -> None:
        nonlocal group_n
        results = ing.commit_group([item for _, item in group])
        conn.send([(i, not isinstance(r, IngestError), r if not isinstance(r, IngestError) else str(r))
                   for (i, _), r in zip(group, results)])
        group.clear()
        group_n = 0

    try:
        while True:
            # Gather while batches keep coming (each within the quiet gap of the last), for at most `linger`.
            if group and time.monotonic() >= deadline:
                commit()
                continue
            timeout = None if not group else min(QUIET_S, deadline - time.monotonic())
            if not conn.poll(timeout):
                commit()
                continue
            try:
                msg_id, op, args = conn.recv()
            except EOFError:  # the HTTP process is gone: nobody is waiting for answers
                break
            if op == "ingest":
                if not group:
                    deadline = time.monotonic() + linger
                group.append((msg_id, Item(*args)))
                group_n += group[-1][1].n
                if group_n >= max_group_events:
                    commit()
            elif op in CALLS:
                if op == "subject_erase" and group:  # erase what was sent before the request too
                    commit()
                try:
                    value = getattr(ing, CALLS[op])(*args)
                    conn.send([(msg_id, True, value)])
                except Exception as err:
                    log.exception("%s failed", op)
                    conn.send([(msg_id, False, str(err))])
            elif op == "stop":
                if group:
                    commit()
                ing.write_run_row()
                conn.send([(msg_id, True, ing.stats())])
                break
    finally:
        con.execute("CHECKPOINT")
        con.close()
        unsettle_gc()


class WriterClient:
    """The HTTP process's handle on the writer: `await call(op, *args)`."""

    def __init__(self, db: Path, scenario: Scenario, linger: float = 0.05, max_group_events: int = 50_000) -> None:
        self.db, self.scenario, self.linger, self.max_group_events = db, scenario, linger, max_group_events
        self.pending: dict[int, asyncio.Future] = {}
        self.ids = itertools.count(1)
        self.outbox: queue.Queue = queue.Queue()
        self.closed: str | None = None  # why the writer is gone, once it is
        self.stopping = False
        self.on_death: Callable[[str], None] | None = None  # the writer died while serving

    def start(self, loop: asyncio.AbstractEventLoop) -> dict:
        """Start the writer and wait until it has opened the database; its first stats."""
        self.loop = loop
        ctx = mp.get_context("spawn")  # never fork a process that runs threads
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(
            target=writer_main, name="collector-writer", daemon=True,
            args=(child, str(self.db), self.scenario.model_dump_json(), self.linger, self.max_group_events),
        )
        saved = os.environ.get("POLARS_MAX_THREADS")
        os.environ["POLARS_MAX_THREADS"] = saved or str(WRITER_THREADS)  # read by polars at import, in the child
        try:
            self.proc.start()
        finally:
            if saved is None:
                os.environ.pop("POLARS_MAX_THREADS")
        child.close()
        _, ok, value = self.conn.recv()
        if not ok:
            self.proc.join()
            raise IngestError(value)
        threading.Thread(target=self._send_loop, name="writer-send", daemon=True).start()
        threading.Thread(target=self._recv_loop, name="writer-recv", daemon=True).start()
        return value

    async def call(self, op: str, *args: Any, timeout: float = CALL_TIMEOUT_S) -> Any:
        if self.closed:
            raise IngestError(self.closed)
        msg_id = next(self.ids)
        fut = self.loop.create_future()
        self.pending[msg_id] = fut
        self.outbox.put((msg_id, op, args))
        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            self.pending.pop(msg_id, None)
            raise IngestError(f"the writer did not answer within {timeout:.0f} s") from None

    async def stop(self) -> dict | None:
        """Flush and close; the writer's last stats (None if it was already gone)."""
        self.stopping = True
        final = None
        if not self.closed:
            with contextlib.suppress(IngestError):  # already gone: nothing left to flush
                final = await self.call("stop")
        self.outbox.put(None)
        await asyncio.get_running_loop().run_in_executor(None, self.proc.join, 60)
        return final

    # Pipe I/O on threads: a send blocks while the writer is busy, and must not block the event loop.
    def _send_loop(self) -> None:
        while (msg := self.outbox.get()) is not None:
            try:
                self.conn.send(msg)
            except (OSError, ValueError):
                self.loop.call_soon_threadsafe(self._fail, msg[0], "the writer process is gone")

    def _recv_loop(self) -> None:
        while True:
            try:
                answers = self.conn.recv()
            except Exception as err:  # EOF when the writer exits; anything else is as fatal
                why = "the writer process stopped" if isinstance(err, (EOFError, OSError)) else f"writer pipe: {err!r}"
                self.loop.call_soon_threadsafe(self._fail_all, why)
                return
            self.loop.call_soon_threadsafe(self._resolve, answers)

    def _resolve(self, answers: list[tuple[int, bool, Any]]) -> None:
        for msg_id, ok, value in answers:
            fut = self.pending.pop(msg_id, None)
            if fut is None or fut.done():  # its client went away
                continue
            fut.set_result(value) if ok else fut.set_exception(IngestError(value))

    def _fail(self, msg_id: int, why: str) -> None:
        self._resolve([(msg_id, False, why)])

    def _fail_all(self, why: str) -> None:
        self.closed = why
        self._resolve([(i, False, why) for i in list(self.pending)])
        if not self.stopping and self.on_death is not None:
            self.on_death(why)
