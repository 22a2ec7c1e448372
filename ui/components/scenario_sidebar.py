"""The shared sidebar: the scenario's essentials first, everything else under "Advanced".

Widgets are generated from the pydantic model (type, bounds, default, help text) and keyed by the
field's dotted path; choices show their names (`ui.knob_words`), never their codes. The URL carries
codes, so a shared link reads the same in every language: the widgets are not bound to the URL (a bound
choice writes what it shows), this module keeps every knob's value in the session (on a first visit
from the URL) and writes the knobs that differ from the preset into the URL itself.

Essentials: preset, banner, Consent Mode, share who answer the banner, ad-blocker share (one slider that
moves every browser's share), server-side proxy, visitors. A mix (regions, devices, channels) is one
small table whose shares always sum to 100% (`mix_editor`). In presenter mode only the knobs a lesson
uses are drawn. Above the knobs: the presenter-mode toggle and the lesson picker (for presenters);
under the essentials: reset and the pin.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any, Literal, get_args, get_origin

import streamlit as st

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
from ui import knob_words, pin, rooms, url_state, words
from ui.components import auth
from ui.components.lesson_bar import lesson_picker
from ui.components.mix_editor import list_editor, mix_editor, normalised
from ui.language import heading_with_switch, language_switch
from ui.limits import PRESENTER_BUDGET_KEY, PRESENTER_MAX_VISITOR_DAYS, learner_budget, session_budget
from ui.present import presenting, set_presenting
from ui.rooms.store import Room
from ui.url_notes import clamp_notes, first_url, url_notes, wrong_combination
from ui.words import num, t

PRESET_KEY = "preset"
PRESENT_TOGGLE = "present.toggle"
ADVANCED_OPEN = "sidebar.advanced.open"  # the "Advanced" expander's open state
ADBLOCK_ALL = "adblock.all"  # the essentials' one ad-blocker slider (not a field: it moves the browsers')
_SECTIONS = ("site", "traffic", "consent", "rails", "masking")
# What a lesson changes: the only knobs drawn in presenter mode (with the ad-blocker shares).
LESSON_KNOBS = ("consent.banner", "consent.mode", "consent.decision_share", "rails.server_side_proxy")
ESSENTIALS = ("consent.banner", "consent.mode", "consent.decision_share", ADBLOCK_ALL, "rails.server_side_proxy",
              "traffic.visitors")
_ADBLOCK = "traffic.adblock."
_SWITCHED = "sidebar.preset_switched"
_NOTES = "_url_notes"


def lesson_knob(path: str) -> bool:
    return path in LESSON_KNOBS or path.startswith(_ADBLOCK)


def _value_at(scenario: Scenario, path: str) -> Any:
    node: Any = scenario
    for part in path.split("."):
        node = getattr(node, part)
    return node


def _mix_of(path: str) -> str | None:
    parent = path.rsplit(".", 1)[0]
    return parent if parent.endswith("_mix") else None


def _to_widget(value: Any) -> Any:
    return ", ".join(value) if isinstance(value, tuple) else value


def _from_widget(annotation: Any, value: Any) -> Any:
    if get_origin(annotation) is tuple:
        return [v.strip() for v in str(value).split(",") if v.strip()]
    return value


def _bounds(info: Any) -> tuple[Any, Any]:
    lo = next((m.ge for m in info.metadata if getattr(m, "ge", None) is not None), None)
    hi = next((m.le for m in info.metadata if getattr(m, "le", None) is not None), None)
    return lo, hi


def _widget(container: Any, path: str, info: Any, budget: Budget) -> None:
    """The knob's widget, keyed by its path; its value lives in the session (`_take_over` puts it there)."""
    ann = info.annotation
    common: dict[str, Any] = {"key": path, "help": knob_words.help_text(path)}
    label = knob_words.label(path)
    lo, hi = _bounds(info)
    if get_origin(ann) is Literal:
        container.selectbox(label, list(get_args(ann)), format_func=knob_words.in_language(knob_words.option), **common)
    elif ann is bool:
        container.checkbox(label, **common)
    elif path == "traffic.visitors":
        # Steps people read ("20,000" / "20.000"), up to this session's budget (clamp() holds the product
        # with the days); a value from a link that is not a step is one more stop.
        # Keyed per language: the browser sends a slider's value as the words it shows ("20,000"), which the
        # other language's slider would not find; the knob's own value stays under its path.
        steps = visitor_steps(int(hi or budget.max_visitors), budget.max_visitors, int(st.session_state[path]))
        shown = shown_key(path)
        st.session_state[shown] = st.session_state[path]
        container.select_slider(label, options=steps, format_func=knob_words.in_language(num), key=shown,
                                help=common["help"], on_change=_copy, args=(shown, path))
    elif ann is int:
        # The widgets stop at this session's budget (clamp() below also holds the product of the two).
        if path == "traffic.days":
            hi = min(hi or budget.max_days, budget.max_days)
        container.number_input(label, min_value=lo, max_value=hi, step=1, **common)
    elif ann is float:
        # Every float knob is a share: shown as a percentage (the value and the URL stay 0..1).
        container.slider(label, min_value=float(lo or 0.0), max_value=float(hi or 1.0), step=0.01, format="percent", **common)
    elif ann is dt.date:
        container.date_input(label, format="DD.MM.YYYY" if words.language() == "de" else "YYYY-MM-DD", **common)
    else:  # pragma: no cover - a new field type must get a widget here (a list is a table: list_editor)
        raise TypeError(f"no widget for {path}: {ann}")


