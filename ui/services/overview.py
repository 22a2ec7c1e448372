"""Cached data for the Overview page (its headline numbers come from ui/services/simulation.py)."""

from __future__ import annotations

import polars as pl

from engine import metrics
from engine.scenario import Scenario
from ui.cache import cached
from ui.services.simulation import run


@cached("data", max_entries=64)
def waterfall(scenario: Scenario) -> pl.DataFrame:
    """From every truth visitor to the visitors the full stack counts, step by step."""
    return metrics.waterfall(run(scenario), scenario)
