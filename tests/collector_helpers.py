"""A real collector process on 127.0.0.1 for the tests (`python -m collector --port 0`)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import httpx

from benchmarks import harness
from engine import wire

ROOT = Path(__file__).resolve().parents[1]
HASH_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "DRCL_HASH_KEY": HASH_KEY}


class Collector(harness.Collector):
    """The shared launcher (benchmarks/harness.py) with the tests' fixed hash key."""

    def __init__(self, db: Path, *args: str) -> None:
        super().__init__(db, *args, env=ENV)


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


def health(c: Collector) -> dict:
    """The collector's health answer (stored counts, groups committed)."""
    return httpx.get(c.base + "/health", timeout=10).json()


def post(c: Collector, payload, path: str = "/events", **kw) -> httpx.Response:
    """POST a JSON payload (or raw bytes) to the collector's API."""
    content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return httpx.post(c.base + path, content=content, headers={"content-type": "application/json"}, timeout=30, **kw)
