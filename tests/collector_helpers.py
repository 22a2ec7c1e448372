"""A real collector process on 127.0.0.1 for the tests (`python -m collector --port 0`)."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from engine import wire

ROOT = Path(__file__).resolve().parents[1]
HASH_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "DRCL_HASH_KEY": HASH_KEY}
URL_RE = re.compile(rb"listening on (http://\S+/api/v1/events)")


class Collector:
    def __init__(self, db: Path, *args: str) -> None:
        self.db = db
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "collector", "--db", str(db), "--port", "0", *args],
            cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: kill() takes the writer process down too
        )
        line = self.proc.stdout.readline()
        m = URL_RE.search(line)
        if not m:
            self.proc.kill()
            raise RuntimeError(f"collector did not start: {line!r} {self.proc.stderr.read().decode()[-2000:]}")
        self.events_url = m.group(1).decode()
        self.base = self.events_url.removesuffix("/events")
        deadline = time.monotonic() + 60
        while True:  # the socket listens at once; wait until the app has opened its database
            try:
                if httpx.get(self.base + "/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.kill()
                raise RuntimeError(f"collector not healthy: {self.proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> int:
        """SIGTERM and wait: a graceful stop answers what is queued and closes the database."""
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=60)
        finally:
            self.proc.stdout.close()
            self.proc.stderr.close()

    def kill_http_only(self) -> None:
        """SIGKILL to the HTTP process alone: its writer process is orphaned and must exit by itself."""
        self.proc.kill()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def kill(self) -> None:
        """SIGKILL to the HTTP process and its writer process at once: no cleanup at all, as in a
        power cut (the writer may be in the middle of a commit)."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.proc.stdout.close()
        self.proc.stderr.close()


def event(event_id: str | int, **over) -> dict:
    """One valid wire event; keyword arguments replace top-level fields or, dotted, nested ones."""
    e = {
        "event_id": event_id, "event_type": "page_view", "timestamp": "2026-11-04T10:00:00.000001Z",
        "session_id": "1793786400000000", "anonymous_id": "GA1.1.42",
        "properties": {"url": "https://shop.example/product/sku-1?utm_campaign=x", "referrer": None},
        "context": {"user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", "locale": "fr-FR",
                    "timezone": "Europe/Paris", "ip": "81.2.69.160",
                    "consent": {"analytics_storage": True, "ad_storage": False, "ad_user_data": False,
                                "ad_personalization": False}},
    }
    for k, v in over.items():
        node = e
        *parents, leaf = k.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = v
    return e


def batch(events: list[dict], batch_id: str = "b-1") -> dict:
    return {"batch_id": batch_id, "sent_at": dt.datetime.now(dt.UTC).isoformat(), "events": events}


def body(events_json: list[str], batch_id: str) -> bytes:
    return wire.batch_body(batch_id, dt.datetime.now(dt.UTC), events_json)
