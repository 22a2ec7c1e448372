"""The Dashboard page's section takeaways (traffic over time, each ranked panel), computed from its tables."""

from __future__ import annotations

import polars as pl

from ui.components.dashboard_view import row_name
from ui.words import num, pct, signed, t


def traffic_takeaway(series: pl.DataFrame, rail: str, metric: str) -> str:
    """Day by day, which share of the truth's count the rail shows (its lowest and highest day)."""
    wide = series.pivot(on="rail", index="day", values="value")
    if rail not in wide.columns or "truth" not in wide.columns:
        return t("dashboard.traffic_empty")
    ratio = wide.filter(pl.col("truth") > 0).select((pl.col(rail) / pl.col("truth")).alias("r"))["r"].drop_nulls()
    if ratio.is_empty():
        return t("dashboard.traffic_empty")
    lo, hi = float(ratio.min()), float(ratio.max())  # type: ignore[arg-type]
    what = t(f"charts.metric_{metric}")
    if pct(lo) == pct(hi):
        return t("dashboard.traffic_same", rail=t(f"dashboard.rail_{rail}"), share=pct(lo), what=what)
    return t("dashboard.traffic_takeaway", rail=t(f"dashboard.rail_{rail}"), low=pct(lo), high=pct(hi), what=what, days=ratio.len())


def panel_takeaway(rows: pl.DataFrame, by: str, rail: str) -> str:
    """The truth's top row of one panel and what the rail shows for it."""
    if rows.is_empty():
        return t("dashboard.panel_empty")
    top = rows.sort("truth", descending=True, nulls_last=True).row(0, named=True)
    value, err = top.get(rail), top.get(f"{rail}_error_pct")
    name = t(f"dashboard.rail_{rail}")
    if value is None or err is None:
        return t("dashboard.panel_unseen", row=row_name(by, top[by]), rail=name, truth=num(top["truth"]))
    return t("dashboard.panel_takeaway", row=row_name(by, top[by]), rail=name, value=num(value), truth=num(top["truth"]),
             error=signed(err) + "%")
