"""A scenario's knobs in words: each field's label and each choice's name, from the catalogue."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ui.words import num, pct, t


def label(path: str) -> str:
    """The knob's label, e.g. "Banner" for consent.banner."""
    return t(f"sidebar.field.{path}")


def option(value: Any) -> str:
    """A choice's name, e.g. "Reject on the first layer" for reject_first_layer."""
    return t(f"sidebar.option.{value}")


def value_words(path: str, value: Any) -> str:
    """A knob's value for reading: choices by name, shares as percentages, numbers with separators."""
    if isinstance(value, bool):
        return option("on" if value else "off")
    if path == "rails.fullstack_sampling" or (isinstance(value, str) and f"sidebar.option.{value}" in _options()):
        return option(value)
    if isinstance(value, float):
        return pct(value)
    if isinstance(value, int):
        return num(value)
    if isinstance(value, tuple | list):
        return ", ".join(map(str, value))
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _options() -> set[str]:
    from ui.words import catalogue

    return {k for k in catalogue() if k.startswith("sidebar.option.")}
