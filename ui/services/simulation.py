"""The simulated run every page reads: its traffic, its tables, its headline numbers.

Traffic is cached by its traffic key, so a consent, rail or masking knob only re-runs the cheap
rails step; runs are cached by the whole scenario, so two learners with the same scenario share
one computed run. Both are shared read-only objects (resource caches).
"""

from __future__ import annotations

import logging

import polars as pl

from engine import metrics, pipeline, store
from engine.rails import basic_mode_view
from engine.scenario import Scenario, apply_overrides
from engine.truth import Traffic
from simulators.traffic import generate_traffic
from ui.cache import cached
from ui.paths import runs_dir

log = logging.getLogger(__name__)

Tables = dict[str, pl.DataFrame]


@cached("resource", max_entries=64, spinner="spinner.simulating", key=lambda s: s.traffic_key, heavy=True)
def traffic(scenario: Scenario) -> Traffic:
    """The truth's visitors, events and draws (shared between sessions; treat them as read-only)."""
    return generate_traffic(scenario)


@cached("resource", max_entries=64, spinner="spinner.rails", heavy=True)
def run(scenario: Scenario) -> Tables:
    """The run's tables (shared between sessions; treat them as read-only)."""
    folder = runs_dir() / scenario.run_id
    if (folder / "runs").is_dir():  # built by the CLI (e.g. `make run`'s default run): read, don't recompute
        try:
            return store.read_parquet_run(folder)
        except store.StoreError as err:  # a folder that fails the checks: the run is computed instead
            log.warning("not reading %s: %s", folder, err)
    if scenario.consent.mode == "basic":
        # Basic mode records exactly the advanced run minus its cookieless pings: derive it.
        advanced = apply_overrides(scenario, {"consent.mode": "advanced"})
        return basic_mode_view(run(advanced))
    truth = traffic(scenario)
    free = _consent_free.peek(scenario)
    if free is not None:
        return pipeline.tables(scenario, truth, free)
    # A new rails key: the consent-free hit columns feed both the kept part and the tables; gather them once.
    _consent_free.make_room(scenario)
    free, base = pipeline.consent_free_and_hits(scenario, truth)
    _consent_free.keep(free, scenario)
    return pipeline.tables(scenario, truth, free, base)


@cached("resource", max_entries=64, key=lambda s: s.rails_key, heavy=True)
def _consent_free(scenario: Scenario) -> pipeline.ConsentFree:
    return pipeline.consent_free(scenario, traffic(scenario))


# The truth's KPIs depend only on the traffic, the baseline's on no consent knob: a banner change
# recomputes only the full stack's.
@cached("data", max_entries=64, key=lambda s: s.traffic_key)
def _truth_kpis(scenario: Scenario, by: str | None = None) -> pl.DataFrame:
    return metrics.rail_kpis(run(scenario), scenario, "truth", by)


@cached("data", max_entries=64, key=lambda s: s.rails_key)
def _baseline_kpis(scenario: Scenario, by: str | None = None) -> pl.DataFrame:
    return metrics.rail_kpis(run(scenario), scenario, "baseline", by)


def _known(scenario: Scenario, by: str | None) -> dict[str, pl.DataFrame]:
    return {"truth": _truth_kpis(scenario, by), "baseline": _baseline_kpis(scenario, by)}


@cached("data", max_entries=64)
def kpi_table(scenario: Scenario) -> pl.DataFrame:
    return metrics.kpi_table(run(scenario), scenario, known=_known(scenario, None))


@cached("data", max_entries=64)
def kpis(scenario: Scenario, by: str | None = None) -> pl.DataFrame:
    return metrics.kpis(run(scenario), scenario, by, known=_known(scenario, by))
