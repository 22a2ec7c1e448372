"""Cached helpers (and two small chart builders) for the Consent impact and Funnels pages.

Same pattern as ui/data.py: keyed by the scenario's canonical JSON plus small arguments, bounded
by entries and time, never hashing a big frame. The runs behind them come from ui/data.py, so a
variant scenario (another banner or Consent Mode) is computed once and shared between sessions.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import polars as pl
import streamlit as st

from engine import consent_impact as ci
from engine import datasets
from engine.consent import decide
from engine.funnel import rail_funnels
from engine.scenario import Scenario, apply_overrides
from ui.services import simulation as data

_CACHE: dict[str, Any] = {"max_entries": 64, "ttl": 3600, "show_spinner": False}
CHOICE_COLOURS = {"accept_all": "#2e7d32", "custom": "#9ccc65", "reject_all": "#c62828", "gpc": "#6a1b9a",
                  "ignored": "#9e9e9e", "no_banner": "#5d4037"}


def _s(scenario_json: str) -> Scenario:
    return Scenario.model_validate_json(scenario_json)


calibration_note = datasets.source_note


@st.cache_data(**_CACHE)
def _banner_rates(scenario_json: str) -> pl.DataFrame:
    s = _s(scenario_json)
    t = data.traffic(s)
    return ci.rates_by_banner(t.visitors, t.draws, s.consent)


def banner_rates(scenario: Scenario) -> pl.DataFrame:
    """Consent rates of every banner design on this scenario's visitors."""
    # Neither the current banner nor the Consent Mode changes this table: one cache entry for all.
    return _banner_rates(apply_overrides(scenario, {"consent.banner": "no_banner", "consent.mode": "advanced"}).canonical_json())


@st.cache_data(**_CACHE)
def _rates_by(scenario_json: str, by: str) -> pl.DataFrame:
    s = _s(scenario_json)
    t = data.traffic(s)
    return ci.consent_rates(decide(t.visitors, t.draws, s.consent), t.visitors, by)


def rates_by(scenario: Scenario, by: str) -> pl.DataFrame:
    """Consent rates of the current banner by a visitor trait (region, device, privacy_attitude)."""
    return _rates_by(scenario.canonical_json(), by)


def with_banner(scenario: Scenario, banner: str) -> Scenario:
    return apply_overrides(scenario, {"consent.banner": banner})


@st.cache_data(**_CACHE)
def _compare(scenario_json: str, banner_a: str, banner_b: str) -> pl.DataFrame:
    s = _s(scenario_json)
    return ci.fullstack_comparison(data.kpi_table(with_banner(s, banner_a)), data.kpi_table(with_banner(s, banner_b)))


def compare_banners(scenario: Scenario, banner_a: str, banner_b: str) -> pl.DataFrame:
    """Full-stack KPIs of two banner designs on the same visitors, next to the truth."""
    return _compare(scenario.canonical_json(), banner_a, banner_b)


def _mode_runs(s: Scenario) -> dict[str, dict[str, pl.DataFrame]]:
    return {m: data.run(apply_overrides(s, {"consent.mode": m})) for m in ("basic", "advanced")}


@st.cache_data(**_CACHE)
def _mode_summary(scenario_json: str) -> pl.DataFrame:
    s = _s(scenario_json)
    return ci.consent_mode_summary(_mode_runs(s), s)


def consent_mode_summary(scenario: Scenario) -> pl.DataFrame:
    return _mode_summary(scenario.canonical_json())


@st.cache_data(**_CACHE)
def _ga4(scenario_json: str) -> tuple[pl.DataFrame, dict[str, Any]]:
    s = _s(scenario_json)
    daily = ci.ga4_daily(data.run(apply_overrides(s, {"consent.mode": "advanced"}))["fullstack_events"])
    thresholds = datasets.calibration()["consent_mode"]["ga4_modelling_thresholds"]
    return daily, ci.ga4_verdict(daily, thresholds, s.traffic.visitors / s.traffic.days, s.traffic.days)


def ga4(scenario: Scenario) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Per-day denied events and granted users in advanced mode, and GA4's verdict on them."""
    return _ga4(scenario.canonical_json())


@st.cache_data(**_CACHE)
def _bias(scenario_json: str) -> pl.DataFrame:
    s = _s(scenario_json)
    tables = data.run(s)
    return ci.conversion_by_consent(tables["visitors"], tables["truth_events"], datasets.site(s.site.kind)["conversion_event"])


def bias(scenario: Scenario) -> pl.DataFrame:
    return _bias(scenario.canonical_json())


@st.cache_data(**_CACHE)
def _funnel(scenario_json: str, steps: tuple[str, ...], window_seconds: int) -> tuple[pl.DataFrame, dict[str, list[str]]]:
    tables = data.run(_s(scenario_json))
    return rail_funnels(tables, steps, window_seconds), ci.missing_steps(tables, steps)


def funnel(scenario: Scenario, steps: list[str], window_seconds: int) -> tuple[pl.DataFrame, dict[str, list[str]]]:
    """The funnel per rail and, per rail, the steps it never records."""
    return _funnel(scenario.canonical_json(), tuple(steps), window_seconds)


@st.cache_data(**_CACHE)
def _breakdown(scenario_json: str, steps: tuple[str, ...], window_seconds: int) -> pl.DataFrame:
    return ci.funnel_breakdown(data.run(_s(scenario_json)), steps, window_seconds)


def funnel_breakdown(scenario: Scenario, steps: list[str], window_seconds: int) -> pl.DataFrame:
    return _breakdown(scenario.canonical_json(), tuple(steps), window_seconds)


def stacked_shares(long: pl.DataFrame, by: str, title: str) -> alt.Chart:
    """Horizontal stacked bars of consent-choice shares per value of `by` (from ci.shares_long)."""
    choices = [c for c in ci.CHOICE_ORDER if c in set(long["choice"])]
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y(f"{by}:N", title=title),
            x=alt.X("share:Q", title="share of visitors", axis=alt.Axis(format="%"), stack="normalize"),
            color=alt.Color("choice:N", scale=alt.Scale(domain=choices, range=[CHOICE_COLOURS[c] for c in choices]), title="Choice"),
            order=alt.Order("order:Q"),
            tooltip=[by, "choice", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(height=40 * long[by].n_unique() + 40)
    )
