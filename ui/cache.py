"""The one caching decorator between pages and the engine, bounded by memory.

A cached function takes a subject (a Scenario, unless another codec is given) and small hashable
arguments. The key is the subject's serialised form, never the object: two equal scenarios share
one entry, computed once even when two sessions ask at the same moment. The function body receives
the subject rebuilt from that string, so every entry is computed from exactly what its key says.

All entries of all functions live in one process-wide store that measures what it holds (polars'
`estimated_size` for frames) and drops the least recently used entries once the total passes the
configured limit (DRCL_CACHE_MB, default 3 GB): one large scenario can hold over a gigabyte, and one
server serves a whole classroom. Entries also expire (ttl) and each function keeps at most
`max_entries`. Computations marked `heavy` take their turn in the server's queue (ui.heavy).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import inspect
import itertools
import json
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Concatenate, Generic, Literal, ParamSpec, TypeVar

import polars as pl
import streamlit as st

from engine.scenario import Scenario
from ui import heavy as heavy_queue
from ui.limits import cache_bytes

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")
Kind = Literal["data", "resource"]
TTL_SECONDS = 3600


@dataclass(frozen=True)
class Codec(Generic[S]):
    """How a subject becomes the string its cache is keyed by, and back."""

    dump: Callable[[S], str]
    load: Callable[[str], S]


SCENARIO: Codec[Scenario] = Codec(Scenario.canonical_json, Scenario.model_validate_json)
TEXT: Codec[str] = Codec(str, str)


def size_of(value: Any) -> int:
    """Bytes a cached value holds, as far as it can be measured (frames dominate; buffers shared
    between two frames are counted twice, which errs on the safe side)."""
    if isinstance(value, pl.DataFrame | pl.Series):
        return int(value.estimated_size())
    if isinstance(value, dict):
        return sys.getsizeof(value) + sum(size_of(k) + size_of(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return sys.getsizeof(value) + sum(size_of(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(size_of(getattr(value, f.name)) for f in dataclasses.fields(value))
    return sys.getsizeof(value)


def _fresh(value: Any) -> Any:
    """A caller's own copy of a "data" entry: frames are cloned (cheap: buffers are shared and
    immutable), containers rebuilt, anything else deep-copied."""
    if isinstance(value, pl.DataFrame | pl.Series):
        return value.clone()
    if isinstance(value, dict):
        return {k: _fresh(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fresh(v) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_fresh(v) for v in value)
    return copy.deepcopy(value)


@dataclass
class _Entry:
    value: Any
    size: int
    expires: float
    owner: int


@dataclass
class MemoryStore:
    """Process-wide LRU over every cached function's entries, bounded by total size."""

    limit: Callable[[], int] = cache_bytes
    entries: OrderedDict[Hashable, _Entry] = field(default_factory=OrderedDict)
    total: int = 0
    per_owner: dict[int, int] = field(default_factory=dict)
    evicted: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    computing: dict[Hashable, threading.Lock] = field(default_factory=dict)

    def get(self, key: Hashable) -> tuple[bool, Any]:
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                return False, None
            if entry.expires < time.monotonic():
                self._drop(key)
                return False, None
            self.entries.move_to_end(key)
            return True, entry.value

    def get_or_compute(self, key: Hashable, owner: int, compute: Callable[[], Any], *, ttl: float, max_entries: int) -> Any:
        found, value = self.get(key)
        if found:
            return value
        with self.lock:
            gate = self.computing.setdefault(key, threading.Lock())
        with gate:  # a second session asking for the same entry waits for the first, then reads it
            found, value = self.get(key)
            if found:
                return value
            try:
                value = compute()
                self.put(key, owner, value, ttl=ttl, max_entries=max_entries)
            finally:
                with self.lock:
                    self.computing.pop(key, None)
        return value

    def put(self, key: Hashable, owner: int, value: Any, *, ttl: float, max_entries: int) -> None:
        size = size_of(value)
        with self.lock:
            if key in self.entries:
                self._drop(key)
            if size > self.limit():
                return  # larger than the whole budget: hand it out, keep nothing
            self.entries[key] = _Entry(value, size, time.monotonic() + ttl, owner)
            self.total += size
            self.per_owner[owner] = self.per_owner.get(owner, 0) + 1
            if self.per_owner[owner] > max_entries:
                self._drop(next(k for k, e in self.entries.items() if e.owner == owner))
            now = time.monotonic()
            for k in [k for k, e in self.entries.items() if e.expires < now]:
                self._drop(k)
            while self.total > self.limit() and len(self.entries) > 1:
                self._drop(next(iter(self.entries)))
                self.evicted += 1
            stats = {"entries": len(self.entries), "bytes": self.total, "limit": self.limit(), "evicted": self.evicted}
        _record(stats)

    def clear_owner(self, owner: int) -> None:
        with self.lock:
            for k in [k for k, e in self.entries.items() if e.owner == owner]:
                self._drop(k)

    def _drop(self, key: Hashable) -> None:
        entry = self.entries.pop(key)
        self.total -= entry.size
        self.per_owner[entry.owner] -= 1

    def stats(self) -> dict[str, int]:
        with self.lock:
            return {"entries": len(self.entries), "bytes": self.total, "limit": self.limit(), "evicted": self.evicted}


