"""Run a scenario into a sink chunk by chunk.

Small runs go in-process, with the sink writing in a background thread. Larger runs compute
chunks in worker processes (generation, consent, rails and masking hold the GIL in places: HMACs
are Python calls) while this process writes, in chunk order, so the output is the same either
way. At most `workers + 1` chunks are in flight: memory stays flat whatever the run's size.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import polars as pl

from engine.consent import decide
from engine.scenario import Scenario
from simulators.hits import build_hits
from simulators.run import tables_for
from simulators.sinks import Sink
from simulators.traffic import CHUNK_VISITORS, generate_chunk, n_chunks

_DONE = object()


@dataclass
class Summary:
    run_id: str
    destination: str
    seconds: float
    truth_events: int
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def events_per_second(self) -> float:
        return self.truth_events / self.seconds if self.seconds else 0.0


def _chunk_payload(scenario: Scenario, chunk: int, wants: str) -> tuple[dict[str, pl.DataFrame], int]:
    traffic = generate_chunk(scenario, chunk)
    if wants == "hits":
        hits = build_hits(scenario, traffic, decide(traffic.visitors, traffic.draws, scenario.consent))
        return {"hits": hits}, traffic.events.height
    return tables_for(scenario, traffic), traffic.events.height


def _worker_payload(scenario_json: str, chunk: int, wants: str) -> tuple[dict[str, pl.DataFrame], int]:
    return _chunk_payload(Scenario.model_validate_json(scenario_json), chunk, wants)


def default_workers(n: int) -> int:
    """Worker processes for a run of n chunks: none for small runs (start-up costs ~1 s)."""
    return 0 if n < 3 else max(1, min(2, (os.cpu_count() or 1) - 1))


def run_to_sink(
    scenario: Scenario,
    sink: Sink,
    chunks: range | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> Summary:
    """Generate every chunk (or the given ones) into the sink; on any error the sink is aborted."""
    chunks = chunks if chunks is not None else range(n_chunks(scenario))
    workers = default_workers(len(chunks)) if workers is None else workers
    if workers > 0:
        return _run_with_workers(scenario, sink, chunks, on_chunk, workers)
    q: queue.Queue = queue.Queue(maxsize=1)
    errors: list[BaseException] = []

    def writer() -> None:
        while (item := q.get()) is not _DONE:
            if errors:
                continue  # drain so the producer never blocks after a failure
            try:
                sink.write(item)
            except BaseException as err:
                errors.append(err)

    counts: dict[str, int] = {}
    truth = 0
    start = time.perf_counter()
    sink.open(scenario)
    thread = threading.Thread(target=writer, name="sink-writer", daemon=True)
    thread.start()
    try:
        for c in chunks:
            payload, n_events = _chunk_payload(scenario, c, sink.wants)
            truth += n_events
            for k, v in payload.items():
                counts[k] = counts.get(k, 0) + v.height
            q.put(payload)
            if errors:
                break
            if on_chunk:
                lo = c * CHUNK_VISITORS
                on_chunk(min(CHUNK_VISITORS, scenario.traffic.visitors - lo), n_events)
    except BaseException:
        q.put(_DONE)
        thread.join()
        sink.abort()
        raise
    q.put(_DONE)
    thread.join()
    if errors:
        sink.abort()
        raise errors[0]
    try:
        sink.close(scenario, counts)
    except BaseException:
        sink.abort()
        raise
    return Summary(scenario.run_id, sink.destination, time.perf_counter() - start, truth, counts)


def _run_with_workers(
    scenario: Scenario, sink: Sink, chunks: range, on_chunk: Callable[[int, int], None] | None, workers: int
) -> Summary:
    counts: dict[str, int] = {}
    truth = 0
    start = time.perf_counter()
    sj = scenario.canonical_json()
    # spawn, not fork: polars and DuckDB run thread pools that fork would copy mid-flight.
    ctx = multiprocessing.get_context("spawn")
    sink.open(scenario)
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            todo = iter(chunks)
            pending: deque = deque()
            for c in todo:
                pending.append((c, pool.submit(_worker_payload, sj, c, sink.wants)))
                if len(pending) > workers:
                    break
            while pending:
                c, fut = pending.popleft()
                payload, n_events = fut.result()
                nxt = next(todo, None)
                if nxt is not None:
                    pending.append((nxt, pool.submit(_worker_payload, sj, nxt, sink.wants)))
                sink.write(payload)
                truth += n_events
                for k, v in payload.items():
                    counts[k] = counts.get(k, 0) + v.height
                del payload
                if on_chunk:
                    on_chunk(min(CHUNK_VISITORS, scenario.traffic.visitors - c * CHUNK_VISITORS), n_events)
        sink.close(scenario, counts)
    except BaseException:
        sink.abort()
        raise
    return Summary(scenario.run_id, sink.destination, time.perf_counter() - start, truth, counts)
