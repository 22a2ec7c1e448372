"""The sidebar for people: essentials first and the rest under "Advanced", choices in words while the URL
carries codes, mixes that always sum to 100%, one short sentence per bad URL value in the session's
language, a language switch that keeps the scenario, a preset switch that says what it is doing."""

from __future__ import annotations

import re
from typing import Literal, get_args, get_origin

import pytest
from apptest_helpers import open_advanced
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block, Expander

from engine.scenario import iter_fields, list_presets
from ui import knob_words, words
from ui.components.mix_editor import edited_list, rebalance
from ui.components.scenario_sidebar import ADBLOCK_ALL, ESSENTIALS, PRESET_KEY, scaled_to_average
from ui.words import t

SMALL = {"traffic.visitors": "1000", "traffic.days": "2"}
DESCRIPTIONS = {path: info.description for path, info in iter_fields()}
CODES = {str(v) for _, info in iter_fields() if get_origin(info.annotation) is Literal
         for v in get_args(info.annotation)} | set(list_presets())


def app(params: dict[str, str] | None = None, lang: str | None = None) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=120)
    for key, value in {**SMALL, **(params or {}), **({"lang": lang} if lang else {})}.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def params(at: AppTest) -> dict[str, str]:
    return {k: v[-1] if isinstance(v, list) else v for k, v in at.query_params.items()}


def knob_keys_outside_expanders(at: AppTest) -> list[str]:
    """Keys of the sidebar's widgets above any expander, in the order they are drawn."""
    keys: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, Expander) or getattr(node, "type", None) == "status":
            return
        if isinstance(node, Block):
            for child in node.children.values():
                walk(child)
        elif getattr(node, "key", None):
            keys.append(node.key.split("@")[0])  # a widget keyed per language: "traffic.visitors@en"

    walk(at.sidebar)
    return keys


def test_essentials_come_first_and_everything_else_is_under_advanced():
    at = app()
    knobs = [k for k in knob_keys_outside_expanders(at) if not k.startswith(("lang.", "pin."))]
    assert knobs == [PRESET_KEY, *ESSENTIALS]
    assert knobs[1:4] == ["consent.banner", "consent.mode", "consent.decision_share"]
    advanced = [e for e in at.sidebar.expander if e.label == t("sidebar.advanced")]
    assert len(advanced) == 1 and not advanced[0].children  # closed: nothing drawn inside (tests/test_lazy_panels.py)
    open_advanced(at)
    advanced = [e for e in at.sidebar.expander if e.label == t("sidebar.advanced")]
    inside = {w.key.split("@")[0] for kind in ("selectbox", "select_slider", "number_input", "slider", "checkbox", "date_input")
              for w in getattr(advanced[0], kind)}
    tables = {df.key.removeprefix("table.").rsplit(".", 1)[0] for df in advanced[0].data_editor}
    assert tables == {"traffic.region_mix", "traffic.device_mix", "traffic.channel_mix", "masking.url_allowed_params"}
    others = {p for p, _ in iter_fields()} - set(ESSENTIALS)
    assert {p for p in others if p in inside or p in tables or p.rsplit(".", 1)[0] in tables} == others
    assert not set(ESSENTIALS) & inside


@pytest.mark.parametrize("lang", ["en", "de"])
def test_choices_show_words_and_the_url_keeps_codes(lang):
    at = open_advanced(app(lang=lang))
    shown = [o for box in at.sidebar.selectbox for o in box.proto.options]
    assert len(shown) >= 20
    assert not [o for o in shown if o in CODES or re.search(r"[a-z0-9]_[a-z0-9]", o)], shown
    with words.speaking(lang):
        assert at.sidebar.selectbox(key="consent.banner").proto.options[2] == knob_words.option("no_reject")
        assert at.sidebar.selectbox(key=PRESET_KEY).proto.options[0] == knob_words.preset(sorted(list_presets())[0])
        visitors = at.sidebar.select_slider(key=f"traffic.visitors@{lang}")
        assert words.num(20_000) in visitors.proto.options and visitors.value == 1000  # steps read with separators
        # Help: the field's description in English, the catalogue's scenario.<path> in German (if translated yet).
        for path in ("consent.banner", "consent.decision_share", "rails.server_side_proxy"):
            widget = next(w for kind in ("selectbox", "slider", "checkbox") for w in getattr(at.sidebar, kind) if w.key == path)
            german = words.catalogue("de").get(f"scenario.{path}") if lang == "de" else None
            assert widget.help == (german or DESCRIPTIONS[path]) == knob_words.help_text(path)
    at.sidebar.selectbox(key="consent.banner").set_value("no_reject").run()
    at.sidebar.selectbox(key="consent.mode").set_value("basic").run()
    assert params(at)["consent.banner"] == "no_reject" and params(at)["consent.mode"] == "basic"
    assert at.session_state["scenario"].consent.banner == "no_reject"


