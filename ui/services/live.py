"""Cached data for the Live telemetry page: the hit stream and one visitor's journey."""

from __future__ import annotations

import polars as pl

from engine import datasets, pipeline, telemetry
from engine.scenario import Scenario
from engine.truth import Traffic
from ui.cache import cached
from ui.services import simulation

STREAM_HITS = 2_000  # the stream is a demo: the run's first hits in time
DISPLAY_COLUMNS = ("ts", "event", "request", "status", "endpoint", "before", "after")


def stream_hits(scenario: Scenario, traffic: Traffic, n: int = STREAM_HITS) -> pl.DataFrame:
    """The first `n` hits of the run in time order. Only those events are turned into hits: each
    visitor keeps a prefix of their own events in their original order, so every hit is the one
    the whole run would build."""
    ev = traffic.events.with_row_index("_row")
    first = ev.sort("ts", "event_id").head(n).sort("_row").drop("_row")
    hits = pipeline.browser_hits(scenario, Traffic(traffic.visitors, first, traffic.draws))
    return hits.sort("ts", "event_id")


@cached("resource", max_entries=8, spinner="spinner.stream")
def stream(scenario: Scenario) -> pl.DataFrame:
    """Requests fired by the stream's hits (shared between sessions; read-only)."""
    return telemetry.requests(stream_hits(scenario, simulation.traffic(scenario)), scenario)


@cached("resource", max_entries=8)
def running_tally(scenario: Scenario) -> pl.DataFrame:
    """The stream's tally after every hit, for the live panel to look up (shared; read-only)."""
    return telemetry.running_tally(stream(scenario))


@cached("data", max_entries=32)
def candidates(scenario: Scenario) -> list[int]:
    """Visitor ids with a short journey, to play the visitor with."""
    site = datasets.site(scenario.site.kind)
    return telemetry.journey_candidates(simulation.traffic(scenario).events, site["conversion_event"])


@cached("data", max_entries=64)
def journey(scenario: Scenario, visitor_id: int, choice: telemetry.Choice, blocker: bool) -> tuple[pl.DataFrame, dict]:
    """One visitor's requests under the learner's consent choice and ad blocker, and who they are."""
    one = simulation.traffic(scenario).only(pl.col("visitor_id") == visitor_id)
    visitor = one.visitors.row(0, named=True)
    default = getattr(scenario.consent.defaults, visitor["region"]) == "granted"
    hits = telemetry.as_visitor(pipeline.browser_hits(scenario, one), choice, blocker, default)
    profile = {k: visitor[k] for k in ("region", "country", "device", "browser", "os")} | {"default_granted": default}
    return telemetry.requests(hits, scenario), profile


def display(reqs: pl.DataFrame) -> pl.DataFrame:
    """Requests in the columns the page shows and the downloads hold (codes: the page puts them into words)."""
    return reqs.select(*DISPLAY_COLUMNS)
