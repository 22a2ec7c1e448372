"""The collector's HTTP API (Starlette on uvicorn).

    POST /api/v1/events                  202 after a durable write; 400 / 413 / 415 / 429 / 503 otherwise
    POST /api/v1/consent                 consent records (one, or {"records": [...]})
    GET  /api/v1/consent/{anonymous_id}  the consent log of one visitor (raw id, as the browser holds it)
    GET  /api/v1/subjects/{anonymous_id} every stored row linked to that id (data-subject access)
    DELETE /api/v1/subjects/{anonymous_id}  erase those rows (the consent log's are kept, and why)
    POST /api/gdpr/delete                {"anonymous_id": ...}: the same erasure
    GET  /api/v1/quality                 data quality of what this collector received
    GET  /api/v1/health                  {"status": "healthy", "version", "timestamp", "checks": {"database": "connected"}}

With API keys configured, every route but health needs a valid `X-API-Key` header (else 401).
Error bodies are always {"status": "error", "code", "message", "errors"?}. Nothing is written
unless the whole batch validates. Slow clients, connection counts and request-head sizes are
limited one layer down, in `collector/protocol.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import math
import os
import signal
import sys
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from collector import VERSION
from collector.auth import HEADER, ApiKeys
from collector.ingest import IngestError, Result
from collector.writer import WriterClient, settle_gc, unsettle_gc
from engine import wire
from engine.consent import SIGNALS
from engine.scenario import Scenario

Batch = wire.EventBatch | wire.ConsentBatch


class RateLimiter:
    """A token bucket per client: `per_minute` requests a minute, bursts up to the same number.

    A bucket that has filled up again is the same as no bucket, so it is dropped: buckets are
    kept least recently used first and the refilled ones at the front go on each call. The table
    then holds the clients seen in the last minute at most, and never more than `max_clients`
    (beyond, the least recently seen client's bucket goes; it starts full next time, which a
    client rotating addresses gets anyway)."""

    def __init__(self, per_minute: int, max_clients: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.max_clients = max_clients
        self.clock = clock
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (tokens, when)

    def retry_after(self, client: str) -> int:
        """0 if the request may pass (and takes a token), else whole seconds to wait."""
        if self.capacity <= 0:
            return 0
        now = self.clock()
        self._expire(now)
        tokens, last = self.buckets.pop(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        wait = 0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = max(1, math.ceil((1.0 - tokens) / self.rate))
        self.buckets[client] = (tokens, now)  # at the back: the most recently seen
        if len(self.buckets) > self.max_clients:
            self.buckets.popitem(last=False)
        return wait

    def _expire(self, now: float) -> None:
        while self.buckets:
            client, (tokens, last) = next(iter(self.buckets.items()))
            if tokens + (now - last) * self.rate < self.capacity:
                return  # the front is not full yet; those behind were seen later (each is full within a minute)
            del self.buckets[client]


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class ClientAddress:
    """Whose request it is: the connecting address, or, when that address is a trusted proxy,
    the last address in `X-Forwarded-For` that is not itself a trusted proxy.

    With no trusted proxy the header is never read: any client could name itself anything and
    so dodge the rate limit. A forwarded value that is not an IP address falls back to the
    proxy's own address (one bucket for all such requests), never to the text sent."""

    def __init__(self, trusted: Sequence[str] = ()) -> None:
        self.networks = [ipaddress.ip_network(a) for a in trusted]

    def _trusted(self, ip: IPAddress) -> bool:
        return any(ip in net for net in self.networks)

    def __call__(self, request: Request) -> str:
        peer = request.client.host if request.client else "unknown"
        if not self.networks:
            return peer
        peer_ip = _ip(peer)
        if peer_ip is None or not self._trusted(peer_ip):
            return peer
        hops = [h.strip() for v in request.headers.getlist("x-forwarded-for") for h in v.split(",")]
        found: IPAddress | None = None
        for hop in reversed(hops):  # each proxy appends the address it got the request from
            found = _ip(hop)
            if found is None:
                return peer
            if not self._trusted(found):
                break
        return str(found) if found is not None else peer