def test_switching_the_language_keeps_the_scenario_and_the_url():
    at = app()
    at.sidebar.selectbox(key="consent.banner").set_value("no_banner").run()
    at.sidebar.slider(key=ADBLOCK_ALL).set_value(0.5).run()
    at.sidebar.select_slider(key="traffic.visitors@en").set_value(2000).run()
    scenario, url = at.session_state["scenario"], params(at)
    assert url["consent.banner"] == "no_banner" and url["traffic.adblock.firefox"] == "0.86"
    assert url["traffic.visitors"] == "2000" and scenario.traffic.visitors == 2000
    at.sidebar.segmented_control(key="lang.switch").set_value("de").run()
    assert not at.exception
    assert params(at) == {**url, "lang": "de"}
    assert at.session_state["scenario"] == scenario
    with words.speaking("de"):
        assert at.sidebar.selectbox(key="consent.banner").proto.options[3] == knob_words.option("no_banner")
    at.sidebar.segmented_control(key="lang.switch").set_value("en").run()
    assert params(at) == {**url, "lang": "en"} and at.session_state["scenario"] == scenario
    assert at.sidebar.selectbox(key="consent.banner").value == "no_banner"
    assert at.sidebar.select_slider(key="traffic.visitors@en").value == 2000


def test_the_ad_blocker_slider_moves_every_browser_alike():
    at = app()
    before = at.session_state["scenario"].traffic.adblock.model_dump()
    at.sidebar.slider(key=ADBLOCK_ALL).set_value(0.6).run()
    after = at.session_state["scenario"].traffic.adblock.model_dump()
    assert sum(after.values()) / len(after) == pytest.approx(0.6, abs=0.005)
    assert after["firefox"] == 1.0  # 0.51 doubled passes 100%: it stays there, the others take up the rest
    ratios = [after[b] / before[b] for b in before if b != "firefox"]
    assert max(ratios) - min(ratios) < 0.05  # scaled together: the browsers keep their order and proportions
    assert at.sidebar.slider(key=ADBLOCK_ALL).value == pytest.approx(0.6)


@pytest.mark.parametrize("target", [0.0, 0.1, 0.4, 0.6, 0.95, 1.0])
def test_scaled_to_average_reaches_the_average_without_passing_100_percent(target):
    shares = scaled_to_average([0.27, 0.27, 0.51, 0.22, 0.22], target)
    assert sum(shares) / 5 == pytest.approx(target, abs=0.005)
    assert all(0 <= s <= 1 for s in shares) and shares[0] == shares[1] and shares[3] == shares[4]
    assert shares[2] >= shares[0] >= shares[3]


