"""Send a run's hits to an HTTP collector (`--out http://host:port/api/v1/events`), in this
project's wire format or a vendor's (`fmt`: see simulators/formats, which also says how the URL's
path combines with the vendor's path).

- Events go in batches (`batch_size`, and at most 1 MB a body) to the events URL; in the native
  format each hit that carries a banner decision also goes, as a consent record, to the sibling
  `/consent` URL. GA4's Measurement Protocol takes one body (up to 25 events of one visitor) a request.
- Closed model: a batch leaves once it holds `batch_size` events or `linger` seconds after its
  first event came in, whichever comes first, so a slow source (a trickle) never waits for a
  full batch; the rest goes at the end of the run.
- httpx, async, pooled connections, on an event loop in its own thread. `write()` returns once
  a chunk's batches are dispatched (not answered), so generation overlaps sending while memory
  stays bounded by `max_in_flight`.
- Closed model (default): at most `concurrency` requests in flight. Open model (`rate` events/s):
  batch k is due when its last event "arrives" at rate `rate` (a batch is cut early after
  `linger` seconds); latency is measured from that due time, so a collector that falls behind
  shows up as latency instead of silently slowing the sender (no coordinated omission).
- Failures (connection errors, timeouts, 429, 5xx) are retried after 1, 2, 4, 8, 16 s, or after
  `Retry-After` when the collector sends one. A batch still failing after that, or answered
  400/413, is counted as failed: nothing is dropped silently, and the CLI exits non-zero.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import datetime as dt
import email.utils
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import numpy as np
import polars as pl

from engine import wire
from engine.scenario import Scenario
from simulators import formats
from simulators.sinks import SinkError

T = TypeVar("T")

RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 16.0)
POOL_SIZE = 16  # connections per httpx client
MAX_429 = 1_000  # a batch paced by 429s this many times in a row is given up
RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_RETRY_AFTER = 120.0


@dataclass
class HttpStats:
    events_sent: int = 0  # events posted at least once
    events_accepted: int = 0  # answered 202 (including events the collector already had)
    events_duplicate: int = 0  # of those, already stored (a retry after a lost answer)
    events_retried: int = 0  # event re-sends
    events_failed: int = 0
    consents_sent: int = 0
    consents_accepted: int = 0
    consents_failed: int = 0
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)  # per batch, due time -> final answer
    errors: list[str] = field(default_factory=list)  # first few failure reasons
    first_send: float | None = None  # perf_counter of the first request
    last_answer: float | None = None  # and of the last 202

    @property
    def active_seconds(self) -> float:
        """From the first request to the last acceptance: the window the rate is sustained over."""
        if self.first_send is None or self.last_answer is None:
            return 0.0
        return self.last_answer - self.first_send

    @property
    def sustained_rate(self) -> float:
        return self.events_accepted / self.active_seconds if self.active_seconds else 0.0

    @property
    def lost(self) -> int:
        return self.events_failed + self.consents_failed

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")

    def text(self, url: str) -> str:
        rate = self.sustained_rate
        statuses = ", ".join(f"{k} x{v:,}" for k, v in sorted(self.statuses.items(), key=lambda kv: str(kv[0])))
        lines = [
            f"http -> {url}",
            f"  events:  sent {self.events_sent:,}  accepted {self.events_accepted:,}"
            f" (already stored {self.events_duplicate:,})  retried {self.events_retried:,}  failed {self.events_failed:,}",
            f"  consent: sent {self.consents_sent:,}  accepted {self.consents_accepted:,}  failed {self.consents_failed:,}",
            f"  {self.requests:,} requests ({statuses or 'none'}); {rate:,.0f} accepted events/s"
            f" from the first request to the last answer ({self.active_seconds:.1f} s)",
            f"  latency per batch: p50 {self.percentile(50):.1f} ms  p95 {self.percentile(95):.1f} ms  p99 {self.percentile(99):.1f} ms",
        ]
        if self.lost:
            lines.append(f"  LOST {self.events_failed:,} events and {self.consents_failed:,} consent records")
            lines += [f"    {e}" for e in self.errors[:5]]
            if self.statuses.get(401) or self.statuses.get(403):
                # Said once, with the way out: the 401 lines alone do not say how to send a key.
                lines.append("  the receiver wants a key: $DRCL_API_KEY for this project's collector (its --api-keys), "
                             "--api-key for Segment or PostHog")
        return "\n".join(lines)


def _duplicates(resp: httpx.Response) -> int:
    """Events the collector already had (our collector says so; another may answer anything)."""
    try:
        return int(resp.json().get("duplicates", 0))
    except (ValueError, TypeError, AttributeError):
        return 0


def consent_url(events_url: str) -> str:
    return events_url.rstrip("/").removesuffix("/events") + "/consent"


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(value)))
    except ValueError:
        pass
    try:  # an HTTP date
        when = email.utils.parsedate_to_datetime(value)
        return min(MAX_RETRY_AFTER, max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds()))
    except (TypeError, ValueError):
        return None


def split_batches(sizes: np.ndarray, batch_size: int, max_bytes: int = wire.MAX_BODY_BYTES - 4096) -> list[tuple[int, int]]:
    """[start, end) index ranges of at most `batch_size` items and `max_bytes` of JSON each."""
    out, start, n = [], 0, len(sizes)
    cum = np.concatenate([[0], np.cumsum(sizes + 1)])
    while start < n:
        end = min(n, start + batch_size)
        # shrink to the byte limit (an item over the limit alone still goes, and is refused: counted failed)
        end = max(start + 1, min(end, int(np.searchsorted(cum, cum[start] + max_bytes, side="right")) - 1))
        out.append((start, end))
        start = end
    return out


def _api_key() -> dict[str, str]:
    """The collector's X-API-Key from $DRCL_API_KEY (an environment variable, not an option: never in `ps`)."""
    key = os.environ.get("DRCL_API_KEY", "").strip()
    return {"X-API-Key": key} if key else {}


