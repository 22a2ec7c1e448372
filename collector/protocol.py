"""The collector's HTTP/1.1 connections: uvicorn's httptools protocol with the limits it lacks.

uvicorn on its own only closes a connection that sits idle after a response. A client that
connects and says nothing, trickles its request head a byte at a time, or never finishes its
body keeps the connection (and what it sent) for as long as it likes, and a request head has no
size limit. Here every connection is always under one deadline:

    connected, nothing sent yet        the request head must be in within `header_timeout`
    request head started               the same deadline (counted from the connection or, on a
                                       kept-alive connection, from the head's first byte)
    head in, body not finished         the body must be in within `body_timeout` of the head
    request in, app working            none of ours (the app answers or fails on its own)
    response sent, request in          uvicorn's keep-alive timer (`keep_alive`)

A deadline is fixed when it starts, so trickling bytes never extends it. A late head or body
gets 408 and the connection is closed; a head over `max_header_bytes` gets 431. Beyond
`limit_concurrency` open connections (or requests in the app) a request gets 503 with
`Retry-After` and a JSON body, and its connection is closed; beyond twice that many, a new
connection is closed before anything is read.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from uvicorn._types import ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle

log = logging.getLogger("collector.http")


@dataclass(frozen=True)
class Limits:
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive: float = 5.0
    limit_concurrency: int = 1000
    max_header_bytes: int = 32 * 1024  # nginx's default room for a request head
    retry_after: int = 1  # seconds a client refused for load should wait


def error_body(code: str, message: str) -> bytes:
    """The collector's error body, byte for byte as Starlette's JSONResponse writes it."""
    return json.dumps({"status": "error", "code": code, "message": message},
                      ensure_ascii=False, separators=(",", ":")).encode()


class HardenedProtocol(HttpToolsProtocol):
    limits: ClassVar[Limits] = Limits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timeout_keep_alive = self.limits.keep_alive  # type: ignore[assignment]  # uvicorn types it int; a float works
        self._deadline: asyncio.TimerHandle | None = None
        self._deadline_kind = ""  # "head" or "body"
        self._phase = "idle"  # where the parser is in the current request: idle, head, body
        self._head_bytes = 0
        self._idle_since: float | None = None  # loop time the connection last went idle

    # --- the one deadline --------------------------------------------------------------------

    def _arm(self, kind: str, seconds: float) -> None:
        self._disarm()
        self._deadline_kind = kind
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = None
        self._deadline_kind = ""

    def _current(self) -> RequestResponseCycle | None:
        return cast("RequestResponseCycle | None", self.cycle)

    def _app_busy(self) -> bool:
        """A response of ours is due or on the wire: nothing else may be written."""
        cycle = self._current()
        return bool(self.pipeline) or (cycle is not None and cycle.response_started and not cycle.response_complete)

    def _expired(self) -> None:
        kind = self._deadline_kind
        self._deadline = None
        self._deadline_kind = ""
        if self.transport.is_closing():
            return
        cycle = self._current()
        if kind == "head":
            if self._phase == "head" and not self._app_busy() and (cycle is None or cycle.response_complete):
                self._refuse(408, "REQUEST_TIMEOUT", f"the request head took over {self.limits.header_timeout:g} s")
            else:  # a silent connection, or a response still going out: just close
                self.transport.close()
            log.info("closed %s: request head not in within %g s", self.client, self.limits.header_timeout)
        else:
            if cycle is not None and not cycle.response_started and not self.pipeline:
                # The app is waiting for the body: it gets a disconnect (and releases what it held)
                # and nothing it writes from now on reaches the wire.
                cycle.disconnected = True
                cycle.message_event.set()
                self._refuse(408, "REQUEST_TIMEOUT", f"the request body took over {self.limits.body_timeout:g} s")
            else:
                self.transport.close()
            log.info("closed %s: request body not in within %g s", self.client, self.limits.body_timeout)

    def _refuse(self, status: int, code: str, message: str) -> None:
        """Answer straight on the transport (no request is in the app) and close."""
        body = error_body(code, message)
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [b"content-type: application/json\r\ncontent-length: ", str(len(body)).encode(),
                 b"\r\nconnection: close\r\n\r\n"]
        self.transport.write(b"".join(head) + body)
        self.transport.close()

    def _watch_idle(self) -> None:
        """Between requests, with no deadline of ours and no response due: uvicorn's keep-alive
        timer, for what is left of `keep_alive` since the connection went idle.

        uvicorn arms that timer when a response completes and cancels it on any byte received, so
        a response sent before its request's body was in (413, 415, 429, 503) would leave the
        connection with no timer at all, and stray CRLFs between requests would restart it."""
        if self._phase != "idle" or self.pipeline or self.transport.is_closing():
            return
        cycle = self._current()
        if cycle is not None and not cycle.response_complete:
            return
        now = self.loop.time()
        if self._idle_since is None:
            self._idle_since = now
        if self._deadline is not None or self.timeout_keep_alive_task is not None:
            return
        left = max(0.0, self.timeout_keep_alive - (now - self._idle_since))
        self.timeout_keep_alive_task = self.loop.call_later(left, self.timeout_keep_alive_handler)

    # --- uvicorn's protocol, with the deadline kept ----------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > 2 * self.limits.limit_concurrency:
            # Those over the cap are answered 503 once their head is in; until then each may hold
            # a partial head. Far over it, a connection is closed unread, so that stays bounded.
            self.transport.close()
            return
        self._arm("head", self.limits.header_timeout)  # a silent connection is closed too

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.is_closing():
            return
        if self._phase == "head":  # counts whole chunks: at most one chunk over the limit is ever held
            self._head_bytes += len(data)
            if self._head_bytes > self.limits.max_header_bytes:
                self._disarm()
                if self._app_busy():
                    self.transport.close()
                else:
                    self._refuse(431, "HEADERS_TOO_LARGE", f"the request head is over {self.limits.max_header_bytes:,} bytes")
                return
        self._watch_idle()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._phase = "head"
        self._head_bytes = 0
        self._idle_since = None
        if self._deadline_kind != "head":  # a new connection's deadline already runs from its start
            self._arm("head", self.limits.header_timeout)

    def on_headers_complete(self) -> None:
        self._phase = "body"
        self._arm("body", self.limits.body_timeout)
        limit = self.limits.limit_concurrency
        if len(self.connections) > limit or len(self.tasks) >= limit:
            app, self.app = self.app, self._overloaded
            try:
                super().on_headers_complete()
            finally:
                self.app = app
        else:
            super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._phase = "idle"
        self._disarm()
        self._watch_idle()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch_idle()

    def _unsupported_upgrade_warning(self) -> None:
        # The API has no WebSocket; uvicorn would log two warnings per Upgrade header, which any
        # client can send as often as it likes. The request is simply served as HTTP.
        log.debug("ignored an Upgrade header from %s", self.client)

    async def _overloaded(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        body = error_body("OVERLOADED", f"over {self.limits.limit_concurrency:,} connections at once; "
                                        f"retry in {self.limits.retry_after} s")
        await send({"type": "http.response.start", "status": 503, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(self.limits.retry_after).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body, "more_body": False})


def protocol_class(limits: Limits) -> type[HardenedProtocol]:
    """uvicorn builds one protocol object per connection from a class: one class per set of limits."""
    return type("CollectorProtocol", (HardenedProtocol,), {"limits": limits})
