"""Charts of the Live telemetry page."""

from __future__ import annotations

import copy
import functools
from typing import Any

import altair as alt
import polars as pl

from engine import telemetry
from ui.charts import theme
from ui.words import t


def tally_chart(tally: pl.DataFrame) -> alt.Chart:
    """Requests per endpoint and outcome, one bar each in the rail's colour, labelled on two lines (endpoint,
    outcome): one view at the container's width, so it fits a phone."""
    order = [f"{telemetry.REQUEST_LABELS[r]}|{telemetry.STATUS_LABELS[s]}" for r in telemetry.REQUESTS for s in telemetry.STATUSES]
    return (
        alt.Chart(tally)
        .transform_calculate(label="datum.request_label + '|' + datum.status_label")
        .mark_bar()
        .encode(
            x=alt.X("requests:Q", title=t("live.requests_axis")),
            y=alt.Y("label:N", title=None, sort=order, axis=alt.Axis(labelExpr="split(datum.label, '|')", labelLimit=200)),
            # No legend: each bar's label names its endpoint (a legend was clipped on a phone).
            color=alt.Color("rail:N", scale=theme.rail_scale(("baseline", "fullstack")), legend=None),
            tooltip=["request_label:N", "status_label:N", "requests:Q"],
        )
        .properties(height=alt.Step(34), width="container")
    )


@functools.cache
def _tally_template() -> dict[str, Any]:
    # Altair builds and validates a spec in about 20 ms: done once here, not on every tick of the live panel.
    empty = telemetry.tally(pl.DataFrame(schema={"request": pl.String, "status": pl.String}))
    spec = tally_chart(empty).to_dict()
    spec.pop("data", None)
    spec.pop("datasets", None)
    return spec


def tally_spec(tally: pl.DataFrame) -> dict[str, Any]:
    """The tally chart's Vega-Lite spec with this tally as its named dataset, for st.vega_lite_chart(spec=...)."""
    return theme.spec(copy.deepcopy(_tally_template()) | {"data": {"name": "tally"}, "datasets": {"tally": tally}})
