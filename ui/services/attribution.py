"""Cached data for the Attribution page: each channel's credit per rail against the truth, and the
sentence the page leads with."""

from __future__ import annotations

import polars as pl

from engine import attribution, datasets
from engine.scenario import Scenario
from ui.cache import cached
from ui.services import simulation

ENTRIES = 32
RAIL_WORDS = {"baseline": "the privacy baseline", "fullstack": "the full stack"}


@cached("data", max_entries=ENTRIES)
def credit(scenario: Scenario, model: str) -> tuple[pl.DataFrame, int]:
    """Credit per rail and channel under one model (engine.attribution.credit_by_rail), and the
    conversions the full stack saw only as cookieless pings (no id, no revenue: not attributable)."""
    tables = simulation.run(scenario)
    conv_event = datasets.site(scenario.site.kind)["conversion_event"]
    table = attribution.credit_by_rail(tables, scenario.site.kind, model)
    return table, attribution.unattributable_pings(tables, conv_event)


def _points(x: float) -> str:
    return f"{abs(x) * 100:.0f} point{'s' if round(abs(x) * 100) != 1 else ''}"


def takeaway(table: pl.DataFrame, banner: str, model: str) -> str:
    """One sentence: the channel a rail misjudges most, how far, and the other rail's worst."""
    rails = table.filter(pl.col("rail") != "truth")
    if rails.is_empty() or table.filter(pl.col("rail") == "truth")["credit"].sum() == 0:
        return "This run has no conversions in the truth: there is no credit to share."
    worst = rails.sort(pl.col("share_error").abs(), descending=True).group_by("rail", maintain_order=True).first()
    row = {r["rail"]: r for r in worst.iter_rows(named=True)}
    top = max(row.values(), key=lambda r: abs(r["share_error"]))
    other = next((r for k, r in row.items() if k != top["rail"]), None)
    way = "more" if top["share_error"] > 0 else "less"
    text = (f"With banner `{banner}` and {attribution.MODEL_LABELS[model].lower()} attribution, "
            f"{RAIL_WORDS[top['rail']]} gives {top['channel']} {_points(top['share_error'])} {way} of the credit than "
            f"the truth ({top['share']:.0%} against {top['truth_share']:.0%})")
    if other is not None and abs(other["share_error"]) < 0.005:
        text += f"; {RAIL_WORDS[other['rail']]} stays within half a point of the truth on every channel"
    elif other is not None:
        text += (f"; {RAIL_WORDS[other['rail']]} is off by at most {_points(other['share_error'])} "
                 f"({other['channel']}, {other['share']:.0%} against {other['truth_share']:.0%})")
    return text + "."
