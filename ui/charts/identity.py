"""Chart of the Identity page: precision and recall of "same person" per method, in the rail colours."""

from __future__ import annotations

import altair as alt
import polars as pl

from ui.charts import theme
from ui.words import pct, t

MEASURES = ("precision", "recall")


def method_name(method: str) -> str:
    """An identity method's name for people ("Device cookie" for device_cookie)."""
    return t(f"charts.identity_method_{method}")


def _named(scores: pl.DataFrame) -> pl.DataFrame:
    return scores.with_columns(label=pl.col("method").replace_strict({m: method_name(m) for m in scores["method"].unique()}))


def _long(scores: pl.DataFrame) -> pl.DataFrame:
    """One row per method and measure: the method's name, the measure's key and name, the value."""
    measures = {m: t(f"charts.identity_{m}") for m in MEASURES}
    long = scores.select("rail", "label", *MEASURES).unpivot(index=["rail", "label"], variable_name="measure", value_name="value").drop_nulls("value")
    return long.with_columns(measure_name=pl.col("measure").replace_strict(measures))


@theme.drawn
def precision_recall_chart(scores: pl.DataFrame, pinned: pl.DataFrame | None = None) -> alt.LayerChart:
    """Two bars per method (precision solid, recall pale), coloured by the rail that holds the data;
    each bar carries its own percentage so the room need not read the axis. With a pinned scenario's
    scores, its precision and recall are drawn faintly on the bars, as dark ticks."""
    scores = _named(scores)
    long = _long(scores)
    long = long.with_columns(text=pl.Series(
        [f"{m} {pct(v)}" for m, v in zip(long["measure_name"], long["value"], strict=True)], dtype=pl.String))
    rails = tuple(r for r in theme.RAILS if r in set(scores["rail"]))
    y = alt.Y("label:N", sort=scores["label"].to_list(), title=None, axis=alt.Axis(labelLimit=130))  # explicit: all layers keep it
    offset = alt.YOffset("measure:N", sort=list(MEASURES))
    base = alt.Chart(long).encode(
        y=y, yOffset=offset,
        x=alt.X("value:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1]),
                title=t("charts.identity_pairs_axis")),
        tooltip=[alt.Tooltip("label:N", title=t("charts.tip_method")), alt.Tooltip("measure_name:N", title=t("charts.tip_measure")),
                 alt.Tooltip("value:Q", format=".1%", title=t("charts.tip_share"))],
    )
    bars = base.mark_bar().encode(
        color=theme.rail_color(rails=rails, title=None, orient="bottom", columns=1),
        opacity=alt.Opacity("measure:O", sort=list(MEASURES), scale=alt.Scale(domain=list(MEASURES), range=[1.0, 0.45]), legend=None),  # each bar is labelled
    )
    # Long bars carry their label inside (white on the solid bar, dark on the pale one), short ones just outside.
    inside = base.mark_text(align="right", dx=-4, fontWeight="bold").encode(
        text="text:N",
        color=alt.condition(alt.datum.measure == "precision", alt.value("white"), alt.value("#111111")),
    ).transform_filter(alt.datum.value >= 0.4)
    outside = base.mark_text(align="left", dx=4, fontWeight="bold", color="#111111").encode(
        text="text:N").transform_filter(alt.datum.value < 0.4)
    layers = [bars]
    if pinned is not None:
        before = _long(_named(pinned)).join(long.select("label", "measure"), on=["label", "measure"], how="semi")
        layers.append(theme.pinned_ticks(
            before, y=y, yOffset=offset, x=alt.X("value:Q"),
            tooltip=[alt.Tooltip("label:N", title=t("charts.tip_method")), alt.Tooltip("measure_name:N", title=t("charts.tip_measure")),
                     alt.Tooltip("value:Q", format=".1%", title=t("charts.scenario_pinned"))]))
    # Legends below the chart: on a phone a legend at the side leaves the bars no room.
    return alt.layer(*layers, inside, outside).properties(height=theme.rows_height(scores.height, 50), width="container")


@theme.drawn
def cross_device_chart(xd: pl.DataFrame) -> alt.LayerChart:
    """One bar per method: the share of the true multi-device people it joined across devices, in the rail colours."""
    xd = _named(xd)
    data = xd.select("rail", "label", "share_joined", "joined", "multi_device_people").drop_nulls("share_joined")
    data = data.with_columns(text=theme.each(data["share_joined"], pct))
    rails = tuple(r for r in theme.RAILS if r in set(xd["rail"]))
    base = alt.Chart(data).encode(
        y=alt.Y("label:N", sort=xd["label"].to_list(), title=None, axis=alt.Axis(labelLimit=130)),
        x=alt.X("share_joined:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1]),
                title=t("charts.identity_joined_axis")),
        tooltip=[alt.Tooltip("label:N", title=t("charts.tip_method")), alt.Tooltip("share_joined:Q", format=".1%", title=t("charts.identity_joined_axis")),
                 alt.Tooltip("joined:Q", format=",.0f", title=t("charts.identity_joined")),
                 alt.Tooltip("multi_device_people:Q", format=",.0f", title=t("charts.identity_multi_device"))],
    )
    # The legend below the chart (set on the encoding: a legend-level orient wins over configure_legend).
    bars = base.mark_bar().encode(color=theme.rail_color(rails=rails, title=None, orient="bottom", columns=1))
    text = base.mark_text(align="left", dx=4, fontWeight="bold", color="#111111").encode(text="text:N")
    return (bars + text).properties(height=theme.rows_height(data.height, 30), width="container")
