"""The full stack's sampling tier: per browser (whole journeys), deterministic, nested across tiers,
near the tier's share, and scaled back without bias, with a standard error that matches the spread."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from engine import metrics, pipeline, rails
from engine.scenario import Scenario, apply_overrides
from simulators.run import build_run


def tier(scenario: Scenario, percent: int) -> Scenario:
    return apply_overrides(scenario, {"rails.fullstack_sampling": percent})


def visitors_of(tables: dict[str, pl.DataFrame], truth: pl.DataFrame) -> pl.DataFrame:
    """The truth visitor behind each full-stack row (rows carry no visitor id; their event ids do)."""
    return tables["fullstack_events"].select("event_id").join(truth.select("event_id", "visitor_id"), on="event_id", how="left")


@pytest.fixture(scope="module")
def tiers(base_scenario, base_traffic, base_tables):
    return {100: base_tables, **{p: build_run(tier(base_scenario, p), base_traffic) for p in (80, 50)}}


def test_default_tier_keeps_every_browser_and_records_rate_one(base_tables):
    assert base_tables["fullstack_events"]["sample_rate"].unique().to_list() == [1.0]


def test_sampling_is_deterministic_and_nested(base_scenario, base_traffic, tiers):
    truth = base_traffic.events
    again = build_run(tier(base_scenario, 80), base_traffic)
    assert again["fullstack_events"].equals(tiers[80]["fullstack_events"])
    kept = {p: set(visitors_of(t, truth)["visitor_id"].to_list()) for p, t in tiers.items()}
    # A browser's place in the sampling order is fixed: whoever is kept at 50 % is kept at 80 %.
    assert kept[50] < kept[80] < kept[100]
    for p in (80, 50):
        assert tiers[p]["fullstack_events"]["sample_rate"].unique().to_list() == [p / 100]


@pytest.mark.parametrize("percent", [80, 50])
def test_kept_share_is_within_binomial_bounds(tiers, base_traffic, percent):
    truth = base_traffic.events
    n = visitors_of(tiers[100], truth)["visitor_id"].n_unique()
    k = visitors_of(tiers[percent], truth)["visitor_id"].n_unique()
    p = percent / 100
    assert abs(k - n * p) < 4 * math.sqrt(n * p * (1 - p)), (k, n)


@pytest.mark.parametrize("percent", [80, 50])
def test_whole_journeys_are_kept_or_dropped(tiers, base_traffic, percent):
    truth = base_traffic.events
    full = visitors_of(tiers[100], truth).group_by("visitor_id").agg(all_rows=pl.len())
    part = visitors_of(tiers[percent], truth).group_by("visitor_id").agg(kept_rows=pl.len())
    j = part.join(full, on="visitor_id", how="left")
    assert j.height > 100
    assert (j["kept_rows"] == j["all_rows"]).all()
    # The rows a kept browser sends are exactly those of the unsampled run.
    kept = tiers[100]["fullstack_events"].join(tiers[percent]["fullstack_events"].select("event_id"), on="event_id", how="semi")
    assert kept.drop("sample_rate").sort("event_id").equals(tiers[percent]["fullstack_events"].drop("sample_rate").sort("event_id"))


def test_scaled_counts_are_unbiased_and_their_error_matches_the_spread(base_scenario, base_traffic, base_tables, monkeypatch):
    """Over many sampling salts (each a fresh random sample of browsers), the scaled counts average to
    the unsampled ones, and the Horvitz-Thompson standard error matches their spread."""
    hits = pipeline.browser_hits(base_scenario, base_traffic)
    rate = 0.5
    full = base_tables["fullstack_events"]
    scenario = tier(base_scenario, 50)
    values: dict[str, list[float]] = {"visitors": [], "page_views": [], "conversions": []}
    ses: dict[str, list[float]] = {m: [] for m in values}
    for salt in range(40):
        monkeypatch.setattr(rails, "SAMPLING_SALT", f"test-{salt}")
        inside = hits.filter(rails.sampling_position(hits) < rate).select("event_id")
        sampled = {**base_tables, "fullstack_events": full.join(inside, on="event_id", how="semi").with_columns(sample_rate=pl.lit(rate))}
        k = metrics.kpis(sampled, scenario).filter(pl.col("rail") == "fullstack")
        got = dict(zip(k["metric"], k["value"], strict=True))
        err = metrics.sampling_error(sampled, scenario)
        se = dict(zip(err["metric"], err["se"], strict=True))
        for m in values:
            values[m].append(got[m])
            ses[m].append(se[m])
    unsampled = metrics.kpis(base_tables, base_scenario).filter(pl.col("rail") == "fullstack")
    want = dict(zip(unsampled["metric"], unsampled["value"], strict=True))
    for m, v in values.items():
        arr = np.array(v)
        spread = arr.std(ddof=1)
        assert abs(arr.mean() - want[m]) < 4 * spread / math.sqrt(len(arr)), (m, arr.mean(), want[m])
        assert 0.6 < np.mean(ses[m]) / spread < 1.6, (m, np.mean(ses[m]), spread)


def test_no_sampling_error_at_full_tier(base_scenario, base_tables):
    err = metrics.sampling_error(base_tables, base_scenario)
    assert (err["se"] == 0).all() and (err["value"] == err["observed"]).all()


def test_a_run_mixing_tiers_is_refused(base_tables):
    fs = base_tables["fullstack_events"]
    mixed = {**base_tables, "fullstack_events": fs.with_columns(sample_rate=pl.when(pl.int_range(pl.len()) % 2 == 0).then(1.0).otherwise(0.5))}
    with pytest.raises(ValueError, match="mixes sampling rates"):
        metrics.sample_rate(mixed)


def test_unknown_tier_is_refused(base_scenario):
    from engine.scenario import ScenarioError

    with pytest.raises(ScenarioError, match=r"rails\.fullstack_sampling"):
        tier(base_scenario, 70)


def test_waterfall_and_observed_conversions_are_scaled_back(base_scenario, tiers):
    s50 = tier(base_scenario, 50)
    t = tiers[50]
    seen = t["fullstack_events"].filter(~pl.col("is_ping"))
    wf = metrics.waterfall(t, s50)
    assert wf["running"][-1] == round(seen["device_id"].n_unique() / 0.5)
    assert metrics.modelled_conversions(t, s50)["observed"] == round(int((seen["event"] == "purchase").sum()) / 0.5)


def test_funnel_counts_of_a_sampled_full_stack_are_scaled_back(base_scenario, tiers):
    """The Funnels page shows users per step per rail: a 50 % full stack's users are scaled back like
    every other count, so they land near the unsampled run's (not at half), and its rates stay rates."""
    from engine.consent_impact import funnel_breakdown
    from engine.funnel import rail_funnels

    steps = ["page_view", "view_item"]
    full = rail_funnels(tiers[100], steps, 3600).filter(pl.col("rail") == "fullstack")
    half = rail_funnels(tiers[50], steps, 3600).filter(pl.col("rail") == "fullstack")
    raw = half["users"].to_list()
    assert full["users"][0] > 200
    for a, b in zip(full["users"], half["users"], strict=True):
        assert abs(b - a) / a < 0.15  # unscaled, b would be about a / 2
    assert half["conversion_from_start"][1] == pytest.approx(raw[1] / raw[0], rel=1e-2)
    assert half["drop_off"][1] == half["users"][0] - half["users"][1]
    by = funnel_breakdown(tiers[50], steps, 3600).filter(pl.col("rail") == "fullstack", pl.col("dimension") == "device")
    assert by.filter(pl.col("step") == 1)["users"].sum() == pytest.approx(half["users"][0], abs=len(by))


def test_attribution_totals_of_a_sampled_full_stack_are_scaled_back(base_scenario, tiers):
    """The Attribution page's "value to share out" and conversions per rail: a 50 % full stack's are
    scaled back (near the unsampled run's, not at half); each channel's share is unchanged by it."""
    from engine import attribution

    def per_rail(tables):
        t = attribution.credit_by_rail(tables, base_scenario.site.kind, "linear")
        return t, {r: (c, n) for r, c, n in t.group_by("rail").agg(pl.col("credit").sum(), pl.col("conversions").first()).iter_rows()}

    _, full = per_rail(tiers[100])
    t50, half = per_rail(tiers[50])
    (c100, n100), (c50, n50) = full["fullstack"], half["fullstack"]
    assert n100 > 50
    assert abs(c50 - c100) / c100 < 0.25 and abs(n50 - n100) / n100 < 0.25  # unscaled, both would be about half
    assert half["truth"][0] == pytest.approx(full["truth"][0], rel=1e-12) and half["truth"][1] == full["truth"][1]  # sums in any order
    shares = t50.filter(pl.col("rail") == "fullstack")
    assert shares["share"].sum() == pytest.approx(1.0)
    assert (shares["credit"] / c50).to_list() == pytest.approx(shares["share"].to_list())
