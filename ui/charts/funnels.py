"""Charts of the Funnels page: users per step and rail, the drop-off curve, the breakdown by trait.
Events, traits and rails by their names for people; bars horizontal, so names read across and a phone fits them."""

from __future__ import annotations

import altair as alt
import polars as pl

from ui.charts import theme
from ui.words import t

RAILS = ("truth", "baseline", "fullstack")


def _named(table: pl.DataFrame) -> pl.DataFrame:
    return table.with_columns(event_name=pl.col("event").replace_strict(theme.value_names(table["event"].unique())),
                              rail_name=pl.col("rail").replace_strict(dict(theme.LABELS)))


def _tip() -> list[alt.Tooltip]:
    return [alt.Tooltip("event_name:N", title=t("charts.tip_step")), alt.Tooltip("rail_name:N", title=t("charts.tip_rail")),
            alt.Tooltip("users:Q", format=",.0f", title=t("funnels.users_axis")),
            alt.Tooltip("conversion_from_start:Q", format=".1%", title=t("funnels.start_axis"))]


@theme.drawn
def users_per_step(table: pl.DataFrame, steps: list[str], pinned: pl.DataFrame | None = None) -> alt.Chart:
    """Horizontal bars per step and rail; with a pinned scenario, its full stack drawn faintly beside the current one."""
    data = table.with_columns(scenario=pl.lit("current"), slot=pl.col("rail"))
    slots = list(RAILS)
    if pinned is not None:
        data = pl.concat([data, pinned.filter(pl.col("rail") == "fullstack").with_columns(scenario=pl.lit("pinned"), slot=pl.lit("pinned"))],
                         how="diagonal_relaxed")
        slots = ["truth", "baseline", "pinned", "fullstack"]
    data = _named(data)
    return alt.Chart(data).mark_bar().encode(
        y=alt.Y("event_name:N", sort=[theme.value_name(s) for s in steps], title=None, axis=alt.Axis(labelLimit=180)),
        yOffset=alt.YOffset("slot:N", sort=slots),
        x=alt.X("users:Q", title=t("funnels.users_axis")), color=theme.rail_color(rails=RAILS),
        opacity=alt.Opacity("scenario:O", sort=["pinned", "current"], scale=alt.Scale(domain=["pinned", "current"], range=[0.3, 1.0]),
                            legend=None),
        tooltip=_tip(),
    ).properties(height=theme.rows_height(len(steps), 12 * len(slots) + 14), width="container")


@theme.drawn
def drop_off(table: pl.DataFrame, steps: list[str]) -> alt.LayerChart:
    """Share of the first step's users left at each step, per rail; the truth dashed and drawn last, so it
    stays visible where the full stack's line runs on top of it."""
    data = _named(table)
    y = alt.Y("conversion_from_start:Q", title=t("funnels.start_axis"), axis=alt.Axis(format="%"))
    colour = theme.rail_color(rails=RAILS)
    data = data.with_columns(event_line=theme.each(data["event_name"], lambda s: theme.wrap(s, 12)))
    x = alt.X("event_line:N", sort=[theme.wrap(theme.value_name(s), 12) for s in steps], title=None,
              axis=alt.Axis(labelAngle=0, labelLimit=110, labelExpr=theme.WRAPPED))
    others = alt.Chart(data.filter(pl.col("rail") != "truth")).mark_line(point=True, strokeWidth=3).encode(
        x=x, y=y, color=colour, tooltip=_tip())
    truth = alt.Chart(data.filter(pl.col("rail") == "truth")).mark_line(point=alt.OverlayMarkDef(filled=False, size=90), strokeWidth=3,
                                                                          strokeDash=[7, 5]).encode(x=x, y=y, color=colour, tooltip=_tip())
    return alt.layer(others, truth).properties(height=260, width="container")


@theme.drawn
def breakdown(part: pl.DataFrame, label: str, last_step: str) -> alt.Chart:
    """Step 1 to the last step, per value of one trait, bars per rail (only the rails that have data: a rail
    without a bar has no place in the legend)."""
    rails = tuple(r for r in RAILS if r in set(part["rail"]))
    data = part.with_columns(value_name=pl.col("value").replace_strict(theme.value_names(part["value"].unique())),
                             rail_name=pl.col("rail").replace_strict(dict(theme.LABELS)))
    axis = t("charts.funnel_to_last", step=theme.value_name(last_step))
    return alt.Chart(data).mark_bar().encode(
        y=alt.Y("value_name:N", title=label, axis=alt.Axis(labelLimit=180)), yOffset=alt.YOffset("rail:N", sort=list(rails)),
        x=alt.X("conversion_from_start:Q", title=axis, axis=alt.Axis(format="%")),
        color=theme.rail_color(rails=rails),
        tooltip=[alt.Tooltip("value_name:N", title=label), alt.Tooltip("rail_name:N", title=t("charts.tip_rail")),
                 alt.Tooltip("users:Q", format=",.0f", title=t("funnels.users_axis")),
                 alt.Tooltip("conversion_from_start:Q", format=".1%", title=axis)],
    ).properties(height=theme.rows_height(data["value"].n_unique(), 12 * max(len(rails), 1) + 16), width="container")
