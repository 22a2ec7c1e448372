"""The shared sidebar: one widget per Scenario field, bound to the URL, plus the preset picker.

Widgets are generated from the pydantic model (type, bounds, default, help text), keyed by the
field's dotted path, and bound to query parameters, so a presenter can bookmark and share a
scenario. A parameter equal to the preset's value is left out of the URL.

In presenter mode only the knobs a lesson uses are drawn, unbound and with their choices in words; every
knob keeps its value in the session and the URL, which this module writes itself then (a widget that
is not drawn gives up its URL parameter, and a bound choice would put its words in the URL).
Above the knobs: the presenter-mode toggle and the lesson picker (for presenters), and the pin.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, get_args, get_origin

import streamlit as st
from pydantic import ValidationError

from engine.budget import Budget, clamp
from engine.scenario import (
    DEFAULT_PRESET,
    Scenario,
    ScenarioError,
    apply_overrides,
    iter_fields,
    list_presets,
    load_preset,
)
from ui import knob_words, pin, rooms, url_state
from ui.components import auth
from ui.components.lesson_bar import lesson_picker
from ui.limits import PRESENTER_BUDGET_KEY, PRESENTER_MAX_VISITOR_DAYS, learner_budget, session_budget
from ui.present import presenting, set_presenting
from ui.rooms.store import Room
from ui.words import t

PRESET_KEY = "preset"
PRESENT_TOGGLE = "present.toggle"
_SECTIONS = ("site", "traffic", "consent", "rails", "masking")
# What a lesson changes: the only knobs drawn in presenter mode.
LESSON_KNOBS = ("consent.banner", "consent.mode", "consent.decision_share", "rails.server_side_proxy")
_ADBLOCK = "traffic.adblock."


def lesson_knob(path: str) -> bool:
    return path in LESSON_KNOBS or path.startswith(_ADBLOCK)


def _value_at(scenario: Scenario, path: str) -> Any:
    node: Any = scenario
    for part in path.split("."):
        node = getattr(node, part)
    return node


def _to_widget(value: Any) -> Any:
    return ", ".join(value) if isinstance(value, tuple) else value


def _from_widget(annotation: Any, value: Any) -> Any:
    if get_origin(annotation) is tuple:
        return [v.strip() for v in str(value).split(",") if v.strip()]
    return value


def _label(path: str) -> str:
    return knob_words.label(path)


def _widget(container: Any, path: str, info: Any, default: Any, budget: Budget, bound: bool = True) -> None:
    """The knob's widget. Bound to the URL, choices show their codes (the URL holds what a choice shows);
    unbound (presenter mode, which writes the URL itself), they show their names."""
    ann = info.annotation
    common: dict[str, Any] = {"key": path, "help": info.description, "bind": "query-params" if bound else None}
    lo = next((getattr(m, "ge", None) for m in info.metadata if getattr(m, "ge", None) is not None), None)
    hi = next((getattr(m, "le", None) for m in info.metadata if getattr(m, "le", None) is not None), None)
    if get_origin(ann) is Literal:
        options = list(get_args(ann))
        words = {} if bound else {"format_func": knob_words.option}
        container.selectbox(_label(path), options, index=options.index(default), **words, **common)
    elif ann is bool:
        container.checkbox(_label(path), value=default, **common)
    elif ann is int:
        # The widgets stop at this session's budget (clamp() below also holds the product of the two).
        if path == "traffic.visitors":
            hi = min(hi or budget.max_visitors, budget.max_visitors)
        elif path == "traffic.days":
            hi = min(hi or budget.max_days, budget.max_days)
        container.number_input(_label(path), min_value=lo, max_value=hi, value=min(default, hi) if hi else default, step=1, **common)
    elif ann is float:
        # Every float knob is a share: shown as a percentage (the value and the URL stay 0..1).
        container.slider(_label(path), min_value=float(lo or 0.0), max_value=float(hi or 1.0), value=float(default), step=0.01,
                         format="percent", **common)
    elif ann is dt.date:
        container.date_input(_label(path), value=default, **common)
    elif get_origin(ann) is tuple:
        container.text_input(_label(path), value=_to_widget(default), **common)
    else:  # pragma: no cover - a new field type must get a widget here
        raise TypeError(f"no widget for {path}: {ann}")


def _budget() -> Budget:
    return session_budget(auth.is_presenter())


def _apply_preset(name: str) -> None:
    preset, _ = clamp(load_preset(name), _budget())
    for path, _ in iter_fields():
        st.session_state[path] = _to_widget(_value_at(preset, path))


def _on_preset_change() -> None:
    _apply_preset(st.session_state[PRESET_KEY])


def _on_reset() -> None:
    _apply_preset(st.session_state.get(PRESET_KEY, DEFAULT_PRESET))


def _url_notes(preset: Scenario, budget: Budget) -> list[str]:
    """Query parameters that are not valid for the scenario fall back to the preset; a run larger than
    the session's budget is clamped (the widgets start from the clamped values)."""
    notes = []
    wanted = {k: st.query_params[k] for k in ("traffic.visitors", "traffic.days") if k in st.query_params}
    known = {p for p, _ in iter_fields()} | {PRESET_KEY}
    for key in st.query_params:
        raw = st.query_params[key]
        if key == PRESET_KEY:
            if raw not in list_presets():
                notes.append(t("sidebar.bad_preset", value=raw, default=DEFAULT_PRESET))
            continue
        if key not in known:
            continue  # other apps' parameters are not ours to judge
        try:
            apply_overrides(preset, {key: raw})
        except ScenarioError as err:
            notes.append(t("sidebar.bad_value", key=key, value=raw, reason=str(err).split(": ", 2)[-1]))
            wanted.pop(key, None)
    try:
        asked = apply_overrides(preset, dict(wanted))
    except ScenarioError:
        return notes
    clamped, clamp_notes = clamp(asked, budget)
    if clamp_notes:
        for path in ("traffic.visitors", "traffic.days"):
            st.session_state[path] = _value_at(clamped, path)
        notes += clamp_notes
    return notes


