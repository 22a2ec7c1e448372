"""Charts of the Data rights page."""

from __future__ import annotations

import altair as alt
import polars as pl

from engine import schema


def retention(report: pl.DataFrame) -> alt.Chart:
    """Rows kept (grey) and removed (red) per table and row PII level."""
    bars = report.select("table", "level_name", "kept", removed="expired").unpivot(
        index=["table", "level_name"], variable_name="status", value_name="rows"
    )
    return (
        alt.Chart(bars)
        .mark_bar()
        .encode(
            x=alt.X("level_name:N", sort=[lv.name for lv in schema.Level], title="row PII level"),
            y=alt.Y("rows:Q", title="rows"),
            color=alt.Color("status:N", scale=alt.Scale(domain=["kept", "removed"], range=["#90a4ae", "#c62828"]), title=None),
            column=alt.Column("table:N", title=None),
            tooltip=["table", "level_name", "status", alt.Tooltip("rows:Q", format=",.0f")],
        )
        .resolve_scale(y="independent")
        .properties(width=100, height=220)
    )
