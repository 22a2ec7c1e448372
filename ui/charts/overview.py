"""Charts of the Overview page: what each rail records, and where the full stack loses visitors."""

from __future__ import annotations

import altair as alt
import polars as pl

from ui.charts import theme

COUNTED = ["visitors", "sessions", "page_views", "conversions"]


def rail_counts(kpi: pl.DataFrame) -> alt.FacetChart:
    """One small bar chart per count (visitors, sessions, page views, conversions), bars per rail."""
    counts = kpi.filter(pl.col("metric").is_in(COUNTED)).unpivot(
        index="metric", on=["truth", "baseline", "fullstack", "modelled"], variable_name="rail", value_name="value"
    ).drop_nulls("value")
    return (
        alt.Chart(counts)
        .mark_bar()
        .encode(
            x=alt.X("rail:N", title=None, sort=list(theme.RAILS), axis=alt.Axis(labels=False, ticks=False)),
            y=alt.Y("value:Q", title=None),
            color=theme.rail_color(),
            column=alt.Column("metric:N", title=None, sort=COUNTED),
            tooltip=["metric", "rail", alt.Tooltip("value:Q", format=",.0f")],
        )
        .resolve_scale(y="independent")
        .properties(width=140, height=220)
    )


def waterfall(wf: pl.DataFrame) -> alt.Chart:
    """Floating bars from every visitor to the full stack's count: losses red, identity splits as gains."""
    steps = wf.with_columns(
        start=pl.when(pl.col("step").is_in(["truth visitors", "observed by the full stack"])).then(0).otherwise(pl.col("running") - pl.col("change")),
        kind=pl.when(pl.col("change") < 0).then(pl.lit("loss")).when(pl.col("step").str.starts_with("identity")).then(pl.lit("gain")).otherwise(pl.lit("total")),
        order=pl.int_range(pl.len()),
    )
    return (
        alt.Chart(steps)
        .mark_bar()
        .encode(
            x=alt.X("step:N", sort=alt.SortField("order"), title=None, axis=alt.Axis(labelAngle=-20)),
            y=alt.Y("start:Q", title="visitors"),
            y2="running:Q",
            color=alt.Color("kind:N", scale=alt.Scale(domain=["total", "loss", "gain"], range=[theme.COLOURS["truth"], "#c62828", theme.COLOURS["fullstack"]]), title=None),
            tooltip=["step", "change", "running"],
        )
        .properties(height=280)
    )