def _record(stats: dict[str, int]) -> None:
    """With DRCL_CACHE_STATS=FILE, append the store's size after every insert as a JSON line (what the
    server benchmarks read; off by default)."""
    path = os.environ.get("DRCL_CACHE_STATS")
    if path:
        with open(path, "a") as out:
            out.write(json.dumps({"t": time.time(), **stats}) + "\n")


STORE = MemoryStore()
_OWNERS = itertools.count(1)


class Cached(Generic[S, P, R]):
    """A function cached once: call it like the undecorated function; `clear()` empties its entries."""

    def __init__(self, fn: Callable[Concatenate[S, P], R], kind: Kind, key: Callable[[S], str], codec: Codec[S], *,
                 max_entries: int, ttl: float, spinner: bool | str, heavy: bool) -> None:
        self._fn, self._kind, self._key, self._codec = fn, kind, key, codec
        self._signature = inspect.signature(fn)
        self._owner = next(_OWNERS)
        self._max_entries, self._ttl, self._spinner, self._heavy = max_entries, ttl, spinner, heavy
        functools.update_wrapper(self, fn)

    def __call__(self, subject: S, *args: P.args, **kwargs: P.kwargs) -> R:
        # Bound with defaults so `f(s)` and `f(s, None)` share one entry.
        bound = self._signature.bind(subject, *args, **kwargs)
        bound.apply_defaults()
        rest = bound.args[1:]
        named = tuple(sorted(bound.kwargs.items()))
        dumped = self._codec.dump(subject)
        key = (self._owner, self._key(subject), rest, named)

        label = self._spinner if isinstance(self._spinner, str) else "Computing…"

        def compute() -> R:
            if self._spinner:
                with st.spinner(label):
                    return self._fn(self._codec.load(dumped), *rest, **bound.kwargs)  # type: ignore[arg-type]
            return self._fn(self._codec.load(dumped), *rest, **bound.kwargs)  # type: ignore[arg-type]

        found, value = STORE.get(key)
        if not found:
            # The server's turn first, the entry's own lock second: a session waiting for its turn
            # must not hold an entry that the computation under way needs (that would deadlock).
            with heavy_queue.turn(label) if self._heavy else contextlib.nullcontext():
                value = STORE.get_or_compute(key, self._owner, compute, ttl=self._ttl, max_entries=self._max_entries)
        return _fresh(value) if self._kind == "data" else value

    def clear(self) -> None:
        STORE.clear_owner(self._owner)


def cached(kind: Kind, *, max_entries: int, ttl: int = TTL_SECONDS, spinner: bool | str = False,
           key: Callable[[S], str] | None = None, codec: Codec[S] = SCENARIO,
           heavy: bool = False) -> Callable[[Callable[Concatenate[S, P], R]], Cached[S, P, R]]:
    """Cache a function of a subject plus hashable arguments, keyed by `key(subject)` (default: the
    codec's dump, a scenario's canonical JSON). `kind="data"` gives every caller its own copy;
    `kind="resource"` shares one read-only object. `heavy`: a miss waits for the server's queue."""

    def decorate(fn: Callable[Concatenate[S, P], R]) -> Cached[S, P, R]:
        return Cached(fn, kind, key or codec.dump, codec, max_entries=max_entries, ttl=ttl, spinner=spinner, heavy=heavy)

    return decorate


def process_wide(fn: Callable[[], R]) -> Callable[[], R]:
    """One object for the whole server process (a connection, a registry), made on first use."""
    return st.cache_resource(max_entries=1, show_spinner=False)(fn)
