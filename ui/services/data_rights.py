"""Cached data for the Data rights page: example visitors to look up, and the retention report."""

from __future__ import annotations

import datetime as dt

import polars as pl

from engine import keys, masking, rights
from engine.rails import CONSENT_ID_LABEL
from engine.scenario import Scenario
from ui.cache import cached
from ui.services import simulation


@cached("data", max_entries=32)
def examples(scenario: Scenario) -> list[str]:
    """E-mail addresses of simulated visitors, to try the search with."""
    return rights.examples(simulation.run(scenario))["email"].to_list()


@cached("data", max_entries=32)
def example_visitor(scenario: Scenario) -> str | None:
    """The e-mail of a visitor with rows in every rail: their truth events, baseline rows of those events,
    and full-stack rows the site links to their login (the page opens with them). None if nobody has all."""
    tables = simulation.run(scenario)
    truth = tables["truth_events"].select("event_id", "person_id")
    logins = tables["fullstack_events"].filter(pl.col("user_id").is_not_null()).select("event_id")
    in_full = truth.join(logins, on="event_id", how="semi")["person_id"].unique()
    in_base = truth.join(tables["baseline_events"].select("event_id"), on="event_id", how="semi")["person_id"].unique()
    people = (tables["visitors"]
              .filter(pl.col("email").is_not_null(), pl.col("visitor_id") == pl.col("person_id"),
                      pl.col("person_id").is_in(in_full.implode()), pl.col("person_id").is_in(in_base.implode()))
              .sort("visitor_id"))
    if not people.height:
        return None
    # Preferably one whose consent decision the consent log can show too (found by their browser's consent ID).
    browsers = tables["visitors"].filter(pl.col("person_id").is_in(people["person_id"].implode())).select("visitor_id", "person_id")
    anonymous = masking.keyed_hash(rights.consent_ids(browsers["visitor_id"], scenario.seed), keys.derive(CONSENT_ID_LABEL))
    logged = browsers.filter(anonymous.is_in(tables["consent_log"]["anonymous_id"].implode()))["person_id"]
    preferred = people.filter(pl.col("person_id").is_in(logged.implode()))
    return (preferred if preferred.height else people)["email"][0]


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


@cached("data", max_entries=32)
def headline(scenario: Scenario) -> dict[str, int]:
    """The page's lead: people, those with an e-mail, those the site can find by it, and the baseline's rows."""
    tables = simulation.run(scenario)
    people = tables["visitors"].filter(pl.col("visitor_id") == pl.col("person_id"))
    logins = tables["fullstack_events"].filter(pl.col("user_id").is_not_null()).select("event_id")
    findable = tables["truth_events"].join(logins, on="event_id", how="semi")["person_id"].n_unique()
    return {"people": people.height, "with_email": people["email"].count(), "findable": findable,
            "baseline_rows": tables["baseline_events"].height}


def retention_totals(report: pl.DataFrame) -> tuple[int, int, str | None]:
    """Rows held and removed over all tables, and the table that loses the most rows (None if none does)."""
    per_table = report.group_by("table").agg(pl.col("expired").sum()).sort(["expired", "table"], descending=[True, False])
    removed = int(report["expired"].sum())
    return int(report["rows"].sum()), removed, str(per_table["table"][0]) if removed else None