def _ip(text: str) -> IPAddress | None:
    """An address as proxies write it: "192.0.2.1", "192.0.2.1:5678", "2001:db8::1", "[2001:db8::1]:5678"."""
    if text.startswith("[") and "]" in text:
        text = text[1:text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:  # a dual-stack socket's view of an IPv4 peer
        return ip.ipv4_mapped
    return ip


class BodyBudget:
    """Bytes of request bodies held in memory at once, over all requests: bodies stalled just
    under the per-request cap cannot add up to more than `capacity`."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0

    def take(self, n: int) -> bool:
        if self.used + n > self.capacity:
            return False
        self.used += n
        return True

    def give(self, n: int) -> None:
        self.used -= n


# What a body may be declared as: JSON, or text/plain, which navigator.sendBeacon sends for a
# string (a beacon cannot set application/json without a CORS preflight). A body without any
# Content-Type (sendBeacon with an untyped Blob) is read as JSON too.
MEDIA_TYPES = ("application/json", "text/plain")
CHARSETS = ("utf-8", "us-ascii")


def _media_type_error(content_type: str | None) -> str | None:
    if content_type is None:
        return None
    media, *params = content_type.split(";")
    if media.strip().lower() not in MEDIA_TYPES:
        return f"Content-Type {media.strip()[:100]!r} is not accepted; send application/json or text/plain"
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip('"').lower() not in CHARSETS:
            return f"charset {value.strip()[:40]!r} is not accepted; the body must be UTF-8"
    return None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error(status: int, code: str, message: str, errors: list | None = None, headers: dict | None = None) -> JSONResponse:
    body: dict[str, Any] = {"status": "error", "code": code, "message": message}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers)


def _invalid(err: ValidationError, many_key: str | None = None) -> JSONResponse:
    """400 (or 413 for too many items) from a pydantic error; nothing has been stored."""
    errs = err.errors(include_url=False)
    bad_json = [e for e in errs if e["type"] == "json_invalid"]
    if bad_json:
        msg = bad_json[0]["msg"]
        return _error(400, "INVALID_JSON", f"the body is not valid JSON: {msg}", [{"field": "body", "message": msg}])
    if many_key and any(e["type"] == "too_long" and e["loc"] == (many_key,) for e in errs):
        return _error(413, "PAYLOAD_TOO_LARGE", f"too many {many_key} in one batch; the limit is {wire.MAX_EVENTS:,}")
    # Counted per field, as listed: a union's members each add an error for the same field.
    fields = wire.field_errors(err, limit=None)
    return _error(400, "VALIDATION_ERROR", f"{len(fields)} invalid field(s); nothing was stored", fields[:50])


def _validate(body: bytes, model: type[Batch], many_key: str) -> dict | JSONResponse:
    """The validated batch (a plain dict: see wire.plain_validator), or the 400 / 413 answer; a
    consent record may come on its own."""
    try:
        return _PLAIN[model].validate_json(body)
    except ValidationError as err:
        first = err
    if model is wire.ConsentBatch and any(e["type"] == "missing" and e["loc"] == ("records",) for e in first.errors()):
        try:  # one record on its own
            return {"records": [wire.CONSENT_RECORD_IN.validate_json(body)]}
        except ValidationError as err:
            return _invalid(err)
    return _invalid(first, many_key)


_PLAIN = {wire.EventBatch: wire.EVENT_BATCH_IN, wire.ConsentBatch: wire.CONSENT_BATCH_IN}


class _TooLarge(Exception):
    pass


class _NoRoom(Exception):
    pass


async def _read_body(request: Request, budget: BodyBudget) -> bytes:
    """The body, counted as it arrives: refused as soon as it would pass the per-request cap or
    the budget, never buffered past either. On success it holds len(body) bytes of the budget,
    for the caller to give back."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > wire.MAX_BODY_BYTES:
        raise _TooLarge
    body = bytearray()
    try:
        async for chunk in request.stream():
            if len(body) + len(chunk) > wire.MAX_BODY_BYTES:
                raise _TooLarge
            if not budget.take(len(chunk)):
                raise _NoRoom
            body += chunk
    except BaseException:
        budget.give(len(body))
        raise
    return bytes(body)


def create_app(db: Path, scenario: Scenario, rate_limit: int = 1000, linger: float = 0.2,
               trusted_proxies: Sequence[str] = (), body_memory: int = 64_000_000,
               api_keys: ApiKeys | None = None) -> Starlette:
    """The collector for one site configuration (`scenario`: site, consent, rails, masking).

    `trusted_proxies`: addresses or networks whose `X-Forwarded-For` names the client (none by
    default); `body_memory`: bytes of request bodies held at once, over all requests;
    `api_keys`: with keys, every route but health needs one in `X-API-Key`."""
    limiter = RateLimiter(rate_limit)
    client_of = ClientAddress(trusted_proxies)
    budget = BodyBudget(body_memory)
    state: dict = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        writer = WriterClient(db, scenario, linger=linger)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, writer.start, loop)

        def writer_died(why: str) -> None:
            # Without its writer the collector can only answer 503: stop, so a supervisor restarts it.
            print(f"collector: {why}; shutting down", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGTERM)

        writer.on_death = writer_died
        state["writer"] = writer
        settle_gc()
        try:
            yield
        finally:
            final = await writer.stop()  # answer everything already queued, write the runs row, close
            unsettle_gc()
            if final is not None:
                print(f"collector stopped: {final['stored'].get('events', 0):,} events and "
                      f"{final['stored'].get('consent', 0):,} consent records stored in {db}", flush=True)

    def rate_limited(request: Request) -> JSONResponse | None:
        """429 once the client has used up its requests (each call takes a token), else None."""
        wait = limiter.retry_after(client_of(request))
        if not wait:
            return None
        return _error(429, "RATE_LIMITED", f"over {rate_limit} requests a minute; retry in {wait} s",
                      headers={"Retry-After": str(wait)})

    async def admitted_body(request: Request) -> bytes | JSONResponse:
        """The raw body of a POST that passes the rate limit, the media type and the size and memory
        checks, or the error response. The caller gives its bytes back to `budget` once parsed."""
        if (limited := rate_limited(request)) is not None:
            return limited
        problem = _media_type_error(request.headers.get("content-type"))
        if problem:
            return _error(415, "UNSUPPORTED_MEDIA_TYPE", problem)
        try:
            return await _read_body(request, budget)
        except _TooLarge:
            return _error(413, "PAYLOAD_TOO_LARGE", f"the body is over {wire.MAX_BODY_BYTES:,} bytes")
        except _NoRoom:
            return _error(503, "OVERLOADED", "too many request bodies in memory at once; retry in 1 s",
                          headers={"Retry-After": "1"})
        except ClientDisconnect:
            return _error(400, "CLIENT_DISCONNECT", "the body was cut short")

    async def parse(request: Request, model: type[Batch], many_key: str) -> dict | JSONResponse:
        """The validated batch of a POST body, or the error response."""
        body = await admitted_body(request)
        if isinstance(body, JSONResponse):
            return body
        try:
            return _validate(body, model, many_key)
        finally:
            budget.give(len(body))  # parsed or refused, the raw bytes are garbage from here

    async def store(kind: str, batch_id: str | None, payload: bytes, n: int, client: str) -> Result | JSONResponse:
        try:
            return await state["writer"].call("ingest", kind, batch_id, payload, n, client)
        except IngestError as err:
            return _error(503, "STORE_ERROR", f"the batch could not be written, retry: {err}", headers={"Retry-After": "1"})

    async def ingest(request: Request, model: type[Batch], many_key: str, kind: str) -> JSONResponse:
        """POST a batch: validate, hand it to the writer, answer 202 once it is committed."""
        batch = await parse(request, model, many_key)
        if isinstance(batch, JSONResponse):
            return batch
        payload = wire.events_json(batch) if kind == "events" else wire.consents_json(batch)
        sent_id = batch.get("batch_id")
        batch_id = None if sent_id is None else str(sent_id)
        res = await store(kind, batch_id, payload, len(batch[many_key]), client_of(request))
        if isinstance(res, JSONResponse):
            return res
        return JSONResponse(
            {"status": "accepted", "batch_id": sent_id, f"{many_key}_received": res.received,
             f"{many_key}_stored": res.stored, "duplicates": res.duplicates, "timestamp": _now()},
            status_code=202,
        )

    async def events(request: Request) -> JSONResponse:
        return await ingest(request, wire.EventBatch, "events", "events")

    async def consent_post(request: Request) -> JSONResponse:
        return await ingest(request, wire.ConsentBatch, "records", "consent")

    def guarded(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        """The handler behind the API key check, when keys are configured."""
        if not api_keys:
            return handler

        async def checked(request: Request) -> JSONResponse:
            if not api_keys.check(request.headers.get(HEADER)):
                # A refused key costs the client a token too, so keys cannot be guessed at full speed.
                if (limited := rate_limited(request)) is not None:
                    return limited
                what = "missing" if HEADER not in request.headers else "not valid"
                return _error(401, "UNAUTHORIZED", f"the X-API-Key header is {what}",
                              headers={"WWW-Authenticate": 'ApiKey header="X-API-Key"'})
            return await handler(request)

        return checked

    def throttled_id(request: Request, raw: str) -> JSONResponse | None:
        """429 or 400 for a request naming one visitor by their raw anonymous id, else None."""
        if (limited := rate_limited(request)) is not None:
            return limited
        if not 1 <= len(raw) <= 256 or "\x00" in raw:
            return _error(400, "VALIDATION_ERROR", "anonymous_id must be 1-256 characters",
                          [{"field": "anonymous_id", "message": "must be 1-256 characters without NUL"}])
        return None

    async def subject_call(op: str, raw: str) -> JSONResponse:
        try:
            found = await state["writer"].call(op, raw)
        except IngestError as err:
            return _error(503, "STORE_ERROR", f"the store cannot be reached: {err}", headers={"Retry-After": "1"})
        if found is None:
            return _error(404, "NOT_FOUND", "no stored row is linked to this anonymous_id")
        status = "found" if op == "subject_export" else "erased"
        return JSONResponse({"status": status, "run_id": scenario.run_id, **found, "timestamp": _now()})

    async def subject(request: Request) -> JSONResponse:
        raw = request.path_params["anonymous_id"]
        refused = throttled_id(request, raw)
        if refused is not None:
            return refused
        return await subject_call("subject_export" if request.method == "GET" else "subject_erase", raw)

    async def gdpr_delete(request: Request) -> JSONResponse:
        body = await admitted_body(request)
        if isinstance(body, JSONResponse):
            return body
        budget.give(len(body))
        try:
            req = wire.ErasureRequest.model_validate_json(body)
        except ValidationError as err:
            return _invalid(err)
        return await subject_call("subject_erase", req.anonymous_id)

    async def consent_get(request: Request) -> JSONResponse:
        raw = request.path_params["anonymous_id"]
        refused = throttled_id(request, raw)
        if refused is not None:
            return refused
        try:
            rows = await state["writer"].call("history", raw)
        except IngestError as err:
            return _error(503, "STORE_ERROR", f"the consent log cannot be read: {err}", headers={"Retry-After": "1"})
        if rows.height == 0:
            return _error(404, "NOT_FOUND", "no consent recorded for this anonymous_id")
        latest = rows.sort("ts").group_by("consent_type", maintain_order=True).last()
        current = {r["consent_type"]: r["granted"] for r in latest.iter_rows(named=True)}
        history = (
            rows.with_columns(pl.col("ts").dt.strftime(wire.TS_FORMAT))
            .group_by("ts", "method", "consent_version", maintain_order=True)
            .agg(pl.struct("consent_type", "granted").alias("signals"))
        )
        return JSONResponse({
            "anonymous_id": rows["anonymous_id"][0],  # the keyed hash: the raw id is never stored
            "consent": {s: current.get(s) for s in SIGNALS},
            "history": [
                {"timestamp": h["ts"], "method": h["method"], "consent_version": h["consent_version"],
                 "consent": {x["consent_type"]: x["granted"] for x in h["signals"]}}
                for h in history.iter_rows(named=True)
            ],
        })

    async def health(request: Request) -> JSONResponse:
        try:
            st = await state["writer"].call("stats")
        except IngestError:
            st = {"database": False, "stored": {}, "groups": 0, "group_events": 0}
        ok = st["database"]
        return JSONResponse(
            {"status": "healthy" if ok else "unhealthy", "version": VERSION, "timestamp": _now(),
             "checks": {"database": "connected" if ok else "disconnected"},
             "run_id": scenario.run_id,
             "stored": {"events": st["stored"].get("events", 0), "consent_records": st["stored"].get("consent", 0)},
             "groups_committed": st["groups"],
             "rate_limit_clients": len(limiter.buckets),
             "mean_group": round(st["group_events"] / st["groups"], 1) if st["groups"] else 0.0},
            status_code=200 if ok else 503,
        )

    async def quality_get(request: Request) -> JSONResponse:
        try:
            q = await state["writer"].call("quality")
        except IngestError as err:
            return _error(503, "STORE_ERROR", f"data quality cannot be computed now: {err}", headers={"Retry-After": "1"})
        return JSONResponse({"run_id": scenario.run_id, "timestamp": _now(), **q,
                             "capture": None, "capture_note": "capture against the truth needs the simulator's truth; "
                                                              "a collector only knows what it received"})

    async def not_found(request: Request, exc: Exception) -> JSONResponse:
        return _error(404, "NOT_FOUND", f"no route {request.url.path}")

    async def method_not_allowed(request: Request, exc: Exception) -> JSONResponse:
        return _error(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed on {request.url.path}")

    async def internal(request: Request, exc: Exception) -> JSONResponse:
        return _error(500, "INTERNAL_ERROR", "unexpected error; nothing was stored")

    return Starlette(
        routes=[
            Route("/api/v1/events", guarded(events), methods=["POST"]),
            Route("/api/v1/consent", guarded(consent_post), methods=["POST"]),
            Route("/api/v1/consent/{anonymous_id:path}", guarded(consent_get), methods=["GET"]),
            Route("/api/v1/subjects/{anonymous_id:path}", guarded(subject), methods=["GET", "DELETE"]),
            Route("/api/gdpr/delete", guarded(gdpr_delete), methods=["POST"]),
            Route("/api/v1/health", health, methods=["GET"]),
            Route("/api/v1/quality", guarded(quality_get), methods=["GET"]),
        ],
        lifespan=lifespan,
        exception_handlers={404: not_found, 405: method_not_allowed, 500: internal},
    )
