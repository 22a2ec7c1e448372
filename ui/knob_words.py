"""A scenario's knobs in words: each field's label, help and choices, each preset's name, from the catalogue.

The English help of a knob is its `Scenario` field description (the single source); other languages
take theirs from the catalogue key `scenario.<field path>`, falling back to the English description.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from engine.scenario import Scenario, iter_fields
from ui import words
from ui.words import day, num, pct, t

_DESCRIPTIONS = {path: info.description or "" for path, info in iter_fields()}


def label(path: str) -> str:
    """The knob's label, e.g. "Banner" for consent.banner (a mix's path gives the mix's name)."""
    return t(f"sidebar.field.{path}")


def help_text(path: str) -> str | None:
    """The knob's help in the current language: the field description in English, else the catalogue's
    `scenario.<path>` (a mix's help comes from the catalogue in every language)."""
    if path not in _DESCRIPTIONS:
        return t(f"sidebar.help.{path}")
    own = words.catalogue(words.language()).get(f"scenario.{path}") if words.language() != words.DEFAULT else None
    return own or _DESCRIPTIONS[path] or None


def option(value: Any) -> str:
    """A choice's name, e.g. "Reject on the first layer" for reject_first_layer."""
    return t(f"sidebar.option.{value}")


def preset(name: str) -> str:
    """A preset's name, e.g. "EU shop" for eu_shop."""
    return t(f"sidebar.preset_name.{name}")


def part(mix: str, name: str) -> str:
    """A part of a mix as a row of its table, e.g. "EEA" for traffic.region_mix / eea."""
    return t(f"sidebar.part.{mix}.{name}")


def _in(lang: str, words_of: Callable[[Any], str], value: Any) -> str:
    with words.speaking(lang):
        return words_of(value)


def in_language(words_of: Callable[[Any], str]) -> Callable[[Any], str]:
    """`words_of` fixed to the current language: a widget's format function, which Streamlit may call
    outside the session (AppTest does, to find a chosen option's words)."""
    return functools.partial(_in, words.language(), words_of)


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
        return day(value)
    return str(value)


def _options() -> set[str]:
    return {k for k in words.catalogue() if k.startswith("sidebar.option.")}


def describe(s: Scenario) -> str:
    """One line of a scenario in words: site, size, banner, Consent Mode, seed."""
    tr = s.traffic
    return t("common.scenario_line", site=option(s.site.kind), visitors=num(tr.visitors), days=num(tr.days),
             banner=option(s.consent.banner), mode=option(s.consent.mode), seed=str(s.seed))