def test_a_mix_table_keeps_its_sum_at_100_percent():
    at = open_advanced(app())
    editor = next(df for df in at.sidebar.data_editor if ".region_mix." in df.key)
    assert list(editor.value["share"]) == [70, 10, 10, 10]
    at.session_state[editor.key] = {"edited_rows": {0: {"share": 85.0}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception
    mix = at.session_state["scenario"].traffic.region_mix
    assert (mix.eea, mix.uk, mix.us, mix.rest) == (0.85, 0.05, 0.05, 0.05)
    editor = next(df for df in at.sidebar.data_editor if ".region_mix." in df.key)
    assert list(editor.value["share"]) == [85, 5, 5, 5]  # redrawn under a new key: the browser drops its edit
    assert params(at)["traffic.region_mix.eea"] == "0.85" and params(at)["traffic.region_mix.uk"] == "0.05"
    assert any(c.value == t("sidebar.mix_sum", total="100%") for c in at.sidebar.caption)


@pytest.mark.parametrize(("shares", "typed", "expected"), [
    ({"a": 0.7, "b": 0.1, "c": 0.1, "d": 0.1}, {"a": 85}, {"a": 0.85, "b": 0.05, "c": 0.05, "d": 0.05}),
    ({"a": 0.5, "b": 0.25, "c": 0.25}, {"a": 80, "b": 60}, {"a": 0.571, "b": 0.429, "c": 0.0}),  # over 100%: scaled
    ({"a": 1.0, "b": 0.0, "c": 0.0}, {"a": 40}, {"a": 0.4, "b": 0.3, "c": 0.3}),  # the rest had nothing: equal parts
    ({"a": 0.5, "b": 0.5}, {"a": 0, "b": 0}, {"a": 0.5, "b": 0.5}),  # all zero: nothing changes
    ({"a": 0.2, "b": 0.8}, {"a": 150}, {"a": 1.0, "b": 0.0}),  # clipped to 100%
    ({"a": 0.6, "b": 0.4}, {"a": None}, {"a": 0.6, "b": 0.4}),  # a blank cell changes nothing
    ({"a": 0.5, "b": 0.3, "c": 0.2}, {"c": 10}, {"a": 0.563, "b": 0.337, "c": 0.1}),  # 56.25 / 33.75: in steps of 0.1%
])
def test_rebalance_keeps_what_was_typed_and_sums_to_one(shares, typed, expected):
    out = rebalance(shares, typed)
    assert out == pytest.approx(expected, abs=1e-12)
    assert round(sum(out.values()) * 1000) == 1000 and all(round(v * 1000) == v * 1000 for v in out.values())


def test_a_list_table_applies_edits_deletions_and_additions():
    state = {"edited_rows": {"1": {"item": " ref "}}, "deleted_rows": [0], "added_rows": [{"item": "gclid"}, {"item": ""}]}
    assert edited_list(["utm_source", "utm_medium", "gclid"], state) == ["ref", "gclid"]
    assert edited_list(["a"], None) == ["a"]


def expected_url_notes(lang: str) -> list[str]:
    with words.speaking(lang):
        return [
            t("sidebar.url_preset", kept=knob_words.preset("eu_shop")),
            t("sidebar.url_choice", field=knob_words.label("consent.banner"), kept=knob_words.option("reject_first_layer")),
            t("sidebar.url_range", field=knob_words.label("consent.decision_share"), low=words.pct(0), high=words.pct(1),
              kept=words.pct(0.5)),
            t("sidebar.url_on_off", field=knob_words.label("rails.server_side_proxy"), kept=knob_words.option("off")),
            t("sidebar.url_mix_scaled", field=knob_words.label("traffic.region_mix"), total=words.pct(1.01, 1)),
        ]


@pytest.mark.parametrize(("lang", "other"), [("en", "de"), ("de", "en")])
def test_each_bad_url_value_gets_one_short_sentence_in_the_session_language(lang, other):
    long = "<b>" + "x" * 500
    at = app({"preset": "nope", "consent.banner": long, "consent.decision_share": "1.5", "rails.server_side_proxy": "maybe",
              "traffic.region_mix.eea": "0.71"}, lang=lang)
    notes = [w.value for w in at.sidebar.warning]
    assert notes == expected_url_notes(lang)
    assert not [n for n in notes if "xxxxx" in n or "<b>" in n or "Input should" in n or len(n) > 160]
    scenario = at.session_state["scenario"]
    assert (scenario.consent.banner, scenario.consent.decision_share, scenario.rails.server_side_proxy) == ("reject_first_layer", 0.5, False)
    assert sum(scenario.traffic.region_mix.weights().values()) == pytest.approx(1)  # scaled to 100% in the sidebar
    assert "consent.banner" not in params(at) and "preset" not in params(at)
    at.sidebar.segmented_control(key="lang.switch").set_value(other).run()
    assert [w.value for w in at.sidebar.warning] == expected_url_notes(other)  # the notes follow the language
    assert at.session_state["scenario"] == scenario


def test_a_preset_switch_says_what_it_is_doing():
    at = app()
    at.sidebar.selectbox(key=PRESET_KEY).set_value("us_shop").run()
    assert not at.exception
    scenario = at.session_state["scenario"]
    assert scenario.consent.banner == "no_banner" and params(at)["preset"] == "us_shop"
    status = at.sidebar.status
    assert len(status) == 1
    assert status[0].label == t("sidebar.switched", preset=knob_words.preset("us_shop"),
                                visitors=words.num(scenario.traffic.visitors), days=words.num(scenario.traffic.days))
    assert [m.value for m in status[0].markdown] == [
        t("sidebar.switching_traffic", visitors=words.num(scenario.traffic.visitors), days=words.num(scenario.traffic.days)),
        t("sidebar.switching_rails")]
    at.sidebar.selectbox(key="consent.banner").set_value("no_reject").run()
    assert not at.sidebar.status  # only on the run that switched


def test_german_help_comes_from_the_catalogue_and_falls_back_to_the_description(monkeypatch):
    real = words.catalogue

    def with_one_german_help(language: str = words.DEFAULT) -> dict[str, str]:
        out = dict(real(language))
        if language == "de":
            out["scenario.consent.banner"] = "Gestaltung des Einwilligungsbanners."
            out.pop("scenario.consent.mode", None)
        return out

    monkeypatch.setattr(words, "catalogue", with_one_german_help)
    with words.speaking("de"):
        assert knob_words.help_text("consent.banner") == "Gestaltung des Einwilligungsbanners."
        assert knob_words.help_text("consent.mode") == DESCRIPTIONS["consent.mode"]  # not translated yet: English
    assert knob_words.help_text("consent.banner") == DESCRIPTIONS["consent.banner"]
    assert knob_words.help_text("traffic.region_mix") == t("sidebar.help.traffic.region_mix")  # a mix: the catalogue's
