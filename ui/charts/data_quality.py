"""Charts of the Data quality page: capture per event type, delay and clock-skew distributions, missing fields."""

from __future__ import annotations

import altair as alt
import polars as pl

from ui.charts import theme

RAILS = ("baseline", "fullstack")
_LEGEND = {"orient": "bottom"}


@theme.drawn
def capture(cap: pl.DataFrame) -> alt.Chart:
    """Share of the true events each rail recorded, per event type (grouped horizontal bars)."""
    data = cap.with_columns(event=pl.col("event").str.replace_all("_", " ").replace({"all": "all events"}))
    order = data.sort("truth", descending=True)["event"].unique(maintain_order=True).to_list()
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("event:N", sort=order, title=None, axis=alt.Axis(labelLimit=160)),
            yOffset=alt.YOffset("rail:N", sort=list(RAILS)),
            x=alt.X("capture_rate:Q", title="share of the true events recorded", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
            color=theme.rail_color(rails=RAILS, orient="bottom"),
            tooltip=[alt.Tooltip("event:N"), alt.Tooltip("rail:N"), alt.Tooltip("truth:Q", format=","),
                     alt.Tooltip("recorded:Q", format=","), alt.Tooltip("capture_rate:Q", format=".1%")],
        )
        .properties(height=alt.Step(11))
    )


TITLES = {"delay": "Delay from event to receipt", "clock skew": "Browser clock vs true time"}


@theme.drawn
def timing(t: pl.DataFrame, measure: str) -> alt.Chart:
    """Share of the full stack's hits per delay (or clock offset) bucket; late buckets in red."""
    data = t.filter(pl.col("measure") == measure).with_columns(
        late=pl.when(pl.col("order") >= 4).then(pl.lit("late or far off")).otherwise(pl.lit("on time"))
    )
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("bucket:N", sort=alt.SortField("order"), title=None, axis=alt.Axis()),
            x=alt.X("share:Q", title="share of hits (log scale)", axis=alt.Axis(format="~%", values=[0, 0.01, 0.1, 1]),
                    scale=alt.Scale(type="symlog", constant=0.001)),
            color=alt.Color("late:N", scale=alt.Scale(domain=["on time", "late or far off"], range=[theme.COLOURS["fullstack"], "#c62828"]),
                            title=None, legend=alt.Legend(orient="bottom")),
            tooltip=[alt.Tooltip("bucket:N"), alt.Tooltip("events:Q", format=","), alt.Tooltip("share:Q", format=".2%")],
        )
        .properties(height=alt.Step(26), title=alt.Title(TITLES[measure], anchor="start"))
    )


@theme.drawn
def missing(m: pl.DataFrame) -> alt.Chart:
    """Share of rows without each field, per rail (fields that are never missing left out)."""
    data = m.filter(pl.col("missing_rate") > 0).with_columns(field=pl.col("field").str.replace_all("_", " "))
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("field:N", sort="-x", title=None, axis=alt.Axis(labelLimit=160)),
            yOffset=alt.YOffset("rail:N", sort=list(RAILS)),
            x=alt.X("missing_rate:Q", title="share of rows without the field", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
            color=theme.rail_color(rails=RAILS, orient="bottom"),
            tooltip=[alt.Tooltip("field:N"), alt.Tooltip("rail:N"), alt.Tooltip("missing_rate:Q", format=".1%")],
        )
        .properties(height=alt.Step(9))
    )
