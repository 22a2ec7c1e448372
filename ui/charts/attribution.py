"""Charts of the Attribution page: each channel's share of the credit per rail, and each rail's error."""

from __future__ import annotations

import altair as alt
import polars as pl

from ui.charts import theme
from ui.words import t

RAILS = ("truth", "baseline", "fullstack")


def _named(table: pl.DataFrame) -> pl.DataFrame:
    """Channels and rails by their names for people ("Organic search", not organic)."""
    return table.with_columns(channel_name=pl.col("channel").replace_strict(theme.value_names(table["channel"].unique())),
                              rail_name=pl.col("rail").replace_strict(dict(theme.LABELS)))


@theme.drawn
def shares(table: pl.DataFrame, pinned: pl.DataFrame | None = None) -> alt.Chart | alt.LayerChart:
    """Horizontal bars (they fit a phone): per channel (by its name), the share of the credit on each rail.
    With a pinned scenario's table, its shares are drawn faintly on the bars, as dark ticks."""
    table = _named(table)
    order = table.sort("truth_share", descending=True)["channel_name"].unique(maintain_order=True).to_list()
    y = alt.Y("channel_name:N", title=None, sort=order)  # an explicit order: both layers keep it
    offset = alt.YOffset("rail:N", sort=list(RAILS))
    bars = alt.Chart(table).mark_bar().encode(
        y=y, yOffset=offset,
        x=alt.X("share:Q", title=t("attribution.share_axis"), axis=alt.Axis(format="%")),
        color=theme.rail_color(rails=RAILS, title=None, orient="bottom"),
        tooltip=[alt.Tooltip("rail_name:N", title=t("charts.tip_rail")), alt.Tooltip("channel_name:N", title=t("charts.tip_channel")),
                 alt.Tooltip("share:Q", format=".1%", title=t("attribution.share_axis")), alt.Tooltip("credit:Q", format=",.0f", title=t("charts.tip_credit"))],
    )
    size = {"height": theme.rows_height(table["channel"].n_unique(), 12 * len(RAILS) + 14), "width": "container"}
    if pinned is None:
        return bars.properties(**size)
    before = _named(pinned).filter(pl.col("channel_name").is_in(order))
    ticks = theme.pinned_ticks(
        before, y=y, yOffset=offset, x=alt.X("share:Q"),
        tooltip=[alt.Tooltip("rail_name:N", title=t("charts.tip_rail")), alt.Tooltip("channel_name:N", title=t("charts.tip_channel")),
                 alt.Tooltip("share:Q", format=".1%", title=t("charts.scenario_pinned"))],
    )
    return alt.layer(bars, ticks).properties(**size)


@theme.drawn
def errors(table: pl.DataFrame) -> alt.LayerChart:
    """Per channel, each rail's share minus the truth's, in points: right of zero is credit it over-gives."""
    rails = ("baseline", "fullstack")
    part = _named(table.filter(pl.col("rail").is_in(rails))).with_columns(points=pl.col("share_error") * 100)
    bars = alt.Chart(part).mark_bar().encode(
        y=alt.Y("channel_name:N", title=None, sort=alt.EncodingSortField("truth_share", order="descending")),
        yOffset=alt.YOffset("rail:N", sort=list(rails)),
        x=alt.X("points:Q", title=t("attribution.points_axis")),
        color=theme.rail_color(rails=rails, title=None, orient="bottom"),
        tooltip=[alt.Tooltip("rail_name:N", title=t("charts.tip_rail")), alt.Tooltip("channel_name:N", title=t("charts.tip_channel")),
                 alt.Tooltip("points:Q", format="+.1f", title=t("attribution.points_axis")),
                 alt.Tooltip("share:Q", format=".1%"), alt.Tooltip("truth_share:Q", format=".1%", title=t("attribution.truth_share"))],
    )
    zero = alt.Chart(pl.DataFrame({"x": [0.0]})).mark_rule(color="#3b3b3b").encode(x="x:Q")
    return alt.layer(bars, zero).properties(height=theme.rows_height(part["channel"].n_unique(), 12 * len(rails) + 14), width="container")