def shown_key(path: str) -> str:
    """The key of a knob's widget whose browser value is in the session's language (see `_widget`)."""
    return f"{path}@{words.language()}"


def _copy(source: str, target: str) -> None:
    st.session_state[target] = st.session_state[source]


def visitor_steps(model_max: int, budget_max: int, current: int) -> list[int]:
    """The visitor counts the essentials' slider stops at: 1-2-5 steps from 100 up to the smaller maximum,
    the maximum itself, and `current`."""
    top = min(model_max, budget_max)
    steps = {m * 10**e for e in range(2, 10) for m in (1, 2, 5) if m * 10**e <= top}
    return sorted(steps | {top, min(current, top)})


def _budget() -> Budget:
    return session_budget(auth.is_presenter())


def _apply_preset(name: str) -> None:
    preset, _ = clamp(load_preset(name), _budget())
    for path, _ in iter_fields():
        st.session_state[path] = _to_widget(_value_at(preset, path))


def _on_preset_change() -> None:
    _apply_preset(st.session_state[PRESET_KEY])
    st.session_state[_SWITCHED] = True


def _on_reset() -> None:
    _apply_preset(st.session_state.get(PRESET_KEY, DEFAULT_PRESET))


def _url_form(value: Any) -> str:
    """A value as the URL carries it (and `apply_overrides` reads it back): codes, never names."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _take_over(preset: Scenario) -> None:
    """Every knob keeps its value in the session: its own, or on a first visit the URL's (a value the
    URL notes rejected stays the preset's); a mix's shares are scaled to sum to 1."""
    for path, _ in iter_fields():
        url_state.release(path)  # a parameter bound by an older version of this sidebar in this session
        if path in st.session_state:
            st.session_state[path] = st.session_state[path]  # a value of its own, whether drawn or not
            continue
        value = _value_at(preset, path)
        if path in st.query_params:
            with contextlib.suppress(ScenarioError):  # rejected: url_notes said so, the preset's value stays
                value = _value_at(apply_overrides(preset, {path: st.query_params[path]}), path)
        st.session_state[path] = _to_widget(value)
    mixes: dict[str, list[str]] = {}
    for path, _ in iter_fields():
        if (mix := _mix_of(path)) is not None:
            mixes.setdefault(mix, []).append(path)
    for paths in mixes.values():
        for path, share in normalised({p: float(st.session_state[p]) for p in paths}).items():
            st.session_state[path] = share


def _write_url(preset: Scenario) -> None:
    """The preset (unless the default) and every knob that differs from the preset, in the URL as codes."""
    wanted = {PRESET_KEY: st.session_state[PRESET_KEY]} if st.session_state[PRESET_KEY] != DEFAULT_PRESET else {}
    for path, _ in iter_fields():
        if (value := st.session_state[path]) != _to_widget(_value_at(preset, path)):
            wanted[path] = _url_form(value)
    for key in (PRESET_KEY, *(p for p, _ in iter_fields())):
        if key not in wanted:
            st.query_params.pop(key, None)
        elif st.query_params.get(key) != wanted[key]:
            st.query_params[key] = wanted[key]


def _adblock_paths() -> list[str]:
    return [p for p, _ in iter_fields() if p.startswith(_ADBLOCK)]


def _adblock_all(container: Any) -> None:
    """One slider for the ad-blocker share: the browsers' average; moving it scales every browser's share."""
    paths = _adblock_paths()
    average = round(sum(float(st.session_state[p]) for p in paths) / len(paths), 2)
    st.session_state[ADBLOCK_ALL] = average
    container.slider(t("sidebar.adblock_all"), min_value=0.0, max_value=1.0, step=0.01, format="percent",
                     key=ADBLOCK_ALL, on_change=_on_adblock_all, help=t("sidebar.adblock_all_help"))


def scaled_to_average(shares: list[float], target: float) -> list[float]:
    """Shares scaled by one factor so that their average is `target` (those that would pass 100% stay at
    100% and the others take up the rest), rounded to whole percent points as the sliders show them."""
    if sum(shares) <= 0:
        return [round(target, 2)] * len(shares)
    full: set[int] = set()
    for _ in shares:  # each pass fixes at least one more share at 100% or stops
        free = [i for i in range(len(shares)) if i not in full]
        free_sum = sum(shares[i] for i in free)
        factor = (target * len(shares) - len(full)) / free_sum if free_sum > 0 else 0.0
        over = {i for i in free if shares[i] * factor > 1}
        if not over:
            break
        full |= over
    return [1.0 if i in full else round(min(1.0, v * factor), 2) for i, v in enumerate(shares)]


def _on_adblock_all() -> None:
    paths = _adblock_paths()
    shares = scaled_to_average([float(st.session_state[p]) for p in paths], float(st.session_state[ADBLOCK_ALL]))
    for path, share in zip(paths, shares, strict=True):
        st.session_state[path] = share


def _on_present() -> None:
    set_presenting(bool(st.session_state[PRESENT_TOGGLE]))


def _preset_choice() -> None:
    """The preset in the session: its own, or on a first visit the URL's (if it is one)."""
    if PRESET_KEY not in st.session_state:
        asked = st.query_params.get(PRESET_KEY, DEFAULT_PRESET)
        st.session_state[PRESET_KEY] = asked if asked in list_presets() else DEFAULT_PRESET
    else:
        st.session_state[PRESET_KEY] = st.session_state[PRESET_KEY]


