"""A pinned scenario drawn faintly over a page's chart: composes the page's own builder (`builder.build`, the
chart itself) with a faint layer of the pinned values, so the styling stays the page builder's and only the
comparison is added here. (Attribution's bars are not composed: their channel order is a sort by field,
which a second data source's layer would make Vega-Lite drop.)"""

from __future__ import annotations

import altair as alt
import polars as pl

from ui.charts import dashboard, theme
from ui.words import t

FAINT = 0.35


@theme.drawn
def traffic(series: pl.DataFrame, pinned: pl.DataFrame, rails: tuple[str, ...], label: str) -> alt.TopLevelMixin:
    """The Dashboard's traffic lines, the pinned scenario's lines of the same rails faint and dotted behind them."""
    chart = dashboard.traffic.build(series, rails, label)  # type: ignore[attr-defined]  # theme.drawn's handle to the builder
    before = pinned.filter(pl.col("rail").is_in(rails)).with_columns(scenario=pl.lit(t("common.pinned_series")))
    faint = alt.Chart(before).mark_line(strokeWidth=2, strokeDash=[2, 3], opacity=FAINT).encode(
        x=alt.X("day:T"), y=alt.Y("value:Q"), detail="rail:N",
        color=alt.Color("rail:N", scale=theme.rail_scale(rails), legend=None),
        tooltip=[alt.Tooltip("scenario:N", title=t("common.pinned_series")), alt.Tooltip("day:T", format="%d %b %Y", title=t("common.col.day")),
                 alt.Tooltip("value:Q", format=",.0f", title=label)],
    )
    return alt.layer(faint, chart)
