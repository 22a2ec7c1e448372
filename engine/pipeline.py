"""The one pipeline: truth + consent decisions -> hits -> rails -> the five data tables of a run.

Everything that turns truth into hits or hits into rail rows goes through here: the CLI and its
sinks, the HTTP collector, the app's caches and the live panel. Consent decisions are computed
once per call (`decisions`) and passed on explicitly; the consent-free part (hit context and the
baseline rail) is a value of its own, so a caller can keep it across consent knobs.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from engine import geoip, hits, rails
from engine.consent import decide
from engine.scenario import ConsentConfig, Scenario
from engine.truth import Traffic

Tables = dict[str, pl.DataFrame]


@dataclass(frozen=True)
class ConsentFree:
    """What no consent knob changes (keyed by `scenario.rails_key` when kept): the hits' masked
    context and the baseline rail. The consent-free hit columns themselves are not kept: they are
    the largest part (raw strings per event) and cheap to gather again (about 0.2 s per 500,000 events)."""

    context: pl.DataFrame
    baseline: pl.DataFrame


def decisions(traffic: Traffic, consent: ConsentConfig) -> pl.DataFrame:
    """Each visitor's consent choice, final signal state and when they answered (engine.consent.decide)."""
    return decide(traffic.visitors, traffic.draws, consent)


def consent_free(scenario: Scenario, traffic: Traffic) -> ConsentFree:
    """Hits without consent state, their context, and the baseline rail (which never asks for consent)."""
    return consent_free_and_hits(scenario, traffic)[0]


def consent_free_and_hits(scenario: Scenario, traffic: Traffic) -> tuple[ConsentFree, pl.DataFrame]:
    """`consent_free` and the consent-free hit columns it was built from, for a caller that passes
    both on to `tables` (the hit columns are then gathered once)."""
    base = hits.consent_free(scenario, traffic)
    return _consent_free(scenario, base), base


def _consent_free(scenario: Scenario, base: pl.DataFrame) -> ConsentFree:
    ctx = rails.hit_context(base, scenario)
    return ConsentFree(ctx, rails.baseline(base, ctx, scenario))


def baseline_ids(scenario: Scenario, traffic: Traffic) -> pl.DataFrame:
    """The baseline rail's identity columns (event_id, date, visitor_hash) alone: e.g. under another
    salt, without that run's context, consent or full stack."""
    return rails.baseline_ids(hits.consent_free(scenario, traffic), scenario)


def browser_hits(scenario: Scenario, traffic: Traffic, decided: pl.DataFrame | None = None,
                 base: pl.DataFrame | None = None) -> pl.DataFrame:
    """Whole hits (what each browser sends) under the scenario's consent, for sinks and the live panel;
    `base`: the consent-free hit columns when the caller already has them."""
    decided = decisions(traffic, scenario.consent) if decided is None else decided
    base = hits.consent_free(scenario, traffic) if base is None else base
    return hits.with_consent(base, scenario, traffic, decided)


def event_rails(batch: pl.DataFrame, scenario: Scenario) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Baseline and full-stack rows of a batch of whole hits (the collector's and the live panel's path)."""
    ctx = rails.hit_context(batch, scenario)
    return rails.baseline(batch, ctx, scenario), rails.fullstack(batch, ctx, scenario)


def consent_rows(records: pl.DataFrame, scenario: Scenario) -> pl.DataFrame:
    """Consent-log rows of decision hits (or collected consent records): only the country of their
    IP is needed from the context."""
    return rails.consent_log(records, pl.DataFrame({"country": geoip.country_of(records["ip"])}), scenario)


def tables(scenario: Scenario, traffic: Traffic, free: ConsentFree | None = None, base: pl.DataFrame | None = None) -> Tables:
    """The five data tables of a run (or chunk) from its ground truth. Traffic is not regenerated:
    consent, rail and masking knobs only rerun this step, and with `free` (from `consent_free` on
    the same traffic and rails key) a consent knob reruns only the consent-gated rail. `base`: the
    consent-free hit columns when the caller has them (`consent_free_and_hits`)."""
    base = hits.consent_free(scenario, traffic) if base is None else base
    free = _consent_free(scenario, base) if free is None else free
    decided = decisions(traffic, scenario.consent)
    whole = browser_hits(scenario, traffic, decided, base)
    consent_at = (
        pl.DataFrame({"visitor_id": traffic.events["visitor_id"], "consent_at": whole["consent_ts"]})
        .drop_nulls("consent_at")
        .unique("visitor_id", keep="first")
    )
    visitors = (
        traffic.visitors.join(decided.select("visitor_id", consent_choice="choice"), on="visitor_id", how="left", maintain_order="left")
        .join(consent_at, on="visitor_id", how="left", maintain_order="left")
    )
    return {
        "visitors": visitors,
        "truth_events": traffic.events,
        "consent_log": rails.consent_log(whole, free.context, scenario),
        "baseline_events": free.baseline,
        "fullstack_events": rails.fullstack(whole, free.context, scenario),
    }
