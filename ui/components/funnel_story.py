"""The Funnels page's takeaway sentences, computed from its tables, and the page's view (`view`)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from engine.scenario import Scenario
from ui.cache import cached
from ui.services import funnels
from ui.words import has, num, pct, signed, t


def event_name(event: str) -> str:
    """An event's name for people ("Added to cart" for add_to_cart)."""
    return t(key) if has(key := f"common.event.{event}") else event


def value_name(value: str) -> str:
    """A breakdown value's name for people (devices, regions, consent choices)."""
    return t(key) if has(key := f"common.value.{value}") else value


def in_words(table: pl.DataFrame) -> pl.DataFrame:
    """A funnel table with its events (and breakdown values) named for people: what the charts show."""
    out = table.with_columns(pl.col("event").replace_strict({e: event_name(e) for e in table["event"].unique().to_list()},
                                                            return_dtype=pl.String))
    if "value" in table.columns:
        out = out.with_columns(pl.col("value").replace_strict({v: value_name(v) for v in table["value"].unique().to_list()},
                                                              return_dtype=pl.String))
    return out


def _last(table: pl.DataFrame, rail: str) -> dict | None:
    rows = table.filter(pl.col("rail") == rail).sort("step")
    return rows.row(-1, named=True) if rows.height else None


def funnel_takeaway(table: pl.DataFrame, pinned: pl.DataFrame | None = None) -> str:
    """How many users complete the funnel in the truth, how many of them the full stack sees, and the
    completion rate each reports (the full stack's can look better while it sees fewer)."""
    truth, full = _last(table, "truth"), _last(table, "fullstack")
    if truth is None or full is None or not truth["users"]:
        return t("funnels.takeaway_empty")
    text = t("funnels.takeaway", truth=num(truth["users"]), event=event_name(truth["event"]), full=num(full["users"]),
             share=pct(full["users"] / truth["users"]), full_rate=pct(full["conversion_from_start"], 1),
             truth_rate=pct(truth["conversion_from_start"], 1))
    before = _last(pinned, "fullstack") if pinned is not None else None
    if before is not None:
        text += " " + t("funnels.takeaway_pinned", change=signed(full["users"] - before["users"]), event=event_name(full["event"]))
    return text


def breakdown_takeaway(last: pl.DataFrame, label: str) -> str:
    """The value of one trait where the full stack's completion rate is furthest from the truth's."""
    wide = last.filter(pl.col("rail").is_in(["truth", "fullstack"])).pivot(on="rail", index="value", values="conversion_from_start")
    if {"truth", "fullstack"} <= set(wide.columns):
        wide = wide.drop_nulls(["truth", "fullstack"])  # a value the full stack never sees is blindness, not a gap
    if wide.is_empty() or not {"truth", "fullstack"} <= set(wide.columns):
        return t("funnels.breakdown_empty")
    worst = wide.with_columns(gap=(pl.col("fullstack") - pl.col("truth")).abs()).sort("gap", descending=True).row(0, named=True)
    return t("funnels.breakdown_takeaway", label=label.lower(), value=worst["value"], full=pct(worst["fullstack"], 1),
             truth=pct(worst["truth"], 1))


BREAKDOWN_DIMS = ("device", "region", "consent_choice")


@dataclass(frozen=True)
class View:
    """What the Funnels page shows, worked out once per run, steps, window, pin and language: every
    follower of a room draws the same page from one view instead of re-deriving its words and sentences."""

    table: pl.DataFrame  # the funnel per rail, as computed (the downloads)
    missing: dict[str, list[str]]  # per rail, the steps it never records
    takeaway: str
    named: pl.DataFrame  # the funnel with its events in words (the charts)
    before_named: pl.DataFrame | None  # the pinned scenario's, in words
    breakdown: pl.DataFrame  # by the truth's traits, as computed, in the table's order (the downloads)
    parts: tuple[tuple[str, pl.DataFrame, str], ...]  # per trait: its last step in words and its takeaway


@cached("resource", max_entries=64)
def view(scenario: Scenario, steps: tuple[str, ...], window_seconds: int, pinned_json: str | None, language: str) -> View:
    """The page's view (`language` is part of the key: the texts are in it)."""
    table, missing = funnels.funnel(scenario, steps, window_seconds)
    pinned = Scenario.model_validate_json(pinned_json) if pinned_json is not None else None
    before = funnels.funnel(pinned, steps, window_seconds)[0] if pinned is not None and pinned.site.kind == scenario.site.kind else None
    breakdown = funnels.funnel_breakdown(scenario, steps, window_seconds)
    last = breakdown.filter(pl.col("step") == len(steps))
    parts = []
    for dim in BREAKDOWN_DIMS:
        part = in_words(last.filter(pl.col("dimension") == dim))
        parts.append((dim, part, breakdown_takeaway(part, t(f"funnels.tab_{dim}"))))
    return View(table, missing, funnel_takeaway(table, before), in_words(table),
                in_words(before) if before is not None else None, breakdown.sort("dimension", "value", "rail", "step"), tuple(parts))
