"""Cached data for the Identity page: same-person precision/recall per rail and method, and what the
run holds for cross-device stitching. Both are keyed by the whole scenario (consent and masking
knobs change what the rails can link)."""

from __future__ import annotations

import polars as pl

from engine import identity
from engine.scenario import Scenario
from ui.cache import cached
from ui.services import simulation
from ui.words import num, pct, t

ENTRIES = 32


@cached("data", max_entries=ENTRIES)
def scores(scenario: Scenario, measure_fingerprinting: bool) -> pl.DataFrame:
    """Precision/recall per rail and method; the fingerprint match only when the page measures it."""
    return identity.identity_scores(simulation.run(scenario), measure_fingerprinting=measure_fingerprinting)


@cached("data", max_entries=ENTRIES)
def cross_device(scenario: Scenario, measure_fingerprinting: bool) -> pl.DataFrame:
    """Per rail and method, the true multi-device people it joined across their devices."""
    return identity.cross_device(simulation.run(scenario), measure_fingerprinting=measure_fingerprinting)


@cached("data", max_entries=ENTRIES)
def cookie_splits(scenario: Scenario) -> dict[str, int | float | None]:
    return identity.cookie_splits(simulation.run(scenario))


def cross_device_sentence(xd: pl.DataFrame, splits: dict[str, int | float | None]) -> str:
    """The Across-devices finding, computed from the run: how many people use two devices and which
    method joins how many of them."""
    if xd.is_empty() or not xd["multi_device_people"][0]:
        return t("identity.devices_none")
    row = {r["method"]: r for r in xd.iter_rows(named=True)}
    login = row["login"]
    text = t("identity.devices_lead", people=num(login["multi_device_people"]), all_people=num(splits["people"] or 0),
             login=pct(login["share_joined"]), joined=num(login["joined"]), cookie=pct(row["device_cookie"]["share_joined"]),
             daily=pct(row["daily_hash"]["share_joined"]))
    if "fingerprint" in row:
        text += t("identity.devices_fingerprint", fp=pct(row["fingerprint"]["share_joined"]))
    if splits["split_browsers"]:
        text += t("identity.devices_split", split=num(splits["split_browsers"]), rejoined=num(splits["rejoined_by_login"] or 0))
    return text