def _knob(container: Any, path: str, info_of: dict[str, Any], budget: Budget) -> None:
    if path == ADBLOCK_ALL:
        _adblock_all(container)
    else:
        _widget(container, path, info_of[path], budget)


def _advanced(container: Any, fields: list[tuple[str, Any]], budget: Budget) -> None:
    """Everything but the essentials, grouped by the model's sections; a mix as one table."""
    box = container.expander(t("sidebar.advanced"), icon=":material/tune:", key=ADVANCED_OPEN, on_change="rerun")
    if not box.open:  # closed, its 30-odd widgets cost nothing; the knobs keep their values (`_take_over`)
        return
    section, drawn_mixes = "", set()
    for path, info in fields:
        if path in ESSENTIALS:
            continue
        if (head := path.split(".")[0]) != section:
            section = head
            name = head if head in _SECTIONS else "run"
            box.markdown("**" + t(f"sidebar.section_{name}") + "**")
        if (mix := _mix_of(path)) is not None:
            if mix not in drawn_mixes:
                drawn_mixes.add(mix)
                mix_editor(box, mix, [p.rsplit(".", 1)[1] for p, _ in fields if _mix_of(p) == mix])
            continue
        if path == _adblock_paths()[0]:
            box.caption(t("sidebar.adblock"))
        if get_origin(info.annotation) is tuple:
            list_editor(box, path)
        else:
            _widget(box, path, info, budget)


def _show_switch(slot: Any, scenario: Scenario) -> None:
    """After a preset switch: compute its run here, saying what is being done (it can take seconds)."""
    from ui.services import simulation

    name = knob_words.preset(st.session_state[PRESET_KEY])
    size = {"visitors": num(scenario.traffic.visitors), "days": num(scenario.traffic.days)}
    with slot.status(t("sidebar.switching", preset=name), expanded=False) as status:
        status.write(t("sidebar.switching_traffic", **size))
        simulation.traffic(scenario)
        status.write(t("sidebar.switching_rails"))
        simulation.run(scenario)
        status.update(label=t("sidebar.switched", preset=name, **size), state="complete")


