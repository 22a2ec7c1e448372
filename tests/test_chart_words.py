"""Chart specs speak to people in both languages: every title, axis title, legend label and axis label
is a word from the catalogue (codes mapped before charting or named by a label expression), numbers
follow the language (Vega's locale), and the chart defects of issue 11 stay fixed."""

from __future__ import annotations

import colorsys
import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import altair as alt
import polars as pl
import pytest
from conftest import small

from ui import words
from ui.charts import (
    attribution,
    consent_impact,
    copy_tests,
    data_quality,
    data_rights,
    funnels,
    identity,
    overview,
    privacy,
    theme,
)
from ui.charts import dashboard as dashboard_charts
from ui.charts import live as live_charts
from ui.services import attribution as attribution_data
from ui.services import consent_impact as consent_data
from ui.services import data_quality as quality_data
from ui.services import funnels as funnel_data
from ui.services import identity as identity_data
from ui.services import overview as overview_data
from ui.services import privacy as privacy_data
from ui.services import simulation

SNAKE = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")
SHOWN = ("x", "y", "color", "fill", "stroke", "strokeDash", "shape", "text", "tooltip", "row", "column", "facet")
PAIR = re.compile(r"datum\.label == '((?:[^'\\]|\\.)*)' \? '((?:[^'\\]|\\.)*)'")


@pytest.fixture(scope="module")
def scenario():
    return small({"traffic.visitors": 1500, "traffic.days": 7})


def _charts(scenario) -> Iterator[tuple[str, alt.TopLevelMixin]]:
    """Every chart builder of the pages, fed the data its page feeds it (a small run)."""
    kpi = simulation.kpi_table(scenario)
    yield "overview.rail_counts", overview.rail_counts.build(kpi, kpi)
    yield "overview.waterfall", overview.waterfall.build(overview_data.waterfall(scenario))
    rates = consent_data.banner_rates(scenario)
    yield "consent.stacked_shares", consent_impact.stacked_shares.build(rates, "banner", words.t("consent_impact.banner_axis"))
    for by in ("region", "device", "privacy_attitude"):
        yield f"consent.by_{by}", consent_impact.stacked_shares.build(consent_data.rates_by(scenario, by), by,
                                                                                words.t(f"consent_impact.trait_{by}"))
    yield "consent.accept_vs_published", consent_impact.accept_vs_published.build(rates)
    yield "consent.banner_comparison", consent_impact.banner_comparison.build(
        consent_data.compare_banners(scenario, "reject_first_layer", "no_reject"), "reject_first_layer", "no_reject")
    yield "consent.mode_conversions", consent_impact.mode_conversions.build(consent_data.consent_mode_summary(scenario))
    daily, verdict = consent_data.ga4(scenario)
    yield "consent.ga4_days", consent_impact.ga4_days.build(daily, _thresholds(), verdict["days"])
    yield "consent.bias", consent_impact.consent_bias.build(consent_data.bias(scenario))
    steps = ["page_view", "view_item", "add_to_cart", "begin_checkout", "purchase"]
    table, _ = funnel_data.funnel(scenario, tuple(steps), 3600)
    yield "funnels.users_per_step", funnels.users_per_step.build(table, steps, table)
    yield "funnels.drop_off", funnels.drop_off.build(table, steps)
    last = funnel_data.funnel_breakdown(scenario, tuple(steps), 3600).filter(pl.col("step") == len(steps))
    for dim in ("device", "region", "consent_choice"):
        yield f"funnels.breakdown_{dim}", funnels.breakdown.build(last.filter(pl.col("dimension") == dim), words.t(f"funnels.tab_{dim}"),
                                                                          steps[-1])
    credit, _ = attribution_data.credit(scenario, "last_touch")
    yield "attribution.shares", attribution.shares.build(credit)
    yield "attribution.errors", attribution.errors.build(credit)
    rep = quality_data.report(scenario)
    yield "quality.capture", data_quality.capture.build(rep.capture)
    yield "quality.delay", data_quality.timing.build(rep.timing, "delay")
    yield "quality.skew", data_quality.timing.build(rep.timing, "clock skew")
    yield "quality.missing", data_quality.missing.build(rep.missing)
    fp = privacy_data.fingerprints(scenario)
    yield "privacy.entropy", privacy.entropy_chart.build(fp["entropy"])
    yield "privacy.histogram", privacy.histogram_chart.build(fp["histogram"])
    k_table, masking = privacy_data.quasi_identifiers(scenario)
    yield "privacy.k", privacy.k_chart.build(k_table)
    yield "privacy.steps", privacy.steps_chart.build(masking)
    yield "privacy.link", privacy.link_chart.build(privacy_data.linkability(scenario))
    yield "identity.scores", identity.precision_recall_chart.build(identity_data.scores(scenario, True))
    yield "identity.cross_device", identity.cross_device_chart.build(identity_data.cross_device(scenario, True))
    arms = ("add_to_basket", "save_today", "customer_favourite")
    p_best = pl.DataFrame({"arm": list(arms) * 3, "rail": [r for r in ("truth", "fullstack", "baseline") for _ in arms],
                           "p_best": [0.2, 0.5, 0.3] * 3, "crowned": [0.1, 0.6, 0.3] * 3})
    yield "copy.p_best", copy_tests.p_best_chart.build(p_best, arms)
    curves = pl.DataFrame({"round": [1, 2] * 2, "policy": ["uniform"] * 2 + ["epsilon_greedy"] * 2, "mean": [0.0, 1.0, 0.0, 0.5],
                           "low": [0.0, 0.5, 0.0, 0.2], "high": [0.0, 1.5, 0.0, 0.8]})
    yield "copy.regret", copy_tests.regret_chart.build(curves, "policy", copy_tests.policy_colour(["uniform", "epsilon_greedy"]))
    alloc = pl.DataFrame({"round": [1, 1, 1], "arm": list(arms), "share": [0.3, 0.3, 0.4], "policy": ["thompson"] * 3})
    yield "copy.allocation", copy_tests.allocation_chart.build(alloc, arms, copy_tests.policy_name("thompson"))
    series = pl.DataFrame({"day": [dt.date(2026, 11, 2), dt.date(2026, 11, 3)] * 2, "rail": ["truth"] * 2 + ["fullstack"] * 2,
                           "value": [20_000, 21_000, 9_000, 9_500]})
    yield "dashboard.traffic", dashboard_charts.traffic.build(series, ("truth", "fullstack"), words.t("charts.metric_visitors"))
    rows = pl.DataFrame({"device_class": ["desktop", "mobile"], "fullstack": [10, 20], "truth": [30, 40],
                         "fullstack_error_pct": [-60.0, -50.0]})
    yield "dashboard.ranked", dashboard_charts.ranked.build(rows, "device_class", "fullstack", words.t("charts.metric_visitors"), True)


