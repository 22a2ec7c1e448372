"""Charts of the Funnels page: users per step and rail, the drop-off curve, the breakdown by trait."""

from __future__ import annotations

import altair as alt
import polars as pl

from ui.charts import theme
from ui.words import t

RAILS = ("truth", "baseline", "fullstack")


@theme.drawn
def users_per_step(table: pl.DataFrame, steps: list[str], pinned: pl.DataFrame | None = None) -> alt.Chart:
    """Bars per step and rail; with a pinned scenario, its full stack drawn faintly beside the current one."""
    data = table.with_columns(scenario=pl.lit("current"), slot=pl.col("rail"))
    slots = list(RAILS)
    if pinned is not None:
        data = pl.concat([data, pinned.filter(pl.col("rail") == "fullstack").with_columns(scenario=pl.lit("pinned"), slot=pl.lit("pinned"))],
                         how="diagonal_relaxed")
        slots = ["truth", "baseline", "pinned", "fullstack"]
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("event:N", sort=steps, title=None, axis=alt.Axis(labelAngle=0, labelLimit=140)),
        xOffset=alt.XOffset("slot:N", sort=slots),
        y=alt.Y("users:Q", title=t("funnels.users_axis")), color=theme.rail_color(rails=RAILS),
        opacity=alt.Opacity("scenario:N", scale=alt.Scale(domain=["pinned", "current"], range=[0.3, 1.0]), legend=None),
        tooltip=["rail", "scenario", "step", "event", "users", "drop_off", alt.Tooltip("conversion_from_previous:Q", format=".1%")],
    ).properties(height=280, width="container")


@theme.drawn
def drop_off(table: pl.DataFrame, steps: list[str]) -> alt.Chart:
    return alt.Chart(table).mark_line(point=True, strokeWidth=3).encode(
        x=alt.X("event:N", sort=steps, title=None, axis=alt.Axis(labelAngle=0, labelLimit=140)),
        y=alt.Y("conversion_from_start:Q", title=t("funnels.start_axis"), axis=alt.Axis(format="%")),
        color=theme.rail_color(rails=RAILS), tooltip=["rail", "event", alt.Tooltip("conversion_from_start:Q", format=".1%")],
    ).properties(height=240, width="container")


@theme.drawn
def breakdown(part: pl.DataFrame, label: str, last_step: str) -> alt.Chart:
    """Step 1 to the last step, per value of one trait, bars per rail."""
    return alt.Chart(part).mark_bar().encode(
        x=alt.X("value:N", title=label, axis=alt.Axis(labelAngle=0)), xOffset=alt.XOffset("rail:N", sort=list(RAILS)),
        y=alt.Y("conversion_from_start:Q", title=f"1 → {last_step}", axis=alt.Axis(format="%")),
        color=theme.rail_color(rails=RAILS),
        tooltip=["rail", "value", "users", alt.Tooltip("conversion_from_start:Q", format=".1%")],
    ).properties(height=260, width="container")
