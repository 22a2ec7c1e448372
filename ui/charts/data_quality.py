"""Charts of the Data quality page: capture per event type, delay and clock-skew distributions, missing fields.
Events, fields and delay buckets by their names for people, from the catalogue."""

from __future__ import annotations

import altair as alt
import polars as pl

from ui.charts import theme
from ui.words import t

RAILS = ("baseline", "fullstack")
MEASURES = {"delay": "delay", "clock skew": "clock_skew"}  # engine's measure -> catalogue key part


def field_name(field: str) -> str:
    """A stored column's name for people ("Device cookie id" for device_id)."""
    return t(f"charts.field_{field}")


def _capture_named(cap: pl.DataFrame) -> pl.DataFrame:
    return cap.with_columns(event_name=pl.col("event").replace_strict(theme.value_names(cap["event"].unique())),
                            rail_name=pl.col("rail").replace_strict(dict(theme.LABELS)))


@theme.drawn
def capture(cap: pl.DataFrame, pinned: pl.DataFrame | None = None) -> alt.Chart | alt.LayerChart:
    """Share of the true events each rail recorded, per event type (grouped horizontal bars).
    With a pinned scenario's capture table, its shares are drawn faintly on the bars, as dark ticks."""
    data = _capture_named(cap)
    order = data.sort("truth", descending=True)["event_name"].unique(maintain_order=True).to_list()
    y = alt.Y("event_name:N", sort=order, title=None, axis=alt.Axis(labelLimit=160))  # an explicit order: both layers keep it
    offset = alt.YOffset("rail:N", sort=list(RAILS))
    bars = alt.Chart(data).mark_bar().encode(
        y=y, yOffset=offset,
        x=alt.X("capture_rate:Q", title=t("charts.quality_capture_axis"), axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        color=theme.rail_color(rails=RAILS, orient="bottom"),
        tooltip=[alt.Tooltip("event_name:N", title=t("charts.tip_event")), alt.Tooltip("rail_name:N", title=t("charts.tip_rail")),
                 alt.Tooltip("truth:Q", format=",.0f", title=t("charts.rail_truth")),
                 alt.Tooltip("recorded:Q", format=",.0f", title=t("charts.quality_recorded")),
                 alt.Tooltip("capture_rate:Q", format=".1%", title=t("charts.quality_capture_axis"))],
    )
    size = {"height": theme.rows_height(data["event"].n_unique(), 26), "width": "container"}
    before = None if pinned is None else _capture_named(pinned)
    return _with_pin(bars, before, data, ("event", "rail"), y, offset, "capture_rate", ("event_name", "charts.tip_event"), size)


@theme.drawn
def timing(timings: pl.DataFrame, measure: str) -> alt.Chart:
    """Share of the full stack's hits per delay (or clock offset) bucket; late buckets in red."""
    kinds = {"on_time": t("charts.quality_on_time"), "late": t("charts.quality_late")}
    data = timings.filter(pl.col("measure") == measure).with_columns(
        late=pl.when(pl.col("order") >= 4).then(pl.lit("late")).otherwise(pl.lit("on_time")),
    )
    data = data.with_columns(bucket=theme.each(data["order"], lambda o: t(f"charts.quality_bucket_{o}")))
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("bucket:N", sort=alt.SortField("order"), title=None, axis=alt.Axis(labelLimit=160)),
            x=alt.X("share:Q", title=t("charts.quality_share_axis"), axis=alt.Axis(format="~%", values=[0, 0.01, 0.1, 1]),
                    scale=alt.Scale(type="symlog", constant=0.001)),
            color=alt.Color("late:N", scale=alt.Scale(domain=list(kinds), range=[theme.COLOURS["fullstack"], theme.LOSS]),
                            title=None, legend=alt.Legend(orient="bottom", labelExpr=theme.label_expr(kinds))),
            tooltip=[alt.Tooltip("bucket:N", title=t(f"charts.quality_title_{MEASURES[measure]}")),
                     alt.Tooltip("events:Q", format=",.0f", title=t("charts.quality_hits")), alt.Tooltip("share:Q", format=".2%", title=t("charts.tip_share"))],
        )
        .properties(height=theme.rows_height(data.height, 26, 20), width="container",
                    title=alt.Title(t(f"charts.quality_title_{MEASURES[measure]}"), anchor="start"))
    )


def _missing_named(m: pl.DataFrame) -> pl.DataFrame:
    return m.with_columns(field=pl.col("field").replace_strict({f: field_name(f) for f in m["field"].unique()}),
                          rail_name=pl.col("rail").replace_strict(dict(theme.LABELS)))


@theme.drawn
def missing(m: pl.DataFrame, pinned: pl.DataFrame | None = None) -> alt.Chart | alt.LayerChart:
    """Share of rows without each field, per rail (fields that are never missing left out), most missing first.
    With a pinned scenario's table, its shares are drawn faintly on the bars, as dark ticks."""
    data = _missing_named(m.filter(pl.col("missing_rate") > 0))
    totals = data.group_by("field", maintain_order=True).agg(pl.col("missing_rate").sum())
    order = totals.sort("missing_rate", descending=True, maintain_order=True)["field"].to_list()
    # Most missing first: by the bars' length alone, or (with a pin) as an explicit order both layers keep.
    y = alt.Y("field:N", sort="-x" if pinned is None else order, title=None, axis=alt.Axis(labelLimit=200))
    offset = alt.YOffset("rail:N", sort=list(RAILS))
    bars = alt.Chart(data).mark_bar().encode(
        y=y, yOffset=offset,
        x=alt.X("missing_rate:Q", title=t("charts.quality_missing_axis"), axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        color=theme.rail_color(rails=RAILS, orient="bottom"),
        tooltip=[alt.Tooltip("field:N", title=t("charts.tip_field")), alt.Tooltip("rail_name:N", title=t("charts.tip_rail")),
                 alt.Tooltip("missing_rate:Q", format=".1%", title=t("charts.quality_missing_axis"))],
    )
    size = {"height": theme.rows_height(data["field"].n_unique(), 24), "width": "container"}
    # The pin's rows of the fields shown, a field it never missed included: its tick at zero shows what changed.
    before = None if pinned is None else _missing_named(pinned)
    return _with_pin(bars, before, data, ("field", "rail"), y, offset, "missing_rate", ("field", "charts.tip_field"), size)


def _with_pin(bars: alt.Chart, before: pl.DataFrame | None, shown: pl.DataFrame, keys: tuple[str, str], y: alt.Y,
              offset: alt.YOffset, value: str, name: tuple[str, str], size: dict) -> alt.Chart | alt.LayerChart:
    """The bars alone, or with the pinned scenario's values (its rows of the bars shown) as faint ticks."""
    if before is None:
        return bars.properties(**size)
    ticks = theme.pinned_ticks(
        before.join(shown.select(*keys), on=list(keys), how="semi"), y=y, yOffset=offset, x=alt.X(f"{value}:Q"),
        tooltip=[alt.Tooltip(f"{name[0]}:N", title=t(name[1])), alt.Tooltip("rail_name:N", title=t("charts.tip_rail")),
                 alt.Tooltip(f"{value}:Q", format=".1%", title=t("charts.scenario_pinned"))])
    return alt.layer(bars, ticks).properties(**size)
