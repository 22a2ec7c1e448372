"""Cached data for the Data rights page: example visitors to look up, and the retention report."""

from __future__ import annotations

import datetime as dt

import polars as pl

from engine import rights
from engine.scenario import Scenario
from ui.cache import cached
from ui.services import simulation


@cached("data", max_entries=32)
def examples(scenario: Scenario) -> list[str]:
    """E-mail addresses of simulated visitors, to try the search with."""
    return rights.examples(simulation.run(scenario))["email"].to_list()


def now(scenario: Scenario, days: int) -> dt.datetime:
    """The "now" `days` after the run's first day, at midnight UTC."""
    return dt.datetime.combine(scenario.traffic.start_date, dt.time(), tzinfo=dt.UTC) + dt.timedelta(days=days)


@cached("data", max_entries=64)
def _shared_retention(scenario: Scenario, days: int) -> pl.DataFrame:
    return rights.retention_report(simulation.run(scenario), now(scenario, days))


def retention(scenario: Scenario, tables: dict[str, pl.DataFrame], days: int) -> pl.DataFrame:
    """What retention keeps and removes at a later "now": cached for the shared run, computed for a session's copy."""
    if tables is simulation.run(scenario):
        return _shared_retention(scenario, days)
    return rights.retention_report(tables, now(scenario, days))
