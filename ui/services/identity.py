"""Cached data for the Identity page: same-person precision/recall per rail and method, and what the
run holds for cross-device stitching. Both are keyed by the whole scenario (consent and masking
knobs change what the rails can link)."""

from __future__ import annotations

import polars as pl

from engine import identity
from engine.scenario import Scenario
from ui.cache import cached
from ui.services import simulation

ENTRIES = 32


@cached("data", max_entries=ENTRIES)
def scores(scenario: Scenario, measure_fingerprinting: bool) -> pl.DataFrame:
    """Precision/recall per rail and method; the fingerprint match only when the page measures it."""
    return identity.identity_scores(simulation.run(scenario), measure_fingerprinting=measure_fingerprinting)


@cached("data", max_entries=ENTRIES)
def cross_device(scenario: Scenario) -> dict[str, int | float | None]:
    return identity.cross_device(simulation.run(scenario))
