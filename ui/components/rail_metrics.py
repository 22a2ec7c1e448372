"""Headline numbers per rail: the Overview's three big numbers (rail colours, the loss against the truth
in red, the change against a pinned scenario), and a strip of KPI metrics for other pages."""

from __future__ import annotations

from typing import Literal, NamedTuple

import polars as pl
import streamlit as st

from ui.charts.theme import COLOURS, rail_label
from ui.words import missing, num, pct, signed, signed_pct, t

BIG_RAILS = ("truth", "baseline", "fullstack")
# Fixed CSS, no user data: the big numbers in their rail's colour, large enough for the back of a room.
_CSS = "<style>" + "".join(
    f".st-key-rail-number-{r} [data-testid='stMetricValue'] {{color: {COLOURS[r]};}}" for r in BIG_RAILS
) + ("[class*='st-key-rail-number-'] [data-testid='stMetricValue'] {font-size: 3.5rem; line-height: 1.15;}"
     "[class*='st-key-rail-number-'] [data-testid='stMetricLabel'] p {font-size: 1.1rem;}") + "</style>"

Colour = Literal["red", "gray", "off"]
Arrow = Literal["up", "down", "off"]


class Delta(NamedTuple):
    text: str | None
    colour: Colour
    description: str | None
    arrow: Arrow = "off"


def _arrow(change: float) -> Arrow:
    # Set explicitly: the texts carry a typographic minus, which Streamlit's own sign detection misses.
    return "up" if change > 0 else ("down" if change < 0 else "off")


def delta(value: float, truth: float, pinned: float | None, is_truth: bool) -> Delta:
    """What a big number shows under it. Without a pin: its loss against the truth, red; an over-count
    grey (it is no gain). With a pin: its change against the pinned scenario (neutral), and the gap to
    the truth beside it as a description."""
    gap = value - truth
    share = f" ({signed_pct(gap / truth)})" if truth else ""
    vs_truth = None if is_truth else t("charts.vs_truth", change=signed(gap), share=share)
    if pinned is not None:
        return Delta(t("charts.vs_pinned", change=signed(value - pinned)), "off", vs_truth, _arrow(value - pinned))
    if vs_truth is None:
        return Delta(None, "off", None)
    return Delta(vs_truth, "red" if gap < 0 else "gray", None, _arrow(gap))


def big_numbers(kpi: pl.DataFrame, metric: str, pinned_kpi: pl.DataFrame | None = None) -> None:
    """Three large numbers (truth, privacy baseline, full stack) of one KPI, in the rails' colours."""
    st.html(_CSS)
    row = kpi.filter(pl.col("metric") == metric).row(0, named=True)
    before = None if pinned_kpi is None else pinned_kpi.filter(pl.col("metric") == metric).row(0, named=True)
    for col, rail in zip(st.columns(len(BIG_RAILS)), BIG_RAILS, strict=True):
        d = delta(row[rail], row["truth"], None if before is None else before[rail], rail == "truth")
        with col.container(key=f"rail-number-{rail}"):
            st.metric(t("charts.big_label", rail=rail_label(rail), what=t(f"charts.metric_{metric}")), num(row[rail]),
                      d.text, delta_color=d.colour, delta_arrow=d.arrow, delta_description=d.description,
                      help=t("charts.big_help", share=pct(row[rail] / row["truth"])) if row["truth"] else None)


def rail_metrics(kpi: pl.DataFrame, shown: list[tuple[str, str, str]], pinned_kpi: pl.DataFrame | None = None) -> None:
    """One metric per (label, metric, rail): a rail other than the truth shows its error vs the truth (a loss
    red, an over-count grey: never a green "gain"); with a pinned scenario, the change against it."""
    row = {r["metric"]: r for r in kpi.iter_rows(named=True)}
    before = None if pinned_kpi is None else {r["metric"]: r for r in pinned_kpi.iter_rows(named=True)}
    for col, (label, metric, rail) in zip(st.columns(len(shown)), shown, strict=True):
        value = row[metric][rail]
        if before is not None:
            change = value - before[metric][rail]
            col.metric(label, num(value), t("charts.vs_pinned", change=signed(change)), delta_color="off", delta_arrow=_arrow(change))
        elif rail == "truth":
            col.metric(label, num(value))
        else:
            err = row[metric][f"{rail}_error_pct"]
            col.metric(label, num(value), t("charts.error_vs_truth", error=signed(err, 1)),
                       delta_color="red" if err < 0 else "gray", delta_arrow=_arrow(err))


_KPI_RATES = {"bounce_rate", "conversion_rate"}


def kpi_view(kpi: pl.DataFrame) -> pl.DataFrame:
    """The KPI table for reading: one row per rail, one column per measure, already in words and the
    reader's number format (counts with separators, rates as percentages, "—" where a rail has none)."""
    rails = [r for r in ("truth", "baseline", "fullstack", "modelled") if r in kpi.columns]
    rows = {r["metric"]: r for r in kpi.iter_rows(named=True)}

    def cell(metric: str, value: float | None) -> str:
        if value is None:
            return missing()
        return pct(value, 1) if metric in _KPI_RATES else num(value, 2 if metric == "revenue" else 0)

    data: dict[str, list[str]] = {t("common.col.rail"): [rail_label(r) for r in rails]}
    for metric, row in rows.items():
        data[t(f"common.metric.{metric}")] = [cell(metric, row[r]) for r in rails]
    return pl.DataFrame(data)
