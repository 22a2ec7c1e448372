"""Cached data for the Dashboard page: the run cut to a date range, shown as one rail would show it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from engine import dashboard, datasets, metrics
from engine.scenario import Scenario
from ui.cache import cached
from ui.services.simulation import run

# (dimension, metric a tool ranks it by): the screens an analytics tool opens with (headings: dashboard.panel_<dimension>).
PANELS = (
    ("path", "page_views"),
    ("channel", "visitors"),
    ("device", "visitors"),
    ("browser", "visitors"),
    ("country", "visitors"),
)
COUNTRY_NAMES = {
    "DE": "Germany", "FR": "France", "IT": "Italy", "ES": "Spain", "NL": "Netherlands", "PL": "Poland",
    "SE": "Sweden", "BE": "Belgium", "AT": "Austria", "IE": "Ireland", "DK": "Denmark", "PT": "Portugal",
    "GB": "United Kingdom", "US": "United States", "CA": "Canada", "BR": "Brazil", "IN": "India", "JP": "Japan",
    "AU": "Australia", "MX": "Mexico", "CH": "Switzerland", "NO": "Norway",
}

# ISO 3166-1 numeric codes: the `id` of each country in the world shape (datasets/world/).
COUNTRY_ISO_NUMERIC = {
    "DE": "276", "FR": "250", "IT": "380", "ES": "724", "NL": "528", "PL": "616", "SE": "752", "BE": "056",
    "AT": "040", "IE": "372", "DK": "208", "PT": "620", "GB": "826", "US": "840", "CA": "124", "BR": "076",
    "IN": "356", "JP": "392", "AU": "036", "MX": "484", "CH": "756", "NO": "578",
}


def world() -> dict[str, Any]:
    """The map's country shapes (engine.datasets.world)."""
    return datasets.world()


def with_iso(rows: pl.DataFrame) -> pl.DataFrame:
    """Country rows (as `breakdown` names them) with the ISO numeric code the map joins on."""
    by_name = {COUNTRY_NAMES.get(code, code): num for code, num in COUNTRY_ISO_NUMERIC.items()}
    return rows.with_columns(iso=pl.col("country").replace_strict(by_name, default=None, return_dtype=pl.String))


@cached("resource", max_entries=4)
def _tables(scenario: Scenario, start: dt.date, end: dt.date) -> metrics.Tables:
    """The run cut to the date range, once for every panel of the page (shared; treat as read-only)."""
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
    shown = row
    if dim == "country":
        row = {name: code for code, name in COUNTRY_NAMES.items()}.get(row, row)
    w = dashboard.whereabouts(_tables(scenario, start, end), rail, dim, row)
    if w is not None:
        w["row"] = shown  # as the page names it
    return w
