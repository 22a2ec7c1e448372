"""Cached data for the Consent impact page.

The runs behind it come from ui/services/simulation.py, so a variant scenario (another banner or
Consent Mode) is computed once and shared between sessions and pages.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from engine import consent_impact, datasets, pipeline
from engine.scenario import Scenario, apply_overrides
from ui.cache import cached
from ui.services import simulation

ENTRIES = 64


@cached("data", max_entries=ENTRIES)
def _banner_rates(scenario: Scenario) -> pl.DataFrame:
    t = simulation.traffic(scenario)
    return consent_impact.rates_by_banner(t, scenario.consent)


def banner_rates(scenario: Scenario) -> pl.DataFrame:
    """Consent rates of every banner design on this scenario's visitors."""
    # Neither the current banner nor the Consent Mode changes this table: one cache entry for all.
    return _banner_rates(apply_overrides(scenario, {"consent.banner": "no_banner", "consent.mode": "advanced"}))


@cached("data", max_entries=ENTRIES)
def rates_by(scenario: Scenario, by: str) -> pl.DataFrame:
    """Consent rates of the current banner by a visitor trait (region, device, privacy_attitude)."""
    t = simulation.traffic(scenario)
    return consent_impact.consent_rates(pipeline.decisions(t, scenario.consent), t.visitors, by)


def with_banner(scenario: Scenario, banner: str) -> Scenario:
    return apply_overrides(scenario, {"consent.banner": banner})


@cached("data", max_entries=ENTRIES)
def compare_banners(scenario: Scenario, banner_a: str, banner_b: str) -> pl.DataFrame:
    """Full-stack KPIs of two banner designs on the same visitors, next to the truth."""
    return consent_impact.fullstack_comparison(simulation.kpi_table(with_banner(scenario, banner_a)),
                                               simulation.kpi_table(with_banner(scenario, banner_b)))


def _mode_runs(scenario: Scenario) -> dict[str, dict[str, pl.DataFrame]]:
    return {m: simulation.run(apply_overrides(scenario, {"consent.mode": m})) for m in ("basic", "advanced")}


@cached("data", max_entries=ENTRIES)
def consent_mode_summary(scenario: Scenario) -> pl.DataFrame:
    return consent_impact.consent_mode_summary(_mode_runs(scenario), scenario)


@cached("data", max_entries=ENTRIES)
def ga4(scenario: Scenario) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Per-day denied events and granted users in advanced mode, and GA4's verdict on them."""
    daily = consent_impact.ga4_daily(simulation.run(apply_overrides(scenario, {"consent.mode": "advanced"}))["fullstack_events"])
    thresholds = datasets.calibration()["consent_mode"]["ga4_modelling_thresholds"]
    traffic = scenario.traffic
    return daily, consent_impact.ga4_verdict(daily, thresholds, traffic.visitors / traffic.days, traffic.days)


@cached("data", max_entries=ENTRIES)
def bias(scenario: Scenario) -> pl.DataFrame:
    tables = simulation.run(scenario)
    return consent_impact.conversion_by_consent(tables["visitors"], tables["truth_events"],
                                                datasets.site(scenario.site.kind)["conversion_event"])
