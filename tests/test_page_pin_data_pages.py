"""Issue 10's pin on the data pages: with a scenario pinned, the headline numbers of Data quality, Identity,
Privacy leaks and Profiles show their change against it (same visitors, cached services), and their charts draw
the pinned values faintly beside the current ones; without a pin none."""

from __future__ import annotations

import pytest
from apptest_helpers import chart_specs, pinned_page
from conftest import SMALL, small
from streamlit.testing.v1 import AppTest

from engine.scenario import apply_overrides
from ui import pin
from ui.services import data_quality, identity, profiles
from ui.words import signed, t

CHANGE = {"consent.banner": "no_reject", "consent.mode": "basic"}
CURRENT = {**SMALL, **CHANGE}


def _open(page: str, pinned: bool = True) -> AppTest:
    """The page on the small scenario without a Reject button and in Consent Mode basic, the default scenario pinned."""
    at = AppTest.from_file("../app.py", default_timeout=120)
    for key, value in CURRENT.items():
        at.query_params[key] = str(value)
    if pinned:
        at.query_params["pin"] = pin.encode("eu_shop", small())
    at.run()
    at.switch_page(page).run()
    assert not at.exception
    assert at.session_state["scenario"] == apply_overrides(small(), CHANGE)
    return at


def _points(after: float, before: float, digits: int = 1) -> str:
    return t("compare.points_vs_pinned", change=signed(round(100 * (after - before), digits), digits))


def _metric(at: AppTest, label: str):
    return next(m for m in at.metric if m.label == label)


def test_data_quality_headline_moves_against_the_pin():
    at = _open("app_pages/data_quality.py")
    rep_now, rep_pinned = data_quality.report(at.session_state["scenario"]), data_quality.report(small())

    def pv(rep, rail):
        return rep.capture.filter(rail=rail, event="page_view")["capture_rate"][0]

    full = _metric(at, t("data_quality.metric_fullstack_pv"))
    # Consent Mode basic sends no cookieless pings: the full stack records fewer page views than pinned.
    assert pv(rep_now, "fullstack") < pv(rep_pinned, "fullstack")
    assert full.proto.delta == _points(pv(rep_now, "fullstack"), pv(rep_pinned, "fullstack"))
    assert _metric(at, t("data_quality.metric_baseline_pv")).proto.delta == _points(1.0, 1.0)  # the baseline logs every page view
    assert all(m.proto.delta.endswith(t("compare.points_vs_pinned", change="").strip()) for m in at.metric[:4])


def test_identity_pairs_move_against_the_pin_and_vanish_without_one():
    at = _open("app_pages/identity.py")
    now = {r["method"]: r for r in identity.scores(at.session_state["scenario"], True).iter_rows(named=True)}
    then = {r["method"]: r for r in identity.scores(small(), True).iter_rows(named=True)}
    for method in ("login", "daily_hash"):
        m = _metric(at, t(f"identity.method_{method}"))
        expected = t("compare.pair_vs_pinned", precision=signed(round(100 * (now[method]["precision"] - then[method]["precision"]), 1), 1),
                     recall=signed(round(100 * ((now[method]["recall"] or 0) - (then[method]["recall"] or 0)), 1), 1))
        assert m.proto.delta == expected
    # more consent, more sessions the login joins
    assert now["login"]["share_identified"] > then["login"]["share_identified"]
    unpinned = _open("app_pages/identity.py", pinned=False)
    assert not any(m.proto.delta for m in unpinned.metric)


@pytest.mark.slow
def test_profiles_metrics_move_against_the_pin():
    at = _open("app_pages/profiles.py")
    now = {r["setting"]: r for r in profiles.profiling(at.session_state["scenario"])["summary"].iter_rows(named=True)}
    then = {r["setting"]: r for r in profiles.profiling(small())["summary"].iter_rows(named=True)}
    m = _metric(at, t("profiles.m_profiled"))
    assert m.proto.delta == _points(now["fullstack"]["share_profiled"], then["fullstack"]["share_profiled"], 0)


def _pinned_layers(at: AppTest) -> list[dict]:
    """The faint layers of the page's charts that draw the pinned scenario (their tooltip says so)."""
    title = t("charts.scenario_pinned")
    return [layer for spec in chart_specs(at) for layer in spec.get("layer", [])
            if isinstance(layer.get("mark"), dict) and layer["mark"].get("opacity", 1) < 1
            and any(tip.get("title") == title for tip in layer.get("encoding", {}).get("tooltip", []))]


def _pinned_fields(at: AppTest) -> list[str]:
    """The measures the pinned layers draw (their quantitative axis)."""
    return sorted(next(e["field"] for e in (layer["encoding"]["x"], layer["encoding"]["y"]) if e["type"] == "quantitative")
                  for layer in _pinned_layers(at))


def test_data_quality_charts_draw_the_pin_faintly():
    assert _pinned_fields(pinned_page("app_pages/data_quality.py")) == ["capture_rate", "missing_rate"]
    assert not _pinned_layers(_open("app_pages/data_quality.py", pinned=False))


def test_identity_chart_draws_the_pin_faintly():
    assert _pinned_fields(pinned_page("app_pages/identity.py")) == ["value"]


def test_privacy_charts_draw_the_pin_faintly():
    assert _pinned_fields(pinned_page("app_pages/privacy.py")) == ["share_below_k", "share_linked"]


@pytest.mark.slow
def test_profiles_chart_draws_the_pin_faintly():
    layers = _pinned_layers(pinned_page("app_pages/profiles.py"))
    assert [layer["mark"]["type"] for layer in layers] == ["point"]
    assert layers[0]["encoding"]["x"]["field"] == "accuracy"
