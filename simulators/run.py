"""Drive a scenario: the whole run in memory (app-sized runs), or chunk by chunk into a sink with the
sink writing in a background thread. The truth is drawn here (simulators.traffic); everything after
the truth is engine.pipeline.

Generation and writing overlap where they release the GIL (numpy, polars, DuckDB). At most two
chunks are alive at once, the one being written and the one being generated: the next chunk is
only started once the writer has taken the previous one, so memory stays flat whatever the run's
size. (Worker processes were tried and measured slower on two cores: shipping a chunk between
processes costs more than it saves.)
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from engine import pipeline
from engine.scenario import Scenario
from engine.truth import Traffic
from simulators.sinks import Sink
from simulators.traffic import CHUNK_VISITORS, generate_chunk, generate_traffic, n_chunks

_DONE = object()


def build_run(scenario: Scenario, traffic: Traffic | None = None) -> pipeline.Tables:
    """A whole run in memory (app-sized runs): the five data tables."""
    return pipeline.tables(scenario, traffic if traffic is not None else generate_traffic(scenario))



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
        return {"hits": pipeline.browser_hits(scenario, traffic)}, traffic.events.height
    return pipeline.tables(scenario, traffic), traffic.events.height


def run_to_sink(
    scenario: Scenario,
    sink: Sink,
    chunks: range | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
) -> Summary:
    """Generate every chunk (or the given ones) into the sink; on any error or interruption
    (KeyboardInterrupt, a signal turned into an exception, Streamlit stopping the script) the
    sink is aborted, which removes its temporary output."""
    chunks = chunks if chunks is not None else range(n_chunks(scenario))
    q: queue.Queue = queue.Queue(maxsize=1)
    # A slot per chunk alive (being generated, queued or written); the writer gives one back when
    # it has written a chunk and let go of it.
    slots = threading.Semaphore(2)
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer() -> None:
        while (item := q.get()) is not _DONE:
            try:
                if not (errors or stop.is_set()):  # else drain so the producer never blocks; write nothing more
                    sink.write(item)
            except BaseException as err:
                errors.append(err)
            finally:
                del item
                slots.release()

    counts: dict[str, int] = {}
    truth = 0
    start = time.perf_counter()
    thread: threading.Thread | None = None
    done_sent = False
    # One try from open to close: an exception may arrive between any two statements (a signal
    # handler raises wherever the main thread is), and every such point must end in abort().
    try:
        sink.open(scenario)
        thread = threading.Thread(target=writer, name="sink-writer", daemon=True)
        thread.start()
        for c in chunks:
            slots.acquire()
            payload, n_events = _chunk_payload(scenario, c, sink.wants)
            truth += n_events
            for k, rows in ((k, v.height) for k, v in payload.items()):
                counts[k] = counts.get(k, 0) + rows
            q.put(payload)
            del payload  # the writer's now: not kept alive here while the next chunk is generated
            if errors:
                break
            if on_chunk:
                lo = c * CHUNK_VISITORS
                on_chunk(min(CHUNK_VISITORS, scenario.traffic.visitors - lo), n_events)
        q.put(_DONE)
        done_sent = True
        thread.join()
        if errors:
            raise errors[0]
        sink.close(scenario, counts)
    except BaseException:
        stop.set()
        if thread is not None and thread.ident is not None:  # started
            if not done_sent:
                q.put(_DONE)
            thread.join()
        sink.abort()
        raise
    return Summary(scenario.run_id, sink.destination, time.perf_counter() - start, truth, counts)
