"""Cached data for the Attribution page: each channel's credit per rail against the truth, and the
sentence the page leads with."""

from __future__ import annotations

import polars as pl

from engine import attribution, datasets
from engine.scenario import Scenario
from ui import knob_words
from ui.cache import cached
from ui.services import simulation
from ui.words import has, pct, t

ENTRIES = 32


@cached("data", max_entries=ENTRIES)
def credit(scenario: Scenario, model: str) -> tuple[pl.DataFrame, int]:
    """Credit per rail and channel under one model (engine.attribution.credit_by_rail), and the
    conversions the full stack saw only as cookieless pings (no id, no revenue: not attributable)."""
    tables = simulation.run(scenario)
    conv_event = datasets.site(scenario.site.kind)["conversion_event"]
    table = attribution.credit_by_rail(tables, scenario.site.kind, model)
    return table, attribution.unattributable_pings(tables, conv_event)


def channel_words(channel: str) -> str:
    """A channel's name for people ("(none)": the conversions no channel touched)."""
    if channel == attribution.NONE_CHANNEL:
        return t("common.none_channel")
    return t(key) if has(key := f"common.value.{channel}") else channel


def in_words(table: pl.DataFrame) -> pl.DataFrame:
    """The credit table with its channels named for people (for the charts, which show data values)."""
    names = {c: channel_words(c) for c in table["channel"].unique().to_list()}
    return table.with_columns(pl.col("channel").replace_strict(names, return_dtype=pl.String))


def _points(x: float) -> str:
    return t("attribution.points_one" if round(abs(x) * 100) == 1 else "attribution.points", n=f"{abs(x) * 100:.0f}")


def takeaway(table: pl.DataFrame, banner: str, model: str) -> str:
    """One sentence: the channel a rail misjudges most, how far, and the other rail's worst."""
    rails = table.filter(pl.col("rail") != "truth")
    if rails.is_empty() or table.filter(pl.col("rail") == "truth")["credit"].sum() == 0:
        return t("attribution.no_conversions")
    worst = rails.sort(pl.col("share_error").abs(), descending=True).group_by("rail", maintain_order=True).first()
    row = {r["rail"]: r for r in worst.iter_rows(named=True)}
    top = max(row.values(), key=lambda r: abs(r["share_error"]))
    other = next((r for k, r in row.items() if k != top["rail"]), None)
    text = t("attribution.takeaway", banner=knob_words.option(banner), model=t(f"common.model.{model}"),
             rail=t(f"attribution.rail_{top['rail']}"), channel=channel_words(top["channel"]), points=_points(top["share_error"]),
             way=t("attribution.more" if top["share_error"] > 0 else "attribution.less"), share=pct(top["share"]),
             truth=pct(top["truth_share"]))
    if other is not None and abs(other["share_error"]) < 0.005:
        text += t("attribution.other_close", rail=t(f"attribution.rail_{other['rail']}"))
    elif other is not None:
        text += t("attribution.other_off", rail=t(f"attribution.rail_{other['rail']}"), points=_points(other["share_error"]),
                  channel=channel_words(other["channel"]), share=pct(other["share"]), truth=pct(other["truth_share"]))
    return text + "."


def shares_takeaway(table: pl.DataFrame) -> str:
    """The channel the truth credits most, and what each rail gives it."""
    truth = table.filter(pl.col("rail") == "truth").sort("share", descending=True)
    if truth.is_empty():
        return t("attribution.no_conversions")
    top = truth.row(0, named=True)
    given = {r["rail"]: r["share"] for r in table.filter(pl.col("channel") == top["channel"]).iter_rows(named=True)}
    return t("attribution.shares_takeaway", channel=channel_words(top["channel"]), truth=pct(top["share"]), full=pct(given.get("fullstack", 0.0)),
             base=pct(given.get("baseline", 0.0)))


def errors_takeaway(table: pl.DataFrame) -> str:
    """How many channels the full stack over- and under-credits by a point or more."""
    full = table.filter(pl.col("rail") == "fullstack")
    over = full.filter(pl.col("share_error") >= 0.005).height
    under = full.filter(pl.col("share_error") <= -0.005).height
    return t("attribution.errors_takeaway", over=over, under=under, channels=full.height)
