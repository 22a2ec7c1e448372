"""Charts of the Dashboard page: traffic over time per rail, and ranked rows with the truth behind them."""

from __future__ import annotations

from typing import Any, cast

import altair as alt
import polars as pl

from ui.charts import theme
from ui.words import t


@theme.drawn
def traffic(series: pl.DataFrame, rails: tuple[str, ...], label: str) -> alt.Chart:
    """One line per rail shown (the truth dashed behind when compared), a point per UTC day."""
    data = series.filter(pl.col("rail").is_in(rails)).with_columns(rail_name=pl.col("rail").replace_strict(dict(theme.LABELS)))
    # Legend above the plot: at the side it takes a third of a phone's width.
    color = theme.rail_color(rails=rails, title=None, orient="top")
    return alt.Chart(data).mark_line(point=True, strokeWidth=3).encode(
        x=alt.X("day:T", title=None, axis=alt.Axis(format=theme.day_format(), labelAngle=0, labelOverlap=True, tickCount="day")),
        y=alt.Y("value:Q", title=label),
        color=color,
        # The same legend as the colour's: the legend then shows the truth dashed (and Vega-Lite does not warn about
        # a conflicting legend on one field).
        strokeDash=alt.StrokeDash("rail:N", scale=alt.Scale(domain=list(rails), range=[[6, 4] if r == "truth" else [1, 0] for r in rails]),
                                  title=None, legend=cast(dict[str, Any], color.to_dict())["legend"]),
        tooltip=[alt.Tooltip("day:T", format=theme.day_format(), title=t("charts.tip_day")), alt.Tooltip("rail_name:N", title=t("charts.tip_rail")),
                 alt.Tooltip("value:Q", format=",.0f", title=label)],
    ).properties(height=260, width="container")


@theme.drawn
def ranked(rows: pl.DataFrame, by: str, rail: str, label: str, compare: bool) -> alt.LayerChart | alt.Chart:
    """Horizontal bars per row for the rail; with `compare`, the truth as a wide grey bar behind and
    the rail's error vs truth written at the end of each row (red where it undercounts)."""
    names = theme.value_names(rows[by].cast(pl.String))  # devices, channels... by name; countries and pages stay as they are
    order = [names[r] for r in rows[by].cast(pl.String)]
    data = rows.with_columns(
        pl.col(by).cast(pl.String).replace_strict(names).alias("row"),
        value=pl.col(rail), error=pl.col(f"{rail}_error_pct") / 100,
        end=pl.max_horizontal(rail, "truth"),
    )
    y = alt.Y("row:N", sort=order, title=None, axis=alt.Axis(labelLimit=160, labelOverlap=False))
    # Room at the right for the error labels, on one x scale shared by every layer.
    top = float(data["end"].max() or 1) * (1.22 if compare else 1.0)
    xscale = alt.Scale(domain=[0, top], nice=False)
    xaxis = alt.Axis(tickCount=4, grid=False)  # the theme's grouped numbers: "~s" wrote 20k (and 2G, not 2B)
    tip = [alt.Tooltip("row:N", title=label), alt.Tooltip("truth:Q", format=",.0f", title=t("charts.rail_truth")), alt.Tooltip("value:Q", format=",.0f", title=theme.LABELS[rail]),
           alt.Tooltip("error:Q", format="+.0%", title=t("charts.error_axis"))]
    bars = alt.Chart(data).mark_bar(color=theme.COLOURS[rail], height=alt.RelativeBandSize(0.55)).encode(
        x=alt.X("value:Q", title=label, scale=xscale, axis=xaxis), y=y, tooltip=tip)
    height = 36 * data.height + 24
    if not compare:
        return bars.properties(height=height, width="container")
    truth = alt.Chart(data).mark_bar(color=theme.COLOURS["truth"], opacity=0.25, height=alt.RelativeBandSize(0.9)).encode(
        x=alt.X("truth:Q", title=label, scale=xscale, axis=xaxis), y=y, tooltip=tip)
    text = alt.Chart(data).mark_text(align="left", dx=4, fontWeight="bold").encode(
        x=alt.X("end:Q", scale=xscale), y=y, text=alt.Text("error:Q", format="+.0%"),
        color=alt.condition("datum.error < 0", alt.value("#c62828"), alt.value(theme.COLOURS["truth"])))
    return alt.layer(truth, bars, text).properties(height=height, width="container")


def country_map(rows: pl.DataFrame, rail: str, world: dict, compare: bool) -> alt.LayerChart:
    """A world map of the country rows (`rows` with an `iso` column): with `compare`, each country
    coloured by the rail's error vs the truth (red: undercounted, blue: overcounted); without, by the
    rail's count. Countries without rows are grey. `world`: TopoJSON with a `countries` object."""
    data = rows.drop_nulls("iso").select(
        "iso", pl.col("country").alias("row"), value=pl.col(rail), truth="truth", error=pl.col(f"{rail}_error_pct") / 100)
    shapes = alt.Data(values=world, format=alt.DataFormat(type="topojson", feature="countries"))
    land = alt.Chart(shapes).mark_geoshape(fill="#e6e6e6", stroke="white", strokeWidth=0.4)
    if compare:
        color = alt.Color("error:Q", title=t("charts.error_axis"), legend=alt.Legend(format="+.0%", orient="bottom"),
                          scale=alt.Scale(domain=[-1, 1], scheme="redblue", domainMid=0))
    else:
        color = alt.Color("value:Q", title=theme.LABELS[rail], legend=alt.Legend(format=",~f", orient="bottom"),
                          scale=alt.Scale(scheme="blues"))
    tip = [alt.Tooltip("row:N", title=t("charts.tip_country")), alt.Tooltip("truth:Q", format=",.0f", title=t("charts.rail_truth")), alt.Tooltip("value:Q", format=",.0f", title=theme.LABELS[rail]),
           alt.Tooltip("error:Q", format="+.0%", title=t("charts.error_axis"))]
    shown = alt.Chart(shapes).mark_geoshape(stroke="white", strokeWidth=0.4).transform_lookup(
        lookup="id", from_=alt.LookupData(data=alt.Data(values=data.to_dicts()), key="iso", fields=["row", "value", "truth", "error"]),
    ).transform_filter("isValid(datum.row)").encode(color=color, tooltip=tip)
    return (land + shown).project(type="equalEarth").properties(height=320, width="container")
