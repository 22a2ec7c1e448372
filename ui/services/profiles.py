"""Cached data for the Profiles page: persona guesses from each rail's events, scored on the truth.

Three settings on the same visitors: the full stack as the scenario's consent leaves it, the full
stack if everyone consented (the same scenario with no banner, every region's default granted and
GPC not honoured: the same traffic, so only consent differs), and the privacy baseline alone.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from engine import datasets, profiles
from engine.scenario import Scenario, apply_overrides
from ui.cache import cached
from ui.services import simulation

ENTRIES = 16
SETTINGS = ("fullstack", "everyone", "baseline")  # codes: the page names them (profiles.setting_<code>)
RAIL = {"fullstack": "fullstack", "everyone": "fullstack", "baseline": "baseline"}
EVERYONE_CONSENTS = {
    "consent.banner": "no_banner",
    "consent.honour_gpc": False,
    **{f"consent.defaults.{r}": "granted" for r in ("eea", "uk", "us", "rest")},
}


def everyone_consents(scenario: Scenario) -> Scenario:
    """The same scenario where every visitor's consent is granted (ad blockers still block)."""
    return apply_overrides(scenario, EVERYONE_CONSENTS)


@cached("data", max_entries=ENTRIES, spinner="spinner.personas", heavy=True)
def profiling(scenario: Scenario) -> dict[str, Any]:
    """Per setting (a code of SETTINGS): accuracy, majority guess, share of visitors profiled; recall per persona;
    drivers. Codes, not words: the cache is shared by sessions in every language."""
    run, full = simulation.run(scenario), simulation.run(everyone_consents(scenario))
    inputs = {
        "fullstack": (profiles.fullstack_keys(run["fullstack_events"]), run),
        "everyone": (profiles.fullstack_keys(full["fullstack_events"]), full),
        "baseline": (profiles.baseline_keys(run["baseline_events"]), run),
    }
    results = [profiles.profile(k, rows, t["truth_events"], t["visitors"], scenario.seed) for k, (rows, t) in inputs.items()]
    rail = pl.col("setting").replace_strict(RAIL)
    summary = profiles.summary(results).with_columns(rail.alias("rail"))
    recall = pl.concat([r.recall.with_columns(pl.lit(r.setting).alias("setting")) for r in results])
    return {"summary": summary, "recall": recall.select("setting", "persona", "profiles", "recall"),
            "drivers": results[0].drivers, "test_share": profiles.TEST_SHARE}


def price_figures() -> pl.DataFrame:
    """Published figures of what a person's data or profile is worth (datasets/profile_value.toml)."""
    return pl.DataFrame(datasets.load("profile_value")["figure"])
