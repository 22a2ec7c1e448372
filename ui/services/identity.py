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
        return "No simulated person used a second device in this run, so there is no cross-device journey to join."
    row = {r["method"]: r for r in xd.iter_rows(named=True)}
    n, login = row["login"]["multi_device_people"], row["login"]
    text = (f"**{n:,}** of the run's **{splits['people']:,}** people used two devices. The keyed hash of the e-mail they log in "
            f"with joins **{login['share_joined']:.0%}** of them across devices ({login['joined']:,}): only where both "
            f"browsers granted analytics consent and the person logged in on both. The device cookie alone joins "
            f"**{row['device_cookie']['share_joined']:.0%}** and the baseline's daily hash **{row['daily_hash']['share_joined']:.0%}**: "
            "a cookie lives in one browser, and the hash includes the user agent.")
    if "fingerprint" in row:
        text += (f" A fingerprint joins **{row['fingerprint']['share_joined']:.0%}**: a phone and a desktop do not look alike.")
    if splits["split_browsers"]:
        text += (f" Within one device, the full stack split **{splits['split_browsers']:,}** browsers over several cookies "
                 f"(Safari's 7-day cap on script cookies); logging in joins **{splits['rejoined_by_login']:,}** of them back.")
    return text
