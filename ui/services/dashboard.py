"""Cached data for the Dashboard page: the run cut to a date range, shown as one rail would show it."""

from __future__ import annotations

import datetime as dt

import polars as pl

from engine import dashboard, metrics
from engine.scenario import Scenario
from ui.cache import cached
from ui.services.simulation import run

# (dimension, metric a tool ranks it by, heading): the screens an analytics tool opens with.
PANELS = (
    ("path", "page_views", "Top pages"),
    ("channel", "visitors", "Sources / channels"),
    ("device", "visitors", "Devices"),
    ("browser", "visitors", "Browsers"),
    ("country", "visitors", "Countries"),
)
COUNTRY_NAMES = {
    "DE": "Germany", "FR": "France", "IT": "Italy", "ES": "Spain", "NL": "Netherlands", "PL": "Poland",
    "SE": "Sweden", "BE": "Belgium", "AT": "Austria", "IE": "Ireland", "DK": "Denmark", "PT": "Portugal",
    "GB": "United Kingdom", "US": "United States", "CA": "Canada", "BR": "Brazil", "IN": "India", "JP": "Japan",
    "AU": "Australia", "MX": "Mexico", "CH": "Switzerland", "NO": "Norway",
}


def _tables(scenario: Scenario, start: dt.date, end: dt.date) -> metrics.Tables:
    return metrics.in_range(run(scenario), start, end)


@cached("data", max_entries=64)
def strip(scenario: Scenario, start: dt.date, end: dt.date, rail: str) -> pl.DataFrame:
    return dashboard.strip(_tables(scenario, start, end), scenario, rail)


@cached("data", max_entries=64)
def daily(scenario: Scenario, start: dt.date, end: dt.date, metric: str) -> pl.DataFrame:
    return dashboard.daily(_tables(scenario, start, end), scenario, metric)


@cached("data", max_entries=128)
def breakdown(scenario: Scenario, start: dt.date, end: dt.date, by: str, metric: str) -> pl.DataFrame:
    """All rows of one dimension (the page shows the top ones; the takeaway looks at all)."""
    rows = dashboard.breakdown(_tables(scenario, start, end), scenario, by, metric, top=None)
    if by == "country":  # names, not ISO codes, for the room
        rows = rows.with_columns(pl.col("country").replace(COUNTRY_NAMES))
    return rows


@cached("data", max_entries=64)
def whereabouts(scenario: Scenario, start: dt.date, end: dt.date, rail: str, dim: str, row: str) -> dashboard.Whereabouts | None:
    """Where the truth's visitors of a takeaway row went in the rail (`row` as the page shows it)."""
    if dim == "country":
        row = {name: code for code, name in COUNTRY_NAMES.items()}.get(row, row)
    return dashboard.whereabouts(_tables(scenario, start, end), rail, dim, row)