def _thresholds() -> dict[str, Any]:
    from engine import datasets

    return datasets.calibration()["consent_mode"]["ga4_modelling_thresholds"]


def _units(spec: dict) -> Iterator[dict]:
    yield spec
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for sub in spec.get(key, []):
            yield from _units(sub)
    if "spec" in spec:
        yield from _units(spec["spec"])


def _shown_values(values: list[Any], guide: dict | None) -> list[str]:
    """What an axis or legend shows for these data values: through its label expression, if any."""
    expr = (guide or {}).get("labelExpr")
    out = []
    for v in {str(v) for v in values if v is not None}:
        if expr == theme.WRAPPED:
            out.append(v.replace("|", " "))
        elif expr and "datum.label ==" in expr:
            mapping = {k.replace("\\'", "'"): n.replace("\\'", "'") for k, n in PAIR.findall(expr)}
            out.append(mapping.get(v, v))
        else:
            out.append(v)
    return out


def texts(chart: alt.TopLevelMixin) -> list[str]:
    """Titles (chart, axes, legends, tooltips) and the labels a chart shows for its nominal fields."""
    spec = theme.themed(chart).to_dict()
    datasets = spec.get("datasets", {})
    found: list[str] = []

    def titles(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "title" and isinstance(v, str):
                    found.append(v)
                elif k == "title" and isinstance(v, dict) and isinstance(v.get("text"), str):
                    found.append(v["text"])
                elif k not in ("datasets", "config"):
                    titles(v)
        elif isinstance(node, list):
            for v in node:
                titles(v)

    titles(spec)
    for unit in _units(spec):
        rows = datasets.get((unit.get("data") or spec.get("data") or {}).get("name", ""), [])
        for channel, enc in (unit.get("encoding") or {}).items():
            if channel not in SHOWN:
                continue
            for e in enc if isinstance(enc, list) else [enc]:
                if not isinstance(e, dict) or e.get("type") not in ("nominal", "ordinal") or "field" not in e:
                    continue
                if e.get("legend", {}) is None or e.get("axis", {}) is None:
                    continue
                found += _shown_values([r.get(e["field"]) for r in rows], e.get("axis") or e.get("legend"))
    return found


@pytest.mark.parametrize("lang", ["en", "de"])
def test_chart_texts_are_words_not_codes(scenario, lang):
    with words.speaking(lang):
        seen = {name: texts(chart) for name, chart in _charts(scenario)}
    bad = {name: sorted({s for s in shown if SNAKE.search(s)}) for name, shown in seen.items()}
    assert not {n: b for n, b in bad.items() if b}, bad
    everything = {s for shown in seen.values() for s in shown}
    with words.speaking(lang):
        # The rails, events and policies are named as the catalogue names them, in this language.
        assert {theme.rail_label("fullstack"), theme.value_name("add_to_cart"), copy_tests.policy_name("epsilon_greedy")} <= everything
    assert all(len(shown) > 0 for shown in seen.values()), [n for n, s in seen.items() if not s]


def test_heights_are_pixels_not_steps(scenario):
    """A discrete (Step) height made Vega-Lite drop the container fit ("Dropping fit-y" in the console)."""
    for name, chart in _charts(scenario):
        for unit in _units(theme.themed(chart).to_dict()):
            assert not isinstance(unit.get("height"), dict), name


def test_theme_speaks_the_session_language():
    with words.speaking("de"):
        de = theme.config()
    with words.speaking("en"):
        en = theme.config()
    assert (de["locale"]["number"]["decimal"], de["locale"]["number"]["thousands"]) == (",", ".")
    assert (en["locale"]["number"]["decimal"], en["locale"]["number"]["thousands"]) == (".", ",")
    assert "März" in de["locale"]["time"]["months"] and "March" in en["locale"]["time"]["months"]
    for cfg in (de, en):  # grouped thousands, never "2e+16" or "20k"
        assert cfg["numberFormat"].startswith(",") and not cfg["numberFormat"].endswith(("e", "s", "r"))
        assert cfg["axis"]["labelAngle"] == 0
    # The spec a session gets carries its language's locale.
    chart = alt.Chart(pl.DataFrame({"a": ["x"], "b": [20_000]})).mark_bar().encode(x="b:Q", y="a:N")
    with words.speaking("de"):
        assert theme.themed(chart).to_dict()["config"]["locale"]["number"]["thousands"] == "."


def test_rail_names_follow_the_language():
    with words.speaking("de"):
        de = dict(theme.LABELS)
    assert de == {r: words.catalogue("de").get(f"charts.rail_{r}") or words.catalogue()[f"charts.rail_{r}"] for r in theme.RAILS}
    assert theme.LABELS.get("nope") is None


def _hue(colour: str) -> float:
    r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hls(r, g, b)[0] * 360


def test_banner_a_and_b_have_clearly_different_colours(scenario):
    cmp = consent_data.compare_banners(scenario, "reject_first_layer", "no_reject")
    spec = consent_impact.banner_comparison.build(cmp, "reject_first_layer", "no_reject").to_dict()
    scale = next(u["encoding"]["color"]["scale"] for u in _units(spec) if "color" in u.get("encoding", {}))
    a, b = scale["range"]
    gap = abs(_hue(a) - _hue(b))
    assert min(gap, 360 - gap) > 60, (a, b)


def test_ga4_daily_chart_has_no_partial_last_day(scenario):
    daily, verdict = consent_data.ga4(scenario)
    whole = daily.filter(pl.col("date") < scenario.traffic.start_date + dt.timedelta(days=scenario.traffic.days))
    # Sessions that spill past the last midnight make a partial day: a few events, a few users.
    spill = pl.DataFrame({"date": [whole["date"].max() + dt.timedelta(days=1)], "denied_events": [3], "granted_users": [1]},
                         schema=daily.schema)
    daily = pl.concat([whole, spill])
    shown = _dates(consent_impact.ga4_days.build(daily, _thresholds(), verdict["days"]))
    assert len(shown) == scenario.traffic.days and max(shown) == str(scenario.traffic.start_date + dt.timedelta(days=scenario.traffic.days - 1))
    # Without the run's length (an older call site): the last day, far below the others, is left out too.
    assert _dates(consent_impact.ga4_days.build(daily, _thresholds())) == shown
    # A last day as busy as the others is a whole day and stays.
    assert consent_impact.whole_days(whole).height == whole.height


def _dates(chart: alt.TopLevelMixin) -> set[str]:
    spec = chart.to_dict()
    rows = [r for u in _units(spec) if "date" in str(u.get("encoding", {}).get("x", {}))
            for r in spec["datasets"][u.get("data", spec.get("data", {})).get("name", "")]]
    return {str(r["date"])[:10] for r in rows}


def test_waterfall_last_bar_is_the_full_stack_blue_every_bar_says_its_number(scenario):
    wf = overview_data.waterfall(scenario)
    spec = overview.waterfall.build(wf).to_dict()
    bars, text = spec["layer"]
    rows = spec["datasets"][bars.get("data", spec.get("data", {}))["name"]] if "data" in bars else spec["datasets"][spec["data"]["name"]]
    scale = bars["encoding"]["color"]["scale"]
    colour = dict(zip(scale["domain"], scale["range"], strict=True))
    assert colour[rows[-1]["kind"]] == theme.COLOURS["fullstack"] and colour[rows[0]["kind"]] == theme.COLOURS["truth"]
    assert all(colour[r["kind"]] == theme.LOSS for r in rows if r["change"] < 0 and r["kind"] == "loss")
    assert len({r["kind"] for r in rows}) == len({colour[r["kind"]] for r in rows})  # no two kinds share a colour
    # Every bar carries its number; a sliver of a step is still outlined in its colour.
    assert text["mark"]["type"] == "text" and all(r["text"] for r in rows)
    assert bars["mark"]["strokeWidth"] >= 2 and bars["encoding"]["stroke"]["scale"] == scale
    # The numbers in the reader's format (made in this thread: polars' map_elements lost the session's language).
    with words.speaking("de"):
        de = overview.waterfall.build(wf).to_dict()
        first = de["datasets"][de["data"]["name"]][0]
        assert first["text"] == words.num(first["running"]) and "." in first["text"]
    # Labels are whole words on at most a few lines, never cut by the axis.
    assert all(max(len(part) for part in r["label"].split("|")) <= 24 for r in rows)


def test_funnel_breakdown_legend_lists_only_rails_with_bars():
    part = pl.DataFrame({"rail": ["truth", "fullstack"] * 2, "value": ["desktop", "desktop", "mobile", "mobile"],
                         "users": [10, 4, 8, 3], "conversion_from_start": [0.1, 0.04, 0.08, 0.03]})
    spec = funnels.breakdown.build(part, "Device", "purchase").to_dict()
    assert spec["encoding"]["color"]["scale"]["domain"] == ["truth", "fullstack"]


def test_funnel_truth_line_drawn_dashed_on_top(scenario):
    steps = ["page_view", "view_item", "purchase"]
    table, _ = funnel_data.funnel(scenario, tuple(steps), 3600)
    spec = funnels.drop_off.build(table, steps).to_dict()
    top = spec["layer"][-1]
    assert top["mark"].get("strokeDash")
    assert {r["rail"] for r in spec["datasets"][top["data"]["name"]]} == {"truth"}


def test_live_tally_speaks_the_language():
    from engine import telemetry

    tally = telemetry.tally(pl.DataFrame({"request": ["collect"], "status": ["blocked"]}))
    with words.speaking("de"):
        spec = live_charts.tally_spec(tally)
        german = {live_charts.status_name(s) for s in telemetry.STATUSES}
    assert spec["config"]["locale"]["number"]["decimal"] == ","
    labels = set(spec["datasets"]["tally"]["status_label"].to_list())
    assert labels == german and not any(SNAKE.search(s) for s in labels)
    assert german != {live_charts.status_name(s) for s in telemetry.STATUSES}  # in German, not the English names


def test_retention_chart_fits_its_column():
    report = pl.DataFrame({"table": ["visitors", "fullstack_events"], "level": [3, 1], "level_name": ["HIGH", "LOW"],
                           "rows": [10, 20], "kept": [4, 20], "expired": [6, 0]})
    spec = data_rights.retention.build(report).to_dict()
    assert spec["width"] == "container" and spec["encoding"]["color"]["legend"]["orient"] == "bottom"
