"""The one caching decorator between pages and the engine, bounded by memory.

A cached function takes a subject (a Scenario, unless another codec is given) and small hashable
arguments. The key is the subject's serialised form, never the object: two equal scenarios share
one entry, computed once even when two sessions ask at the same moment. The function body receives
the subject rebuilt from that string, so every entry is computed from exactly what its key says.

All entries of all functions live in one process-wide store that measures what it holds (frames by
`frame_bytes`, each frame once however many entries hold it) and drops the least recently used
entries once the total passes the configured limit (DRCL_CACHE_MB, default 3 GB): one large scenario
can hold over a gigabyte, and one server serves a whole classroom. Entries also expire (ttl) and each
function keeps at most `max_entries`. Computations marked `heavy` take their turn in the server's
queue (ui.heavy); when it comes, the store first makes room for the new entry (estimated from the
largest entry per visitor-day seen so far) and the computation's transient peak, counting dropped
frames that pages still hold until they are freed.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import dataclasses
import functools
import gc
import inspect
import itertools
import json
import os
import sys
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any, Concatenate, Generic, Literal, ParamSpec, TypeVar

import polars as pl
import streamlit as st

from engine.scenario import Scenario
from ui import heavy as heavy_queue
from ui.limits import cache_bytes
from ui.words import t

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


def _measure(value: Any, frames: dict[int, pl.DataFrame | pl.Series]) -> int:
    """Bytes a cached value holds outside frames; its frames are collected into `frames` by identity,
    so a frame that two entries share (a run's truth events are its traffic's) is counted once."""
    if isinstance(value, pl.DataFrame | pl.Series):
        frames[id(value)] = value
        return 0
    if isinstance(value, dict):
        return sys.getsizeof(value) + sum(_measure(k, frames) + _measure(v, frames) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return sys.getsizeof(value) + sum(_measure(v, frames) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(_measure(getattr(value, f.name), frames) for f in dataclasses.fields(value))
    return sys.getsizeof(value)


_VIEW = 16  # bytes of one string view (polars' String and Binary columns)


def frame_bytes(frame: pl.DataFrame | pl.Series) -> int:
    """What a frame occupies: `estimated_size`, except that a String or Binary column counts at least
    16 bytes per row. Those columns are arrays of 16-byte views into buffers that rows share, and
    `estimated_size` counts the strings' bytes per row but not the views: a budget-sized run's
    consent-free part is 56 MiB estimated and frees 202 MiB when it goes; counted this way, 202 MiB
    (the whole budget-sized scenario: 591 MiB counted, 541 MiB freed)."""
    columns = [frame] if isinstance(frame, pl.Series) else frame.get_columns()
    return sum(max(int(c.estimated_size()), _VIEW * len(c)) if c.dtype in (pl.String, pl.Binary) else int(c.estimated_size())
               for c in columns)


def size_of(value: Any) -> int:
    """Bytes a cached value holds, as far as it can be measured (frames dominate; each frame once)."""
    frames: dict[int, pl.DataFrame | pl.Series] = {}
    own = _measure(value, frames)
    return own + sum(frame_bytes(f) for f in frames.values())


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
    own: int  # bytes outside frames
    frames: tuple[int, ...]  # ids of its frames, each counted once in the store's registry
    expires: float
    owner: int


@dataclass
class _Frame:
    obj: pl.DataFrame | pl.Series
    size: int
    refs: int = 0  # entries holding it


def _trim() -> None:
    """Hand freed heap pages back to the system (glibc's malloc_trim; numpy and Python objects live
    there, polars' own allocator decays by itself). No-op where it is missing."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _libc() -> Any:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


_LIBC = _libc() if sys.platform.startswith("linux") else None


@dataclass
class MemoryStore:
    """Process-wide LRU over every cached function's entries, bounded by total size.

    Frames are counted once however many entries hold them. A dropped entry's frames that something
    else still references (a page rendering them) stay counted as `lingering` until they are freed:
    they still occupy memory, so `make_room` waits for them (a while) before it admits more."""

    limit: Callable[[], int] = cache_bytes
    entries: OrderedDict[Hashable, _Entry] = field(default_factory=OrderedDict)
    frames: dict[int, _Frame] = field(default_factory=dict)
    lingering: dict[int, tuple[weakref.ref[Any], int]] = field(default_factory=dict)
    total: int = 0
    per_owner: dict[int, int] = field(default_factory=dict)
    per_unit: dict[int, float] = field(default_factory=dict)  # largest new bytes per unit seen, by owner
    evicted: int = 0
    room_wait_s: float = 0.0  # time heavy computations waited for lingering frames, in all
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

    def get_or_compute(self, key: Hashable, owner: int, compute: Callable[[], Any], *, ttl: float, max_entries: int,
                       units: float = 0.0, room: Callable[[], None] | None = None) -> Any:
        """The entry, computed once if missing. `units`: the computation's size (visitor-days), from
        which later entries' sizes are estimated; `room()`: called before computing a missing entry."""
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
                if room is not None:
                    room()
                value = compute()
                self.put(key, owner, value, ttl=ttl, max_entries=max_entries, units=units)
            finally:
                with self.lock:
                    self.computing.pop(key, None)
        return value

    def estimate(self, owner: int, units: float) -> int:
        """Bytes a new entry of `owner` for `units` will add, from the largest per unit seen so far."""
        with self.lock:
            return int(self.per_unit.get(owner, 0.0) * units)

    def put(self, key: Hashable, owner: int, value: Any, *, ttl: float, max_entries: int, units: float = 0.0) -> None:
        found: dict[int, pl.DataFrame | pl.Series] = {}
        own = _measure(value, found)
        sizes = {i: frame_bytes(f) for i, f in found.items()}
        limit = self.limit()
        with self.lock:
            if key in self.entries:
                self._drop(key)
            new = own + sum(s for i, s in sizes.items() if i not in self.frames)
            if units > 0:
                self.per_unit[owner] = max(self.per_unit.get(owner, 0.0), new / units)
            if new > limit:
                return  # larger than the whole budget: hand it out, keep nothing
            for i, f in found.items():
                held = self.frames.get(i)
                if held is None:
                    held = self.frames[i] = _Frame(f, sizes[i])
                    self.total += held.size
                    self.lingering.pop(i, None)
                held.refs += 1
            self.entries[key] = _Entry(value, own, tuple(found), time.monotonic() + ttl, owner)
            self.total += own
            self.per_owner[owner] = self.per_owner.get(owner, 0) + 1
            if self.per_owner[owner] > max_entries:
                self._drop(next(k for k, e in self.entries.items() if e.owner == owner))
            now = time.monotonic()
            for k in [k for k, e in self.entries.items() if e.expires < now]:
                self._drop(k)
            while self.total > limit and len(self.entries) > 1:
                self._drop(next(iter(self.entries)))
                self.evicted += 1
            stats = self._stats()
        _record(stats)

    def make_room(self, need: int, wait_s: float = 0.0) -> None:
        """Before a computation that will add about `need` bytes (its entry and its transient peak):
        evict least recently used entries until the held bytes (cached plus lingering) and `need` fit
        the limit, then wait up to `wait_s` for lingering frames to be freed."""
        deadline = time.monotonic() + wait_s
        dropped = 0
        limit = self.limit()
        with self.lock:
            while self.entries and self.total + self._lingering() + need > limit:
                self._drop(next(iter(self.entries)))
                self.evicted += 1
                dropped += 1
        if dropped:
            gc.collect()  # frames in reference cycles (tracebacks, closures) go now, not at some later collection
            _trim()
        start = time.monotonic()
        while start < deadline:
            with self.lock:
                if self.total + self._lingering() + need <= limit:
                    break
            time.sleep(0.1)
            if time.monotonic() >= deadline:
                break
        with self.lock:
            self.room_wait_s += time.monotonic() - start

    def clear_owner(self, owner: int) -> None:
        with self.lock:
            for k in [k for k, e in self.entries.items() if e.owner == owner]:
                self._drop(k)

    def _drop(self, key: Hashable) -> None:
        entry = self.entries.pop(key)
        self.total -= entry.own
        self.per_owner[entry.owner] -= 1
        for i in entry.frames:
            held = self.frames[i]
            held.refs -= 1
            if held.refs == 0:
                del self.frames[i]
                self.total -= held.size
                self.lingering[i] = (weakref.ref(held.obj), held.size)

    def _lingering(self) -> int:
        """Bytes of dropped frames still referenced somewhere (forgetting those that were freed)."""
        for i in [i for i, (ref, _) in self.lingering.items() if ref() is None]:
            del self.lingering[i]
        return sum(size for _, size in self.lingering.values())

    def _stats(self) -> dict[str, int]:
        return {"entries": len(self.entries), "bytes": self.total, "lingering": self._lingering(), "limit": self.limit(),
                "evicted": self.evicted, "room_wait_s": round(self.room_wait_s, 2)}

    def stats(self) -> dict[str, int]:
        with self.lock:
            return self._stats()


def _record(stats: dict[str, int]) -> None:
    """With DRCL_CACHE_STATS=FILE, append the store's size after every insert as a JSON line (what the
    server benchmarks read; off by default)."""
    path = os.environ.get("DRCL_CACHE_STATS")
    if path:
        with open(path, "a") as out:
            out.write(json.dumps({"t": time.time(), **stats}) + "\n")


STORE = MemoryStore()
# A heavy computation's transient peak above what it keeps, per visitor-day: for a new budget-sized
# scenario (1,000,000 visitor-days) each of its three steps (traffic, consent-free part, run tables)
# raised RSS by 330-475 MiB at its peak, of which 130-210 MiB is what it keeps: 190-275 MiB more.
TRANSIENT_BYTES_PER_UNIT = 290.0
ROOM_WAIT_S = 5.0  # how long a heavy computation waits for dropped frames that pages still render


def _units(subject: Any) -> float:
    """A computation's size: a scenario's visitor-days; 1 for other subjects (their estimate is then
    the largest entry seen)."""
    if isinstance(subject, Scenario):
        return float(subject.traffic.visitors * subject.traffic.days)
    return 1.0
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

    def _entry_key(self, subject: S, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Hashable, inspect.BoundArguments]:
        # Bound with defaults so `f(s)` and `f(s, None)` share one entry.
        bound = self._signature.bind(subject, *args, **kwargs)
        bound.apply_defaults()
        return (self._owner, self._key(subject), bound.args[1:], tuple(sorted(bound.kwargs.items()))), bound

    def peek(self, subject: S, *args: P.args, **kwargs: P.kwargs) -> R | None:
        """The cached value if there is one (None otherwise); computes nothing."""
        found, value = STORE.get(self._entry_key(subject, args, kwargs)[0])
        return (_fresh(value) if self._kind == "data" else value) if found else None

    def make_room(self, subject: S) -> None:
        """What a miss of this function does before computing (heavy ones): room in the store for its
        estimated entry and transient peak. For a caller about to compute a value to `keep`."""
        if self._heavy:
            units = _units(subject)
            STORE.make_room(STORE.estimate(self._owner, units) + int(TRANSIENT_BYTES_PER_UNIT * units), ROOM_WAIT_S)

    def keep(self, value: R, subject: S, *args: P.args, **kwargs: P.kwargs) -> R:
        """Store a value the caller computed exactly as this function would (it had an intermediate
        result the function would compute again), and return it."""
        STORE.put(self._entry_key(subject, args, kwargs)[0], self._owner, value, ttl=self._ttl,
                  max_entries=self._max_entries, units=_units(subject))
        return value

    def __call__(self, subject: S, *args: P.args, **kwargs: P.kwargs) -> R:
        key, bound = self._entry_key(subject, args, kwargs)
        rest = bound.args[1:]
        dumped = self._codec.dump(subject)

        label = t(self._spinner if isinstance(self._spinner, str) else "spinner.computing")  # a catalogue key
        pageless = _PAGELESS.on

        def compute() -> R:
            with st.spinner(label) if self._spinner and not pageless else contextlib.nullcontext():
                return self._fn(self._codec.load(dumped), *rest, **bound.kwargs)  # type: ignore[arg-type]

        found, value = STORE.get(key)
        if not found:
            # The server's turn first, the entry's own lock second: a session waiting for its turn
            # must not hold an entry that the computation under way needs (that would deadlock).
            # A heavy miss also makes room first: the store evicts (and waits a while for dropped
            # frames still being rendered) until this entry and its computation's transient peak fit.
            queued = heavy_queue.turn(label, show=None if pageless else heavy_queue.show_place) if self._heavy else None
            with queued or contextlib.nullcontext():
                value = STORE.get_or_compute(key, self._owner, compute, ttl=self._ttl, max_entries=self._max_entries,
                                             units=_units(subject), room=lambda: self.make_room(subject))
        return _fresh(value) if self._kind == "data" else value

    def clear(self) -> None:
        STORE.clear_owner(self._owner)


class _Pageless(threading.local):
    on = False


_PAGELESS = _Pageless()


@contextlib.contextmanager
def pageless() -> Iterator[None]:
    """Cached calls in this block come from a thread with no page to draw on (a room's warm-up): no
    spinner, no place in the queue shown; they compute and fill the same entries a page reads."""
    _PAGELESS.on = True
    try:
        yield
    finally:
        _PAGELESS.on = False


def new_owner() -> int:
    """An owner id for entries a caller keeps in STORE under keys of its own (not a subject's),
    e.g. drawn charts keyed by their data's digest (ui.charts.theme)."""
    return next(_OWNERS)


def cached(kind: Kind, *, max_entries: int, ttl: int = TTL_SECONDS, spinner: bool | str = False,
           key: Callable[[S], str] | None = None, codec: Codec[S] = SCENARIO,
           heavy: bool = False) -> Callable[[Callable[Concatenate[S, P], R]], Cached[S, P, R]]:
    """Cache a function of a subject plus hashable arguments, keyed by `key(subject)` (default: the
    codec's dump, a scenario's canonical JSON). `kind="data"` gives every caller its own copy;
    `kind="resource"` shares one read-only object. `heavy`: a miss waits for the server's queue.
    `spinner`: True, or the catalogue key of the text shown while a miss computes."""

    def decorate(fn: Callable[Concatenate[S, P], R]) -> Cached[S, P, R]:
        return Cached(fn, kind, key or codec.dump, codec, max_entries=max_entries, ttl=ttl, spinner=spinner, heavy=heavy)

    return decorate


def process_wide(fn: Callable[[], R]) -> Callable[[], R]:
    """One object for the whole server process (a connection, a registry), made on first use."""
    return st.cache_resource(max_entries=1, show_spinner=False)(fn)