def _url_form(value: Any) -> str:
    """A value as a widget bound to the URL writes it (and reads it back)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _take_over(preset: Scenario) -> None:
    """Presenter mode keeps every knob's value itself: from the session, or on a first visit from the URL
    (a value _url_notes rejected stays the preset's), and releases the URL from the widgets."""
    for path, _ in iter_fields():
        url_state.release(path)
        if path in st.session_state:
            st.session_state[path] = st.session_state[path]  # a value of its own, whether drawn or not
        elif path in st.query_params:
            try:
                asked = apply_overrides(preset, {path: st.query_params[path]})
            except ScenarioError:
                continue
            st.session_state[path] = _to_widget(_value_at(asked, path))


def _write_url(preset: Scenario) -> None:
    """Every knob that differs from the preset in the URL, as a bound widget would write it."""
    for path, _ in iter_fields():
        default = _to_widget(_value_at(preset, path))
        value = st.session_state.get(path, default)
        if value == default:
            st.query_params.pop(path, None)
        else:
            st.query_params[path] = _url_form(value)


def _on_present() -> None:
    set_presenting(bool(st.session_state[PRESENT_TOGGLE]))


def scenario_sidebar(room: Room | None = None) -> Scenario:
    """Draw the scenario sidebar and return the scenario it describes (never raises)."""
    if room is not None:  # a learner following a live room: the room's scenario, read-only
        return rooms.room_sidebar(room)
    if "_url_notes" not in st.session_state:
        preset_name = st.query_params.get(PRESET_KEY, DEFAULT_PRESET)
        base = load_preset(preset_name if preset_name in list_presets() else DEFAULT_PRESET)
        st.session_state["_url_notes"] = _url_notes(base, _budget())
    sb = st.sidebar
    present = presenting()
    if auth.is_presenter():
        sb.toggle(t("sidebar.present"), value=present, key=PRESENT_TOGGLE, on_change=_on_present,
                  help=t("sidebar.present_help"))
    lesson_picker(sb)
    sb.header(t("sidebar.heading"))
    presets = list(list_presets())
    sb.selectbox(t("sidebar.preset"), presets, index=presets.index(DEFAULT_PRESET), key=PRESET_KEY, bind="query-params",
                 on_change=_on_preset_change, help=t("sidebar.preset_help"))
    preset, _ = clamp(load_preset(st.session_state[PRESET_KEY]), budget := _budget())
    sb.button(t("sidebar.reset"), on_click=_on_reset, help=t("sidebar.reset_help"))
    pin_slot = sb.container()
    for note in st.session_state["_url_notes"]:
        sb.warning(note)
    fields = list(iter_fields())
    if present:
        _take_over(preset)
        info_of = dict(fields)
        adblock = [p for p, _ in fields if p.startswith(_ADBLOCK)]
        for path in LESSON_KNOBS:
            _widget(sb, path, info_of[path], _value_at(preset, path), budget, bound=False)
        box = sb.expander(t("sidebar.adblock"))
        for path in adblock:
            _widget(box, path, info_of[path], _value_at(preset, path), budget, bound=False)
        _write_url(preset)
    else:
        groups: dict[str, Any] = {}
        for path, info in fields:
            section = path.split(".")[0]
            if section not in groups:
                name = section if section in _SECTIONS else "run"
                groups[section] = sb.expander(t(f"sidebar.section_{name}"), expanded=section == "consent")
            _widget(groups[section], path, info, _value_at(preset, path), budget)
    if auth.is_presenter() and not present:
        sb.number_input(t("sidebar.presenter_budget"), min_value=learner_budget().max_visitor_days,
                        max_value=PRESENTER_MAX_VISITOR_DAYS, step=1_000_000, key=PRESENTER_BUDGET_KEY,
                        help=t("sidebar.presenter_budget_help"))
    elif PRESENTER_BUDGET_KEY in st.session_state:
        # Not drawn: keep the presenter's budget (Streamlit drops an undrawn widget's value).
        st.session_state[PRESENTER_BUDGET_KEY] = st.session_state[PRESENTER_BUDGET_KEY]
    scenario, notes = clamp(current_scenario(preset), budget)
    for note in notes:
        sb.warning(note)
    pin.pin_controls(pin_slot, st.session_state[PRESET_KEY], scenario)
    return scenario


def current_scenario(preset: Scenario | None = None) -> Scenario:
    """The scenario of the widgets' values; an invalid combination falls back to the preset."""
    preset = preset or load_preset(st.session_state.get(PRESET_KEY, DEFAULT_PRESET))
    values = {}
    for path, info in iter_fields():
        if path in st.session_state:
            values[path] = _from_widget(info.annotation, st.session_state[path])
    try:
        return apply_overrides(preset, values)
    except (ScenarioError, ValidationError) as err:
        st.sidebar.error(t("sidebar.invalid_combination", error=err))
        return preset

