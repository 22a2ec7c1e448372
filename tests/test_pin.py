"""Before / after: pinning keeps the scenario in the session and the URL, a link restores it, Unpin clears it."""

from __future__ import annotations

import base64
import json

import pytest
from streamlit.testing.v1 import AppTest

from engine.scenario import apply_overrides, list_presets, load_preset
from ui import pin

EU = load_preset("eu_shop")


def app(params: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=120)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    return at


def param(at: AppTest, key: str) -> str | None:
    value = at.query_params.get(key)
    return value[-1] if isinstance(value, list) else value


def sidebar_text(at: AppTest) -> str:
    return " ".join([m.value for m in at.sidebar.markdown] + [w.value for w in at.sidebar.warning])


def probe(params: dict[str, str]) -> AppTest:
    """A script that only asks pinned_scenario(), as a page does."""
    def script() -> None:
        import streamlit as st

        from ui.pin import pinned_scenario

        found = pinned_scenario()
        st.session_state["probe"] = None if found is None else found.model_dump(mode="json")

    at = AppTest.from_function(script, default_timeout=30)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


@pytest.mark.parametrize("preset", sorted(list_presets()))
def test_a_pin_decodes_to_the_scenario_it_encodes(preset):
    scenario = apply_overrides(load_preset(preset), {"consent.banner": "no_banner", "traffic.adblock.firefox": 0.1,
                                                     "masking.url_allowed_params": ["gclid"], "seed": 7})
    text = pin.encode(preset, scenario)
    assert pin.decode(text) == scenario
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")  # URL-safe
    bare = pin.encode(preset, load_preset(preset))  # only what differs from the preset is in a pin
    assert json.loads(base64.urlsafe_b64decode(bare + "=" * (-len(bare) % 4))) == {"o": {}, "p": preset}


def test_pin_then_change_the_banner_keeps_the_old_scenario():
    at = app({"traffic.visitors": "3000"})
    before = at.session_state["scenario"]
    at.sidebar.button(key="pin.pin").click().run()
    at.sidebar.selectbox(key="consent.banner").set_value("no_reject").run()
    assert not at.exception
    assert at.session_state["scenario"].consent.banner == "no_reject"
    assert pin.decode(param(at, "pin")) == before  # the URL carries the pinned scenario
    assert probe({"pin": param(at, "pin")}).session_state["probe"] == before.model_dump(mode="json")
    assert "Pinned: Banner “Reject on the first layer”" in sidebar_text(at).replace("*", "")
    assert "not on the same visitors" not in sidebar_text(at)
    assert at.sidebar.button(key="pin.unpin")


def test_a_link_with_a_pin_restores_it_and_unpin_clears_it():
    pinned = apply_overrides(EU, {"consent.mode": "basic", "traffic.visitors": 3000})
    at = app({"pin": pin.encode("eu_shop", pinned), "traffic.visitors": "3000"})
    text = sidebar_text(at).replace("*", "")
    assert "Pinned: Consent Mode “Basic (nothing before consent)”" in text
    at.sidebar.button(key="pin.unpin").click().run()
    assert not at.exception
    assert param(at, "pin") is None
    assert at.sidebar.button(key="pin.pin") and "Pinned" not in sidebar_text(at)


def test_a_pin_on_another_preset_names_it():
    at = app({"pin": pin.encode("us_shop", load_preset("us_shop")), "traffic.visitors": "3000"})
    assert "Pinned: Preset “us_shop”; " in sidebar_text(at).replace("*", "")


def test_other_visitors_are_named():
    pinned = apply_overrides(EU, {"traffic.visitors": 2000})
    at = app({"pin": pin.encode("eu_shop", pinned), "traffic.visitors": "3000"})
    assert "not on the same visitors" in sidebar_text(at)


@pytest.mark.parametrize("bad", ["not-base64!", "eyJwIjoibm9wZSJ9", pin.encode("eu_shop", EU)[:-3] + "xyz", "A" * 5000])
def test_an_invalid_pin_is_ignored_with_a_note(bad):
    at = app({"pin": bad})
    assert "pinned scenario in the link was ignored" in sidebar_text(at)
    assert at.sidebar.button(key="pin.pin") and param(at, "pin") is None
    assert probe({"pin": bad}).session_state["probe"] is None


def test_the_pin_is_clamped_to_the_session_budget():
    huge = apply_overrides(EU, {"traffic.visitors": 5_000_000, "traffic.days": 60})
    clamped = probe({"pin": pin.encode("eu_shop", huge)}).session_state["probe"]
    assert clamped["traffic"]["visitors"] * clamped["traffic"]["days"] <= 1_000_000
    assert clamped["traffic"]["days"] == 30


def test_kpi_deltas():
    assert pin.kpi_deltas({"visitors": 5000, "orders": 40, "new": 3}, {"visitors": 4139, "orders": 63}) == {
        "visitors": 861.0, "orders": -23.0}


def test_every_knob_and_choice_has_words():
    """The sidebar and the pin's description name knobs and choices from the catalogue (keys built from
    the model, which tests/test_words.py cannot see)."""
    from typing import Literal, get_args, get_origin

    from engine.scenario import iter_fields
    from ui import knob_words

    for path, info in iter_fields():
        assert knob_words.label(path).strip()
        if get_origin(info.annotation) is Literal:
            for choice in get_args(info.annotation):
                assert knob_words.option(choice) != str(choice)
    assert knob_words.value_words("consent.banner", "no_reject") == "No reject button"
    assert knob_words.value_words("consent.decision_share", 0.5) == "50%"
    assert knob_words.value_words("traffic.visitors", 20000) == "20,000"
    assert knob_words.value_words("rails.server_side_proxy", True) == "on"
