"""The one caching layer between pages and the engine.

Traffic is cached by its traffic key, so a consent, rail or masking knob only re-runs the cheap
rails step; runs are cached by the whole scenario, so two learners with the same scenario share
one computed run. Both caches are bounded (entries and time). Keys are JSON strings: scenarios
are hashed by their content, never by a sample of a big frame.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from engine import metrics, store
from engine.rails import basic_mode_view
from engine.scenario import Scenario, apply_overrides
from simulators.run import consent_free_parts, tables_for
from simulators.traffic import Traffic, generate_traffic
from ui.paths import runs_dir

Tables = dict[str, pl.DataFrame]


@st.cache_resource(max_entries=6, ttl=3600, show_spinner="Simulating visitors…")
def _traffic(traffic_key: str, _scenario_json: str) -> Traffic:
    return generate_traffic(Scenario.model_validate_json(_scenario_json))


@st.cache_resource(max_entries=24, ttl=3600, show_spinner="Applying consent, rails and masking…")
def _tables(scenario_json: str) -> Tables:
    scenario = Scenario.model_validate_json(scenario_json)
    folder = runs_dir() / scenario.run_id
    if (folder / "runs").is_dir():  # built by the CLI (e.g. `make run`'s default run): read, don't recompute
        return store.read_parquet_run(folder)
    if scenario.consent.mode == "basic":
        # Basic mode records exactly the advanced run minus its cookieless pings: derive it.
        advanced = apply_overrides(scenario, {"consent.mode": "advanced"})
        return basic_mode_view(_tables(advanced.canonical_json()))
    traffic = _traffic(scenario.traffic_key, scenario_json)
    return tables_for(scenario, traffic, _consent_free(scenario.rails_key, scenario_json))


@st.cache_resource(max_entries=12, ttl=3600, show_spinner=False)
def _consent_free(rails_key: str, _scenario_json: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    scenario = Scenario.model_validate_json(_scenario_json)
    return consent_free_parts(scenario, _traffic(scenario.traffic_key, _scenario_json))


def run(scenario: Scenario) -> Tables:
    """The run's tables (shared between sessions; treat them as read-only)."""
    return _tables(scenario.canonical_json())


def traffic(scenario: Scenario) -> Traffic:
    return _traffic(scenario.traffic_key, scenario.canonical_json())


@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def _kpi_table(scenario_json: str) -> pl.DataFrame:
    scenario = Scenario.model_validate_json(scenario_json)
    return metrics.kpi_table(_tables(scenario_json), scenario)


def kpi_table(scenario: Scenario) -> pl.DataFrame:
    return _kpi_table(scenario.canonical_json())


@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def _waterfall(scenario_json: str) -> pl.DataFrame:
    return metrics.waterfall(_tables(scenario_json), Scenario.model_validate_json(scenario_json))


def waterfall(scenario: Scenario) -> pl.DataFrame:
    return _waterfall(scenario.canonical_json())


@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def _kpis_by(scenario_json: str, by: str | None) -> pl.DataFrame:
    return metrics.kpis(_tables(scenario_json), Scenario.model_validate_json(scenario_json), by)


def kpis(scenario: Scenario, by: str | None = None) -> pl.DataFrame:
    return _kpis_by(scenario.canonical_json(), by)
