"""Charts of the Funnels page: users per step and rail, the drop-off curve, the breakdown by trait."""

from __future__ import annotations

import altair as alt
import polars as pl

from ui.charts import theme

RAILS = ("truth", "baseline", "fullstack")


def users_per_step(table: pl.DataFrame, steps: list[str]) -> alt.Chart:
    return alt.Chart(table).mark_bar().encode(
        x=alt.X("event:N", sort=steps, title=None), xOffset=alt.XOffset("rail:N", sort=list(RAILS)),
        y=alt.Y("users:Q", title="users reaching the step"), color=theme.rail_color(rails=RAILS),
        tooltip=["rail", "step", "event", "users", "drop_off", alt.Tooltip("conversion_from_previous:Q", format=".1%")],
    ).properties(height=280)


def drop_off(table: pl.DataFrame, steps: list[str]) -> alt.Chart:
    return alt.Chart(table).mark_line(point=True).encode(
        x=alt.X("event:N", sort=steps, title=None), y=alt.Y("conversion_from_start:Q", title="share of step-1 users", axis=alt.Axis(format="%")),
        color=theme.rail_color(rails=RAILS), tooltip=["rail", "event", alt.Tooltip("conversion_from_start:Q", format=".1%")],
    ).properties(height=240)


def breakdown(part: pl.DataFrame, label: str, last_step: str) -> alt.Chart:
    """Step 1 to the last step, per value of one trait, bars per rail."""
    return alt.Chart(part).mark_bar().encode(
        x=alt.X("value:N", title=label), xOffset=alt.XOffset("rail:N", sort=list(RAILS)),
        y=alt.Y("conversion_from_start:Q", title=f"step 1 → {last_step}", axis=alt.Axis(format="%")),
        color=theme.rail_color(rails=RAILS),
        tooltip=["rail", "value", "users", alt.Tooltip("conversion_from_start:Q", format=".1%")],
    ).properties(height=260)
