"""The one caching decorator between pages and the engine.

A cached function takes a subject (a Scenario, unless another codec is given) and small hashable
arguments. Streamlit hashes the subject's serialised form, never the object: hashing a big frame
samples it, and two equal scenarios must share one entry. The function body receives the subject
rebuilt from that string, so every entry is computed from exactly what its key says. Caches are
bounded by entries and time: one server serves a whole classroom.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Concatenate, Generic, Literal, ParamSpec, TypeVar

import streamlit as st

from engine.scenario import Scenario

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


class Cached(Generic[S, P, R]):
    """A function cached once: call it like the undecorated function; `clear()` empties its cache."""

    def __init__(self, fn: Callable[Concatenate[S, P], R], store: Callable[..., R], key: Callable[[S], str],
                 codec: Codec[S]) -> None:
        self._signature = inspect.signature(fn)
        self._store, self._key, self._codec = store, key, codec
        functools.update_wrapper(self, fn)

    def __call__(self, subject: S, *args: P.args, **kwargs: P.kwargs) -> R:
        # Bound with defaults so `f(s)` and `f(s, None)` share one entry.
        bound = self._signature.bind(subject, *args, **kwargs)
        bound.apply_defaults()
        return self._store(self._key(subject), self._codec.dump(subject), *bound.args[1:], **bound.kwargs)

    def clear(self) -> None:
        self._store.clear()  # type: ignore[attr-defined]


def cached(kind: Kind, *, max_entries: int, ttl: int = TTL_SECONDS, spinner: bool | str = False,
           key: Callable[[S], str] | None = None,
           codec: Codec[S] = SCENARIO) -> Callable[[Callable[Concatenate[S, P], R]], Cached[S, P, R]]:
    """Cache a function of a subject plus hashable arguments, keyed by `key(subject)` (default: the
    codec's dump, a scenario's canonical JSON). `kind="data"` returns a copy to every caller
    (st.cache_data); `kind="resource"` shares one read-only object (st.cache_resource)."""

    def decorate(fn: Callable[Concatenate[S, P], R]) -> Cached[S, P, R]:
        def body(cache_key: str, _subject: str, *args: Any, **kwargs: Any) -> R:
            return fn(codec.load(_subject), *args, **kwargs)

        # Streamlit names a cache by its function's module, qualified name and source. Every `body`
        # shares all three, so without this every function decorated here would share one cache.
        signature = inspect.signature(body)  # `_subject` must stay out of the key: taken before __wrapped__
        body.__module__, body.__qualname__, body.__name__, body.__doc__ = fn.__module__, fn.__qualname__, fn.__name__, fn.__doc__
        body.__wrapped__ = fn  # type: ignore[attr-defined]  # inspect.getsource follows it: editing fn empties its cache
        body.__signature__ = signature  # type: ignore[attr-defined]
        api = st.cache_data if kind == "data" else st.cache_resource
        store = api(max_entries=max_entries, ttl=ttl, show_spinner=spinner)(body)
        return Cached(fn, store, key or codec.dump, codec)

    return decorate


def process_wide(fn: Callable[[], R]) -> Callable[[], R]:
    """One object for the whole server process (a connection, a registry), made on first use."""
    return st.cache_resource(max_entries=1, show_spinner=False)(fn)