def _clamp_before_drawing(sb: Any, preset: Scenario, budget: Budget) -> None:
    """A run larger than the session's budget (a URL, a preset) is clamped before the knobs are drawn, so
    they show what runs; the note says so."""
    values = {path: _from_widget(info.annotation, st.session_state[path]) for path, info in iter_fields()}
    try:
        asked = apply_overrides(preset, {p: values[p] for p in ("traffic.visitors", "traffic.days")})
    except ScenarioError:
        return
    clamped, changed = clamp(asked, budget)
    for note in clamp_notes(asked, clamped, budget) if changed else []:
        sb.warning(note)
    for path in ("traffic.visitors", "traffic.days"):
        st.session_state[path] = _value_at(clamped, path)


def scenario_sidebar(room: Room | None = None) -> Scenario:
    """Draw the scenario sidebar and return the scenario it describes (never raises)."""
    if room is not None:  # a learner following a live room: the room's scenario, read-only
        language_switch()
        return rooms.room_sidebar(room)
    budget = _budget()
    said = st.session_state.setdefault(_NOTES, {})  # by language: the URL's notes follow a language switch
    if words.language() not in said:
        said[words.language()] = url_notes(first_url())
    sb = st.sidebar
    present = presenting()
    if auth.is_presenter():
        sb.toggle(t("sidebar.present"), value=present, key=PRESENT_TOGGLE, on_change=_on_present,
                  help=t("sidebar.present_help"))
    lesson_picker(sb)
    heading_with_switch(t("sidebar.heading"))
    _preset_choice()
    url_state.release(PRESET_KEY)
    sb.selectbox(t("sidebar.preset"), list(list_presets()), key=PRESET_KEY, format_func=knob_words.in_language(knob_words.preset),
                 on_change=_on_preset_change, help=t("sidebar.preset_help"))
    switch_slot = sb.container()
    preset, _ = clamp(load_preset(st.session_state[PRESET_KEY]), budget)
    for note in said[words.language()]:
        sb.warning(note)
    _take_over(preset)
    _clamp_before_drawing(sb, preset, budget)
    fields = list(iter_fields())
    info_of = dict(fields)
    if present:
        for path in (*LESSON_KNOBS[:3], ADBLOCK_ALL, *LESSON_KNOBS[3:]):
            _knob(sb, path, info_of, budget)
        box = sb.expander(t("sidebar.adblock"))
        for path in _adblock_paths():
            _widget(box, path, info_of[path], budget)
    else:
        for path in ESSENTIALS:
            _knob(sb, path, info_of, budget)
    sb.button(t("sidebar.reset"), on_click=_on_reset, help=t("sidebar.reset_help"), icon=":material/restart_alt:")
    pin_slot = sb.container()
    if not present:
        _advanced(sb, fields, budget)
    elif ADVANCED_OPEN in st.session_state:  # not drawn: open again when presenter mode ends
        st.session_state[ADVANCED_OPEN] = st.session_state[ADVANCED_OPEN]
    if auth.is_presenter() and not present:
        sb.number_input(t("sidebar.presenter_budget"), min_value=learner_budget().max_visitor_days,
                        max_value=PRESENTER_MAX_VISITOR_DAYS, step=1_000_000, key=PRESENTER_BUDGET_KEY,
                        help=t("sidebar.presenter_budget_help"))
    elif PRESENTER_BUDGET_KEY in st.session_state:
        # Not drawn: keep the presenter's budget (Streamlit drops an undrawn widget's value).
        st.session_state[PRESENTER_BUDGET_KEY] = st.session_state[PRESENTER_BUDGET_KEY]
    asked = current_scenario(preset)
    scenario, _ = clamp(asked, budget)
    for note in clamp_notes(asked, scenario, budget):  # the knobs just asked for more: the next run takes this
        sb.warning(note)
    _write_url(preset)
    if st.session_state.pop(_SWITCHED, False):
        _show_switch(switch_slot, scenario)
    pin.pin_controls(pin_slot, st.session_state[PRESET_KEY], scenario)
    return scenario


def current_scenario(preset: Scenario | None = None) -> Scenario:
    """The scenario of the knobs' values; an invalid combination falls back to the preset."""
    preset = preset or load_preset(st.session_state.get(PRESET_KEY, DEFAULT_PRESET))
    values = {}
    for path, info in iter_fields():
        if path in st.session_state:
            values[path] = _from_widget(info.annotation, st.session_state[path])
    try:
        return apply_overrides(preset, values)
    except ScenarioError as err:
        st.sidebar.error(wrong_combination(err, preset))
        return preset
