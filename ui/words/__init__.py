"""Every string a person sees comes from here: one catalogue, keyed `area.name`, in English and German.

The catalogue is gettext `.po` files read with Babel, one per area and language
(`ui/words/locale/<lang>/LC_MESSAGES/<area>.po`). A message's id is its key (`overview.lead`), its text a
Python format string: `t("overview.lead", visitors=...)`. Keys, not English sentences, are the ids, so an
English rewording does not orphan its translation; the German file carries each English text as a
comment, and `python -m ui.words sync` marks a translation fuzzy when its English changed (the tests fail
on fuzzy, missing or empty German texts). The German help texts of the `Scenario` model's fields live in
the German catalogue only, under `scenario.<field path>`: the field descriptions stay the English source.

Numbers, percentages and dates are formatted here too (`num`, `pct`, `signed`, `day`), with Babel's locale
data, so "20,000" / "64.3%" becomes "20.000" / "64,3 %" in German. A missing key raises (a typo is a bug,
not a blank on a projector); a German text not yet translated falls back to the English one.

The language is the session's (`language()`: chosen by `choose_language` from `?lang=` or the browser),
or the one set with `speaking(...)` (tests, background work).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from babel import Locale, dates, numbers
from babel.messages.pofile import read_po
from streamlit.runtime.scriptrunner import get_script_run_ctx

_ROOT = Path(__file__).parent / "locale"
LANGUAGES = {"en": "English", "de": "Deutsch"}  # code -> the language's own name (the switch shows these)
DEFAULT = "en"
SESSION_KEY = "words.language"
_speaking: ContextVar[str | None] = ContextVar("words_speaking", default=None)


def po_files(language: str) -> list[Path]:
    return sorted((_ROOT / language / "LC_MESSAGES").glob("*.po"))


@functools.cache
def catalogue(language: str = DEFAULT) -> dict[str, str]:
    """All translated texts of one language, keyed `area.name` (untranslated and fuzzy ones left out)."""
    out: dict[str, str] = {}
    for path in po_files(language):
        with path.open("rb") as fh:
            for message in read_po(fh, locale=language):
                if message.id and message.string and not message.fuzzy:
                    out[str(message.id)] = str(message.string)
    return out


def language() -> str:
    """The language texts are given in now: `speaking(...)`'s, else the session's, else English."""
    if (chosen := _speaking.get()) is not None:
        return chosen
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:
        return DEFAULT
    if (settled := getattr(ctx, _SETTLED, None)) is not None:  # called for every text: once per run, not per text
        return str(settled)
    state = ctx.session_state  # the session itself, not the st.session_state proxy
    return str(state[SESSION_KEY]) if SESSION_KEY in state else DEFAULT


_SETTLED = "_drcl_language"  # on the script thread's run context: the language the last full run settled


def settle(lang: str) -> None:
    """This session's language, remembered in the session and, for the texts of this run and of the
    fragment reruns after it on the same script thread, on the run's context (`language()` reads it without
    the session's locks; a new script thread starts from the session). Only app.py's first step sets it."""
    import streamlit as st

    st.session_state[SESSION_KEY] = lang
    if (ctx := get_script_run_ctx(suppress_warning=True)) is not None:
        setattr(ctx, _SETTLED, lang)


@contextlib.contextmanager
def speaking(lang: str) -> Iterator[None]:
    """Texts and numbers in `lang` inside the block (tests, background work outside a session)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    token = _speaking.set(lang)
    try:
        yield
    finally:
        _speaking.reset(token)


def parse_language(value: str | None) -> str | None:
    """`de`, `de-DE`, `de_AT`, `DE` -> `de`; None for a language we do not speak."""
    if not value:
        return None
    code = value.strip().replace("_", "-").split("-")[0].lower()
    return code if code in LANGUAGES else None


def t(key: str, /, **values: Any) -> str:
    """The text for `key` in the current language, with `values` filled in (`{name}` placeholders)."""
    text = catalogue(language()).get(key) or catalogue()[key]
    return text.format(**values) if values else text


def has(key: str) -> bool:
    return key in catalogue()


@functools.cache
def _locale(lang: str) -> Locale:
    return Locale.parse(lang)


@functools.cache
def _percent_pattern(lang: str, digits: int) -> numbers.NumberPattern:
    pattern = numbers.parse_pattern(_locale(lang).percent_formats[None].pattern)
    pattern.frac_prec = (digits, digits)
    return pattern


def num(value: float, digits: int = 0) -> str:
    """A number for reading: thousands separated, `digits` decimals ("20,000" / "20.000"), never 2e+16."""
    return numbers.format_decimal(value, format="#,##0" + ("." + "0" * digits if digits else ""), locale=language())


def pct(share: float, digits: int = 0) -> str:
    """A share (0.364) as a percentage ("36%" / "36 %")."""
    lang = language()
    return _percent_pattern(lang, digits).apply(share, _locale(lang))


def signed(value: float, digits: int = 0) -> str:
    """A change with its sign ("+861", "−23")."""
    text = num(abs(value), digits)
    return f"+{text}" if value > 0 else (f"−{text}" if value < 0 else text)


def signed_pct(share: float, digits: int = 0) -> str:
    """A change in percentage points or of a share, with its sign ("+12%", "−3.5%")."""
    text = pct(abs(share), digits)
    return f"+{text}" if share > 0 else (f"−{text}" if share < 0 else text)


def day(value: dt.date | dt.datetime) -> str:
    """A date without a midnight time ("Nov 2, 2026" / "2. Nov. 2026")."""
    if isinstance(value, dt.datetime):
        value = value.date()
    return dates.format_skeleton("yMMMd", value, locale=language())


def moment(value: dt.datetime) -> str:
    """A date with its time to the minute ("Nov 2, 2026 2:05 PM" / "2. Nov. 2026 14:05")."""
    return f"{day(value)} {dates.format_time(value, 'short', locale=language())}"


def missing() -> str:
    """What an empty cell shows."""
    return t("common.missing")
