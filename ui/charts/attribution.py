"""Charts of the Attribution page: each channel's share of the credit per rail, and each rail's error."""

from __future__ import annotations

import altair as alt
import polars as pl

from ui.charts import theme
from ui.words import t

RAILS = ("truth", "baseline", "fullstack")


@theme.drawn
def shares(table: pl.DataFrame) -> alt.Chart:
    """Horizontal bars (they fit a phone): per channel, the share of the credit on each rail."""
    return alt.Chart(table).mark_bar().encode(
        y=alt.Y("channel:N", title=None, sort=alt.EncodingSortField("truth_share", order="descending")),
        yOffset=alt.YOffset("rail:N", sort=list(RAILS)),
        x=alt.X("share:Q", title=t("attribution.share_axis"), axis=alt.Axis(format="%")),
        color=theme.rail_color(rails=RAILS, title=None, orient="bottom"),
        tooltip=["rail", "channel", alt.Tooltip("share:Q", format=".1%"), alt.Tooltip("credit:Q", format=",.0f")],
    ).properties(height=alt.Step(9), width="container")


@theme.drawn
def errors(table: pl.DataFrame) -> alt.LayerChart:
    """Per channel, each rail's share minus the truth's, in points: right of zero is credit it over-gives."""
    rails = ("baseline", "fullstack")
    part = table.filter(pl.col("rail").is_in(rails)).with_columns(points=pl.col("share_error") * 100)
    bars = alt.Chart(part).mark_bar().encode(
        y=alt.Y("channel:N", title=None, sort=alt.EncodingSortField("truth_share", order="descending")),
        yOffset=alt.YOffset("rail:N", sort=list(rails)),
        x=alt.X("points:Q", title=t("attribution.points_axis")),
        color=theme.rail_color(rails=rails, title=None, orient="bottom"),
        tooltip=["rail", "channel", alt.Tooltip("points:Q", format="+.1f", title=t("attribution.points_axis")),
                 alt.Tooltip("share:Q", format=".1%"), alt.Tooltip("truth_share:Q", format=".1%", title=t("attribution.truth_share"))],
    )
    zero = alt.Chart(pl.DataFrame({"x": [0.0]})).mark_rule(color="#3b3b3b").encode(x="x:Q")
    return alt.layer(bars, zero).properties(height=alt.Step(12), width="container")
