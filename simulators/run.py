"""A run, chunk by chunk: ground truth -> consent decisions -> hits -> rails -> six tables."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from engine.consent import decide
from engine.rails import RailTables, baseline, consent_log, fullstack, hit_context
from engine.scenario import Scenario
from simulators.hits import build_hits
from simulators.traffic import Traffic, generate_chunk, generate_traffic, n_chunks


def consent_free_parts(scenario: Scenario, traffic: Traffic) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The hits' masked context and the baseline table: no consent knob changes them, so a
    caller may keep them (keyed by `scenario.rails_key`) across consent changes."""
    hits = build_hits(scenario, traffic)
    ctx = hit_context(hits, scenario)
    return ctx, baseline(hits, ctx, scenario)


def tables_for(
    scenario: Scenario, traffic: Traffic, parts: tuple[pl.DataFrame, pl.DataFrame] | None = None
) -> dict[str, pl.DataFrame]:
    """The five data tables of a run (or chunk) from its ground truth. Traffic is not
    regenerated: consent, rail and masking knobs only re-run this cheap step (and with `parts`
    from `consent_free_parts`, a consent knob re-runs only the consent-gated rail)."""
    decisions = decide(traffic.visitors, traffic.draws, scenario.consent)
    hits = build_hits(scenario, traffic, decisions)
    ctx, base = parts if parts is not None else (hit_context(hits, scenario), None)
    rails = RailTables(
        baseline_events=base if base is not None else baseline(hits, ctx, scenario),
        fullstack_events=fullstack(hits, ctx, scenario),
        consent_log=consent_log(hits, ctx, scenario),
    )
    consent_at = (
        pl.DataFrame({"visitor_id": traffic.events["visitor_id"], "consent_at": hits["consent_ts"]})
        .drop_nulls("consent_at")
        .unique("visitor_id", keep="first")
    )
    visitors = (
        traffic.visitors.join(decisions.select("visitor_id", consent_choice="choice"), on="visitor_id", how="left", maintain_order="left")
        .join(consent_at, on="visitor_id", how="left", maintain_order="left")
    )
    return {
        "visitors": visitors,
        "truth_events": traffic.events,
        "consent_log": rails.consent_log,
        "baseline_events": rails.baseline_events,
        "fullstack_events": rails.fullstack_events,
    }


def iter_chunks(scenario: Scenario, chunks: range | None = None) -> Iterator[dict[str, pl.DataFrame]]:
    """Tables chunk by chunk (memory stays flat however large the run)."""
    for c in chunks if chunks is not None else range(n_chunks(scenario)):
        yield tables_for(scenario, generate_chunk(scenario, c))


def build_run(scenario: Scenario, traffic: Traffic | None = None) -> dict[str, pl.DataFrame]:
    """A whole run in memory (app-sized runs)."""
    return tables_for(scenario, traffic if traffic is not None else generate_traffic(scenario))


def row_counts(tables: dict[str, pl.DataFrame]) -> dict[str, int]:
    return {k: v.height for k, v in tables.items()}
