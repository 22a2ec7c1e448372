"""Charts of the Data rights page."""

from __future__ import annotations

import altair as alt
import polars as pl

from engine import schema
from ui.charts import theme
from ui.words import t

REMOVED_RED = "#c62828"
KEPT_GREY = "#90a4ae"


@theme.drawn
def retention(report: pl.DataFrame) -> alt.Chart:
    """One bar per table, its rows kept (grey) and removed (red), split by the rows' PII level:
    one chart at the container's width (a column per table needed 1,100 px and scrolled sideways on a phone; without
    `width="container"` the chart kept its own width and overflowed its column), the legend below in one row."""
    status = [t("data_rights.kept"), t("data_rights.removed")]
    levels = [lv.name for lv in schema.Level]
    bars = (
        report.select("table", "level", "level_name", "rows", pl.col("kept").alias(status[0]), pl.col("expired").alias(status[1]))
        .unpivot(index=["table", "level", "level_name", "rows"], variable_name="status", value_name="count")
        .filter(pl.col("count") > 0)
        .with_columns(
            table_label=pl.col("table").replace_strict({n: t(f"data_rights.table.{n}") for n in report["table"].unique()}),
            level_label=pl.col("level_name").replace_strict({n: t(f"data_rights.level.{n}") for n in levels}),
            order=pl.col("level") + pl.when(pl.col("status") == status[1]).then(0).otherwise(10),
        )
    )
    bars = bars.with_columns(table_label=theme.each(bars["table_label"], lambda s: theme.wrap(s, 20)))
    order = [theme.wrap(t(f"data_rights.table.{n}"), 20) for n in schema.DATA_TABLES if n in set(report["table"])]
    return (
        alt.Chart(bars)
        .mark_bar(stroke="white", strokeWidth=1)
        .encode(
            y=alt.Y("table_label:N", sort=order, title=None, axis=alt.Axis(labelLimit=180, labelExpr=theme.WRAPPED)),
            x=alt.X("count:Q", stack="normalize", title=t("data_rights.x_title"), axis=alt.Axis(format="%")),
            color=alt.Color("status:N", scale=alt.Scale(domain=status, range=[KEPT_GREY, REMOVED_RED]), title=None,
                            legend=alt.Legend(orient="bottom", direction="horizontal", labelLimit=240)),
            order=alt.Order("order:Q"),
            tooltip=[alt.Tooltip("table_label:N", title=t("charts.tip_table")), alt.Tooltip("level_label:N", title=t("charts.tip_level")),
                     alt.Tooltip("status:N", title=t("charts.tip_status")), alt.Tooltip("count:Q", format=",.0f", title=t("charts.tip_rows"))],
        )
        .properties(height=theme.rows_height(len(order), 44), width="container")
    )