class HttpSink:
    wants = "hits"

    def __init__(
        self,
        url: str,
        batch_size: int = 100,
        linger: float = 5.0,
        rate: float | None = None,
        concurrency: int = 8,
        max_in_flight: int = 128,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        timeout: float = 30.0,
        fmt: str = "native",
        api_key: str | None = None,
    ) -> None:
        try:
            self.format = formats.spec(fmt)
            url = formats.endpoint(url, fmt)
        except formats.FormatError as err:
            raise SinkError(str(err)) from None
        parts = urlsplit(url)
        try:
            port_ok = parts.port is None or parts.port > 0
        except ValueError:
            port_ok = False
        if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
            raise SinkError(f"not an http(s) URL with a valid host and port: {formats.redact(url)!r}")
        if not 1 <= batch_size <= wire.MAX_EVENTS:
            raise SinkError(f"--batch-size must be between 1 and {wire.MAX_EVENTS}")
        if rate is not None and not (math.isfinite(rate) and rate > 0):
            raise SinkError("--rate must be a positive number of events per second")
        if concurrency < 1:
            raise SinkError("--concurrency must be at least 1")
        if not (math.isfinite(linger) and linger >= 0):
            raise SinkError("--linger-ms must be 0 or more")
        self.api_key = api_key
        self.url = url
        self.consent_url = consent_url(url)
        self.destination = formats.redact(url)  # printed in summaries: never a credential from the query string
        self.batch_size = batch_size
        self.linger = linger
        self.rate = rate
        self.limit = max_in_flight if rate is not None else concurrency
        self.retry_delays = retry_delays
        self.timeout = timeout
        self.stats = HttpStats()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.on_accepted: Callable[[], None] | None = None  # progress display, at most 5 times a second
        self._shown = 0.0

    # --- lifecycle (called from run_to_sink's writer thread) ---------------------------------
    def open(self, scenario: Scenario) -> None:
        self.run_id = scenario.run_id
        self.scenario = scenario
        self.options = formats.Options(run_id=scenario.run_id, **({"api_key": self.api_key} if self.api_key else {}))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="http-sink", daemon=True)
        self.thread.start()
        try:
            self._call(self._start())
        except BaseException:
            self._stop_loop()
            raise

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        if self.loop is None:
            raise RuntimeError("HttpSink used before open() or after close()")
        return self.loop

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._running_loop()).result()

    async def _start(self) -> None:
        # Several small pools rather than one big one: httpx scans its whole pool on every
        # request, which cost more CPU than the requests themselves past ~32 connections.
        n_clients = math.ceil(self.limit / POOL_SIZE)
        size = math.ceil(self.limit / n_clients)
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        headers = {"content-type": "application/json"}
        if self.format.name == "native":  # our collector's key ($DRCL_API_KEY); never sent to a vendor
            headers.update(_api_key())
        if self.format.name == "segment" and self.api_key:  # Segment's write key: HTTP Basic, key as the user name
            headers["authorization"] = "Basic " + base64.b64encode(f"{self.api_key}:".encode()).decode()
        self.clients = [httpx.AsyncClient(limits=limits, timeout=self.timeout, headers=headers) for _ in range(n_clients)]
        self.client = self.clients[0]
        self.requests_made = 0
        self.slots = asyncio.Semaphore(self.limit)
        self.tasks: set[asyncio.Task] = set()
        native = self.format.name == "native"
        probe = self.url.rstrip("/").removesuffix("/events") + "/health" if native else self.url
        try:  # fail fast, with a clear message, when nothing listens there (any answer will do)
            await self.client.get(probe, timeout=5.0)
        except httpx.HTTPError as err:
            for c in self.clients:
                await c.aclose()
            reason = f"{type(err).__name__} {err}".replace(self.url, self.destination)
            raise SinkError(f"cannot reach the collector at {self.destination}: {reason}") from None
        self.due_events = 0  # events scheduled so far (open model clock)
        self.rate_t0: float | None = None  # the open model's clock starts at the first dispatch
        self.chunk = 0
        self.dispatching: concurrent.futures.Future[None] | None = None  # the previous chunk's dispatch
        self.consent_buffer: list[str] = []
        self.consent_batches = 0
        self.batches = 0
        # Closed model: events waiting for a full batch or for the linger timer.
        self.buffer: list[str] = []
        self.buffer_sizes = np.zeros(0, np.int64)
        self.buffer_n = np.zeros(0, np.int64)
        self.timer: asyncio.TimerHandle | None = None
        self.buffer_lock = asyncio.Lock()  # the linger timer and the next chunk both take from the buffer

    def _encode(self, hits: pl.DataFrame) -> tuple[pl.Series, pl.Series, np.ndarray, pl.Series]:
        """(units as JSON text, events per unit, consent positions, consent records) of a chunk."""
        if self.format.name == "native":
            events = wire.encode_events(hits, scope=self.run_id)
            consent_pos = np.flatnonzero(hits["consent_choice"].is_not_null().to_numpy())
            return events, pl.Series("n", np.ones(len(events), np.int64)), consent_pos, wire.encode_consents(hits)
        units = formats.encode(hits, self.scenario, self.format.name, self.options)
        return units["json"], units["n"], np.zeros(0, np.int64), pl.Series("json", [], pl.String)

    def write(self, chunk: dict[str, pl.DataFrame]) -> None:
        """Encode this chunk while the previous one is still being dispatched (so the open
        model's clock never waits for encoding), then hand it over; at most one chunk waits."""
        units, n, consent_pos, consents = self._encode(chunk["hits"])
        self._wait_dispatched()
        take = self._dispatch_chunk if self.rate is not None else self._enqueue
        self.dispatching = asyncio.run_coroutine_threadsafe(take(units, n, consent_pos, consents, self.chunk), self._running_loop())
        self.chunk += 1

    def _wait_dispatched(self) -> None:
        if self.dispatching is not None:
            pending, self.dispatching = self.dispatching, None
            pending.result()

    def close(self, scenario: Scenario, counts: dict[str, int]) -> None:
        self._finish()

    def abort(self) -> None:
        self._finish()

    def _finish(self) -> None:
        if self.loop is None:
            return
        try:
            self._wait_dispatched()
        finally:
            try:
                self._call(self._flush_buffer(everything=True))
            finally:
                self._call(self._drain())
                self._stop_loop()

    def _stop_loop(self) -> None:
        loop = self._running_loop()
        loop.call_soon_threadsafe(loop.stop)
        self.thread.join()
        loop.close()
        self.loop = None

    async def _drain(self) -> None:
        while self.tasks:  # a linger flush may still spawn sends while the first ones finish
            await asyncio.gather(*list(self.tasks), return_exceptions=True)  # _send counts its own failures
        for c in self.clients:
            await c.aclose()

    @property
    def lost(self) -> int:
        return self.stats.lost

    def report(self) -> str:
        return self.stats.text(self.destination)

    # --- dispatch ---------------------------------------------------------------------------
    def _batches(self, n: int) -> list[tuple[int, int]]:
        size = min(self.batch_size, self.format.per_request)
        if self.rate is not None and self.linger > 0:  # a batch is cut when `linger` has passed since its first event
            size = max(1, min(size, math.floor(self.rate * self.linger) or 1))
        return [(s, min(n, s + size)) for s in range(0, n, size)]

    def _body(self, items: list[str]) -> bytes:
        self.batches += 1
        if self.format.name == "native":
            return wire.batch_body(f"{self.run_id}-b{self.batches}", dt.datetime.now(dt.UTC), items)
        return formats.body(self.format.name, items, self.options)

    # closed model: a batch leaves when full or `linger` after its first event
    async def _enqueue(self, units: pl.Series, n: pl.Series, consent_pos: np.ndarray, consents: pl.Series, chunk: int) -> None:
        async with self.buffer_lock:
            self.buffer += units.to_list()
            self.buffer_sizes = np.concatenate([self.buffer_sizes, units.str.len_bytes().to_numpy().astype(np.int64)])
            self.buffer_n = np.concatenate([self.buffer_n, n.to_numpy().astype(np.int64)])
            self.consent_buffer += consents.to_list()
            await self._flush_locked(everything=self.linger == 0)
            if (self.buffer or self.consent_buffer) and self.timer is None:
                # Anything left has waited since now at most (the buffer was emptied or the timer runs).
                self.timer = asyncio.get_running_loop().call_later(self.linger, lambda: self._spawn(self._linger_expired()))

    async def _linger_expired(self) -> None:
        async with self.buffer_lock:
            self.timer = None
            await self._flush_locked(everything=True)

    def _full_batch(self, start: int) -> int:
        """Units in the batch starting at `start` if the buffer holds a full one (batch_size events,
        or as many units as one request takes), else 0. Looks at one batch's worth of units only."""
        window = self.buffer_n[start:start + min(self.batch_size, self.format.per_request)]
        events = np.cumsum(window)
        if len(events) and events[-1] >= self.batch_size:
            return int(np.searchsorted(events, self.batch_size)) + 1
        return self.format.per_request if len(window) == self.format.per_request else 0

    async def _flush_buffer(self, everything: bool) -> None:
        async with self.buffer_lock:
            await self._flush_locked(everything)

    async def _flush_locked(self, everything: bool) -> None:
        """Send full batches; with `everything`, also the last partial one and the consent records."""
        start, held = 0, len(self.buffer)
        while start < held:
            k = self._full_batch(start)
            if k == 0:
                if not everything:
                    break
                k = min(held - start, self.format.per_request)
            for a, b in split_batches(self.buffer_sizes[start:start + k], k):
                items = self.buffer[start + a:start + b]
                await self.slots.acquire()
                self._spawn(self._send(self.url, self._body(items), int(self.buffer_n[start + a:start + b].sum()), "events", None))
            start += k
        # One cut at the end: taking batches off the front one by one would copy the list each time.
        del self.buffer[:start]
        self.buffer_sizes, self.buffer_n = self.buffer_sizes[start:], self.buffer_n[start:]
        if everything or len(self.consent_buffer) >= self.batch_size:
            await self._flush_consents(None, everything)
        if not self.buffer and not self.consent_buffer and self.timer is not None:
            self.timer.cancel()
            self.timer = None

    # open model: each batch is due when its last event arrives at `rate`
    async def _dispatch_chunk(self, units: pl.Series, n: pl.Series, consent_pos: np.ndarray, consents: pl.Series, chunk: int) -> None:
        texts = units.to_list()
        counts = n.to_numpy()
        sizes = units.str.len_bytes().to_numpy()
        ctexts = consents.to_list()
        ranges = []
        for a, b in self._batches(len(texts)):  # byte-limit split inside the count batches
            ranges += [(a + x, a + y) for x, y in split_batches(sizes[a:b], b - a)]
        for a, b in ranges:
            due = None
            if self.rate is not None:
                if self.rate_t0 is None:
                    self.rate_t0 = time.perf_counter()
                self.due_events += int(counts[a:b].sum())
                due = self.rate_t0 + self.due_events / self.rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            await self.slots.acquire()
            self._spawn(self._send(self.url, self._body(texts[a:b]), int(counts[a:b].sum()), "events", due))
            # The consent records decided on these events' pages follow them, batched as well.
            lo, hi = np.searchsorted(consent_pos, [a, b])
            self.consent_buffer += ctexts[lo:hi]
            if len(self.consent_buffer) >= self.batch_size:
                await self._flush_consents(due)
        await self._flush_consents(None)  # a chunk's consent records never wait for the next chunk

    async def _flush_consents(self, due: float | None, everything: bool = True) -> None:
        while self.consent_buffer and (everything or len(self.consent_buffer) >= self.batch_size):
            part, self.consent_buffer = self.consent_buffer[: self.batch_size], self.consent_buffer[self.batch_size :]
            await self.slots.acquire()
            self.consent_batches += 1
            cbody = wire.batch_body(f"{self.run_id}-c{self.consent_batches}", dt.datetime.now(dt.UTC), part, key="records")
            self._spawn(self._send(self.consent_url, cbody, len(part), "consents", due))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _send(self, url: str, body: bytes, n: int, kind: str, due: float | None) -> None:
        """Post one batch until it is accepted, refused, or out of retries; count the outcome.

        Failures (transport errors, 5xx) use the 1-2-4-8-16 s schedule, waiting longer when the
        collector's Retry-After says so. A 429 is the collector pacing us, not a failure: it is
        retried after its Retry-After without using up that schedule (up to MAX_429 times)."""
        st = self.stats
        start = due if due is not None else time.perf_counter()
        if st.first_send is None:
            st.first_send = start
        setattr(st, f"{kind}_sent", getattr(st, f"{kind}_sent") + n)
        failures = throttled = 0
        reason = ""
        try:
            while True:
                wait = None
                try:
                    self.requests_made += 1
                    client = self.clients[self.requests_made % len(self.clients)]
                    resp = await client.post(url, content=body)
                    st.requests += 1
                    st.statuses[resp.status_code] += 1
                    if resp.status_code == 202 or (self.format.name != "native" and 200 <= resp.status_code < 300):
                        self._accepted(kind, n, start, resp)
                        return
                    reason = f"{resp.status_code} {resp.text[:200]}"
                    if resp.status_code not in RETRY_STATUSES:
                        break
                    wait = _retry_after(resp.headers.get("retry-after"))
                    if resp.status_code == 429 and throttled < MAX_429:
                        throttled += 1
                        await self._before_retry(kind, n, wait if wait is not None else self.retry_delays[0])
                        continue
                except httpx.HTTPError as err:
                    st.requests += 1
                    st.statuses[type(err).__name__] += 1
                    reason = f"{type(err).__name__}: {err}"
                if failures == len(self.retry_delays):
                    break
                backoff = self.retry_delays[failures]
                failures += 1
                await self._before_retry(kind, n, max(backoff, wait or 0.0))
        except Exception as err:  # never leave a batch uncounted
            reason = f"{type(err).__name__}: {err}"
        finally:
            self.slots.release()
        setattr(st, f"{kind}_failed", getattr(st, f"{kind}_failed") + n)
        if len(st.errors) < 20:
            shown = formats.redact(url)
            st.errors.append(f"{kind} batch to {shown}: {reason.replace(url, shown)}")

    async def _before_retry(self, kind: str, n: int, wait: float) -> None:
        if kind == "events":
            self.stats.events_retried += n
        await asyncio.sleep(wait)

    def _accepted(self, kind: str, n: int, start: float, resp: httpx.Response) -> None:
        st = self.stats
        setattr(st, f"{kind}_accepted", getattr(st, f"{kind}_accepted") + n)
        if kind != "events":
            return
        if self.format.name == "native":
            st.events_duplicate += _duplicates(resp)
        now = time.perf_counter()
        st.last_answer = now
        st.latencies_ms.append((now - start) * 1000)
        if self.on_accepted is not None and now - self._shown > 0.2:
            self._shown = now
            self.on_accepted()
