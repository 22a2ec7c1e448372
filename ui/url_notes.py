"""What the sidebar says about a scenario it could not take as asked: one short sentence per field, in
the session's language, never pydantic's text and never the value typed (a URL anyone can write).

`url_notes` judges the scenario parameters of the URL a session started from ("Visitors: must be between
10 and 100,000,000; kept 20,000."), in the language of the moment (switching language rewords them); `clamp_notes` words the session budget's clamp; `wrong_combination` a set of
knobs that do not fit together.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, get_origin

import streamlit as st

from engine.budget import Budget
from engine.scenario import (
    DEFAULT_PRESET,
    Scenario,
    ScenarioError,
    apply_overrides,
    iter_fields,
    list_presets,
    load_preset,
    mix_totals,
)
from ui import knob_words
from ui.words import num, pct, t

PRESET_PARAM = "preset"
_FIRST = "sidebar.first_url"
_FIELDS = dict(iter_fields())
_RANGE = {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}


def _value_at(scenario: Scenario, path: str) -> Any:
    node: Any = scenario
    for part in path.split("."):
        node = getattr(node, part)
    return node


def _name(path: str) -> str:
    """A field's, a mix's or a section's name; the scenario's for anything else."""
    if path in _FIELDS or path.endswith("_mix"):
        return knob_words.label(path)
    if path in {"site", "traffic", "consent", "rails", "masking"}:
        return t(f"sidebar.section_{path}")
    return t("sidebar.heading")


def _bound(path: str, value: Any) -> str:
    return pct(value) if _FIELDS[path].annotation is float else num(value)


def sentence(path: str, kind: str, preset: Scenario, asked: str | None = None) -> str:
    """One problem (a pydantic error type at a dotted path) as a sentence that says what was kept; a check
    across fields (a mix of all zeros, a run past the year 9999) is said of the field `asked` for, if any."""
    if path not in _FIELDS and asked in _FIELDS and not path.endswith("_mix"):
        kept = knob_words.value_words(asked, _value_at(preset, asked))
        return t("sidebar.url_no_fit_field", field=_name(asked), kept=kept)
    field = _name(path)
    if path not in _FIELDS:
        return t("sidebar.url_mix_zero" if path.endswith("_mix") else "sidebar.url_no_fit", field=field)
    kept = knob_words.value_words(path, _value_at(preset, path))
    info = _FIELDS[path]
    if kind == "literal_error":
        return t("sidebar.url_choice", field=field, kept=kept)
    if kind in _RANGE:
        lo = next((m.ge for m in info.metadata if getattr(m, "ge", None) is not None), None)
        hi = next((m.le for m in info.metadata if getattr(m, "le", None) is not None), None)
        if lo is not None and hi is not None:
            return t("sidebar.url_range", field=field, low=_bound(path, lo), high=_bound(path, hi), kept=kept)
    ann = info.annotation
    if ann is bool:
        return t("sidebar.url_on_off", field=field, kept=kept)
    if ann in (int, float):
        return t("sidebar.url_number", field=field, kept=kept)
    if ann is dt.date:
        return t("sidebar.url_date", field=field, kept=kept)
    if get_origin(ann) is tuple:
        return t("sidebar.url_list", field=field, kept=kept)
    return t("sidebar.url_invalid", field=field, kept=kept)


def first_url() -> dict[str, str]:
    """The URL's parameters as the session first saw them (the sidebar rewrites the URL after that)."""
    if _FIRST not in st.session_state:
        st.session_state[_FIRST] = {k: st.query_params[k] for k in st.query_params if k in _FIELDS or k == PRESET_PARAM}
    return dict(st.session_state[_FIRST])


def url_notes(asked: dict[str, str]) -> list[str]:
    """One sentence per scenario parameter of `asked` (a URL's) that was not taken (or was scaled), in the
    URL's order and the current language."""
    notes: list[str] = []
    asked_preset = asked.get(PRESET_PARAM)
    if asked_preset is not None and asked_preset not in list_presets():
        notes.append(t("sidebar.url_preset", kept=knob_words.preset(DEFAULT_PRESET)))
    preset = load_preset(asked_preset if asked_preset in list_presets() else DEFAULT_PRESET)
    taken: dict[str, str] = {}
    for key, raw in asked.items():
        if key not in _FIELDS:
            continue  # other parameters are not the scenario's to judge
        try:
            apply_overrides(preset, {key: raw})
        except ScenarioError as err:
            notes += [sentence(path, kind, preset, key) for path, kind, _ in err.problems[:1]]
            continue
        taken[key] = raw
    try:
        asked = apply_overrides(preset, taken)
    except ScenarioError:
        return notes  # the sidebar says it (wrong_combination) on every run until it is fixed
    for mix, total in mix_totals(asked).items():
        if abs(total - 1) > 1e-6 and any(k.startswith(mix + ".") for k in taken):
            notes.append(t("sidebar.url_mix_scaled", field=knob_words.label(mix), total=pct(total, 1)))
    return notes


def clamp_notes(asked: Scenario, clamped: Scenario, budget: Budget) -> list[str]:
    """The session budget's clamp in words (days first, then visitors)."""
    notes = []
    if clamped.traffic.days != asked.traffic.days:
        notes.append(t("sidebar.clamped_days", asked=num(asked.traffic.days), limit=num(budget.max_days),
                       used=num(clamped.traffic.days)))
    if clamped.traffic.visitors != asked.traffic.visitors:
        notes.append(t("sidebar.clamped_visitors", asked=num(asked.traffic.visitors), days=num(clamped.traffic.days),
                       limit=num(budget.max_visitors), visitor_days=num(budget.max_visitor_days),
                       used=num(clamped.traffic.visitors)))
    return notes


def wrong_combination(err: ScenarioError, preset: Scenario) -> str:
    """Knobs that do not fit together: each problem in a sentence, and that the preset is shown."""
    said = " ".join(dict.fromkeys(sentence(path, kind, preset) for path, kind, _ in err.problems))
    return t("sidebar.invalid_combination", problems=said or t("sidebar.url_no_fit", field=t("sidebar.heading")))
