"""The shared sidebar: one widget per Scenario field, bound to the URL, plus the preset picker.

Widgets are generated from the pydantic model (type, bounds, default, help text), keyed by the
field's dotted path, and bound to query parameters, so a presenter can bookmark and share a
scenario. A parameter equal to the preset's value is left out of the URL.
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
from ui import rooms
from ui.components import auth
from ui.limits import PRESENTER_BUDGET_KEY, PRESENTER_MAX_VISITOR_DAYS, learner_budget, session_budget

PRESET_KEY = "preset"
_SECTIONS = {"site": "Site", "traffic": "Traffic", "consent": "Consent", "rails": "Rails", "masking": "Masking"}


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
    return path.split(".", 1)[-1].replace("_", " ").replace(".", ": ")


def _widget(container: Any, path: str, info: Any, default: Any, budget: Budget) -> None:
    ann = info.annotation
    common = {"key": path, "help": info.description, "bind": "query-params"}
    lo = next((getattr(m, "ge", None) for m in info.metadata if getattr(m, "ge", None) is not None), None)
    hi = next((getattr(m, "le", None) for m in info.metadata if getattr(m, "le", None) is not None), None)
    if get_origin(ann) is Literal:
        options = list(get_args(ann))
        container.selectbox(_label(path), options, index=options.index(default), **common)
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
        container.slider(_label(path), min_value=float(lo or 0.0), max_value=float(hi or 1.0), value=float(default), step=0.01, **common)
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
                notes.append(f"preset={raw!r} is not a preset; using {DEFAULT_PRESET}.")
            continue
        if key not in known:
            continue  # other apps' parameters are not ours to judge
        try:
            apply_overrides(preset, {key: raw})
        except ScenarioError as err:
            notes.append(f"{key}={raw!r} ignored ({str(err).split(': ', 2)[-1]}); using the preset's value.")
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


def scenario_sidebar() -> Scenario:
    """Draw the scenario sidebar and return the scenario it describes (never raises)."""
    if rooms.following():  # a learner in a live room: the room's scenario, read-only
        return rooms.room_sidebar()
    if "_url_notes" not in st.session_state:
        preset_name = st.query_params.get(PRESET_KEY, DEFAULT_PRESET)
        base = load_preset(preset_name if preset_name in list_presets() else DEFAULT_PRESET)
        st.session_state["_url_notes"] = _url_notes(base, _budget())
    sb = st.sidebar
    sb.header("Scenario")
    presets = list(list_presets())
    sb.selectbox("Preset", presets, index=presets.index(DEFAULT_PRESET), key=PRESET_KEY, bind="query-params",
                 on_change=_on_preset_change, help="A ready-made scenario; every knob below starts from it.")
    preset, _ = clamp(load_preset(st.session_state[PRESET_KEY]), budget := _budget())
    sb.button("Reset to preset", on_click=_on_reset, help="Set every knob back to the preset's value.")
    for note in st.session_state["_url_notes"]:
        sb.warning(note)
    groups: dict[str, Any] = {}
    for path, info in iter_fields():
        section = path.split(".")[0]
        if section not in groups:
            groups[section] = sb.expander(_SECTIONS.get(section, "Run"), expanded=section == "consent")
        _widget(groups[section], path, info, _value_at(preset, path), budget)
    if auth.is_presenter():
        sb.number_input("Presenter: largest run for this session (visitors × days)", min_value=learner_budget().max_visitor_days,
                        max_value=PRESENTER_MAX_VISITOR_DAYS, step=1_000_000, key=PRESENTER_BUDGET_KEY,
                        help="Learners are limited to a smaller run so one server can serve a whole room.")
    scenario, notes = clamp(current_scenario(preset), budget)
    for note in notes:
        sb.warning(note)
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
        st.sidebar.error(f"{err} — showing the preset instead.")
        return preset

