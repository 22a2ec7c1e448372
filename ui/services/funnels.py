"""Cached data for the Funnels page: the funnel per rail and its breakdown by the truth's traits."""

from __future__ import annotations

import polars as pl

from engine import consent_impact
from engine.funnel import rail_funnels
from engine.scenario import Scenario
from ui.cache import cached
from ui.services import simulation

ENTRIES = 64


@cached("data", max_entries=ENTRIES)
def funnel(scenario: Scenario, steps: tuple[str, ...], window_seconds: int) -> tuple[pl.DataFrame, dict[str, list[str]]]:
    """The funnel per rail and, per rail, the steps it never records."""
    tables = simulation.run(scenario)
    return rail_funnels(tables, steps, window_seconds), consent_impact.missing_steps(tables, steps)


@cached("data", max_entries=ENTRIES)
def funnel_breakdown(scenario: Scenario, steps: tuple[str, ...], window_seconds: int) -> pl.DataFrame:
    return consent_impact.funnel_breakdown(simulation.run(scenario), steps, window_seconds)
