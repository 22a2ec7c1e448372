"""Before / after: a pinned scenario is the reference the pages compare the current one against.

"Pin this scenario" keeps the current scenario in the session and in the URL (`?pin=...`: its preset
and the knobs that differ from it, as URL-safe base64 of a small JSON object), so a shared link keeps
the comparison. A pinned scenario is just another Scenario: clamped to the session's budget and
computed by the same cached services. A pin that cannot be read is ignored with a note.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Mapping
from typing import Any

import streamlit as st
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.budget import clamp
from engine.scenario import Scenario, ScenarioError, apply_overrides, field_paths, load_preset
from ui import knob_words, url_state
from ui.components import auth
from ui.limits import session_budget
from ui.words import t

PIN_PARAM = "pin"
_NOTE = "pin.note"
_MAX_LEN = 4000
_SHOWN = 4  # differences named in the sidebar; the rest are counted


class PinError(ValueError):
    """A pin that cannot be read; the message says why."""


class _Pin(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    p: str = Field(min_length=1, max_length=40)
    o: dict[str, Any] = {}


def _flat(scenario: Scenario) -> dict[str, Any]:
    data = scenario.model_dump(mode="json")
    out = {}
    for path in field_paths():
        node: Any = data
        for part in path.split("."):
            node = node[part]
        out[path] = node
    return out


def encode(preset: str, scenario: Scenario) -> str:
    """The pin of `scenario`: its preset and the knobs that differ from it."""
    base, mine = _flat(load_preset(preset)), _flat(scenario)
    payload = {"p": preset, "o": {k: v for k, v in mine.items() if v != base[k]}}
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _spec(text: str) -> _Pin:
    if not text or len(text) > _MAX_LEN:
        raise PinError(t("pin.bad_length", limit=_MAX_LEN))
    try:
        return _Pin.model_validate_json(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, ValidationError):
        raise PinError(t("pin.bad_encoding")) from None


@functools.lru_cache(maxsize=256)
def decode(text: str) -> Scenario:
    """The scenario a pin describes; PinError says what is wrong with it."""
    spec = _spec(text)
    try:
        return apply_overrides(load_preset(spec.p), spec.o)
    except ScenarioError as err:
        raise PinError(str(err)) from None


def pinned_scenario() -> Scenario | None:
    """The pinned scenario (clamped to this session's budget), or None when nothing is pinned."""
    raw = url_state.sticky(PIN_PARAM)
    if not raw:
        return None
    try:
        scenario = decode(raw)
    except PinError as err:
        st.session_state[_NOTE] = t("pin.ignored", reason=str(err))
        url_state.set_sticky(PIN_PARAM, None)
        return None
    return clamp(scenario, session_budget(auth.is_presenter()))[0]


def pin(encoded: str) -> None:
    url_state.set_sticky(PIN_PARAM, encoded)
    st.session_state.pop(_NOTE, None)


def unpin() -> None:
    url_state.set_sticky(PIN_PARAM, None)


def differences(pinned: Scenario, current: Scenario) -> list[str]:
    """What the pinned scenario has that the current one does not, in words ("banner Reject on the first layer")."""
    a, b = _flat(pinned), _flat(current)
    return [t("pin.difference", knob=knob_words.label(p), value=knob_words.value_words(p, getattr_path(pinned, p)))
            for p in field_paths() if a[p] != b[p]]


def getattr_path(scenario: Scenario, path: str) -> Any:
    node: Any = scenario
    for part in path.split("."):
        node = getattr(node, part)
    return node


def same_visitors(pinned: Scenario, current: Scenario) -> bool:
    """Are both scenarios' visitors the same people (same site, traffic and seed)?"""
    return pinned.traffic_key == current.traffic_key


def kpi_deltas(current: Mapping[str, float], pinned: Mapping[str, float]) -> dict[str, float]:
    """Current minus pinned for every number both have (for st.metric's delta)."""
    return {k: float(current[k]) - float(pinned[k]) for k in current if k in pinned}


def pin_controls(container: Any, preset: str, scenario: Scenario) -> None:
    """The sidebar's Pin / Unpin and, while pinned, what the pin differs in."""
    box = container.container(key="pin-box")
    pinned = pinned_scenario()
    if note := st.session_state.get(_NOTE):
        box.warning(note)
    if pinned is None:
        box.button(t("pin.pin"), key="pin.pin", on_click=pin, args=(encode(preset, scenario),),
                   help=t("pin.pin_help"), icon=":material/push_pin:")
        return
    diffs = differences(pinned, scenario)
    if (pinned_preset := _spec(url_state.sticky(PIN_PARAM) or "").p) != preset:
        diffs.insert(0, t("pin.difference", knob=t("sidebar.preset"), value=pinned_preset))
    if not diffs:
        box.markdown(t("pin.same"))
    else:
        shown = "; ".join(diffs[:_SHOWN])
        more = t("pin.more", count=len(diffs) - _SHOWN) if len(diffs) > _SHOWN else ""
        box.markdown(t("pin.pinned", differences=shown, more=more))
    if not same_visitors(pinned, scenario):
        box.warning(t("pin.other_visitors"))
    box.button(t("pin.unpin"), key="pin.unpin", on_click=unpin, icon=":material/keep_off:")
