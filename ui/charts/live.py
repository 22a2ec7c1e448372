"""Charts of the Live telemetry page."""

from __future__ import annotations

import copy
import functools
from typing import Any

import altair as alt
import polars as pl

from engine import telemetry
from ui.charts import theme


def tally_chart(tally: pl.DataFrame) -> alt.Chart:
    """Requests per endpoint and outcome, one row of bars per endpoint, in the rails' colours."""
    return (
        alt.Chart(tally)
        .mark_bar()
        .encode(
            x=alt.X("requests:Q", title="requests"),
            y=alt.Y("status_label:N", title=None, sort=[telemetry.STATUS_LABELS[s] for s in telemetry.STATUSES],
                    axis=alt.Axis(labelLimit=200)),
            color=theme.rail_color(rails=("baseline", "fullstack")),
            row=alt.Row("request_label:N", title=None, sort=[telemetry.REQUEST_LABELS[r] for r in telemetry.REQUESTS],
                        header=alt.Header(labelAngle=0, labelAlign="left")),
            tooltip=["request_label", "status_label", "requests"],
        )
        .properties(height=90, width=420)
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
    return copy.deepcopy(_tally_template()) | {"data": {"name": "tally"}, "datasets": {"tally": tally}}
