"""Cached data for the Data quality page and the sampling notes (Overview, Consent impact)."""

from __future__ import annotations

from engine import metrics, quality
from engine.scenario import Scenario
from ui.cache import cached
from ui.services import simulation


@cached("data", max_entries=64)
def report(scenario: Scenario) -> quality.QualityReport:
    """Capture, duplicates, missing fields, late arrival and clock skew per rail of the scenario's run."""
    return quality.frames_report(simulation.run(scenario))


@cached("data", max_entries=64)
def sampling_noise(scenario: Scenario, metric: str = "visitors") -> metrics.SamplingNoise:
    return metrics.sampling_noise(simulation.run(scenario), scenario, metric)
