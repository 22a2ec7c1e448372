"""Charts of the Live telemetry page."""

from __future__ import annotations

import copy
import functools
from typing import Any

import altair as alt
import polars as pl

from engine import telemetry
from ui import words
from ui.charts import theme
from ui.words import t


def request_name(request: str) -> str:
    """A request kind's name for people ("Baseline collector (server side)" for collector)."""
    return t(f"charts.request_{request}")


def status_name(status: str) -> str:
    """A request outcome's name for people ("blocked by an ad blocker" for blocked)."""
    return t(f"charts.status_{status}")


def _named(tally: pl.DataFrame) -> pl.DataFrame:
    return tally.with_columns(request_label=pl.col("request").replace_strict({r: request_name(r) for r in telemetry.REQUESTS}),
                              status_label=pl.col("status").replace_strict({s: status_name(s) for s in telemetry.STATUSES}))


def tally_chart(tally: pl.DataFrame) -> alt.Chart:
    """Requests per endpoint and outcome, one bar each in the rail's colour, labelled on two lines (endpoint,
    outcome): one view at the container's width, so it fits a phone."""
    order = [f"{request_name(r)}|{status_name(s)}" for r in telemetry.REQUESTS for s in telemetry.STATUSES]
    return (
        alt.Chart(_named(tally))
        .transform_calculate(label="datum.request_label + '|' + datum.status_label")
        .mark_bar()
        .encode(
            x=alt.X("requests:Q", title=t("live.requests_axis")),
            y=alt.Y("label:N", title=None, sort=order, axis=alt.Axis(labelExpr="split(datum.label, '|')", labelLimit=200)),
            # No legend: each bar's label names its endpoint (a legend was clipped on a phone).
            color=alt.Color("rail:N", scale=theme.rail_scale(("baseline", "fullstack")), legend=None),
            tooltip=[alt.Tooltip("request_label:N", title=t("charts.tip_request")), alt.Tooltip("status_label:N", title=t("charts.tip_status")),
                     alt.Tooltip("requests:Q", format=",.0f", title=t("live.requests_axis"))],
        )
        .properties(height=theme.rows_height(len(order), 34), width="container")
    )


@functools.cache
def _tally_template(lang: str) -> dict[str, Any]:
    # Altair builds and validates a spec in about 20 ms: done once per language here, not on every tick of the live panel.
    empty = telemetry.tally(pl.DataFrame(schema={"request": pl.String, "status": pl.String}))
    with words.speaking(lang):
        spec = tally_chart(empty).to_dict()
    spec.pop("data", None)
    spec.pop("datasets", None)
    return spec


def tally_spec(tally: pl.DataFrame) -> dict[str, Any]:
    """The tally chart's Vega-Lite spec with this tally (named in the language spoken) as its named dataset,
    for st.vega_lite_chart(spec=...)."""
    return theme.spec(copy.deepcopy(_tally_template(words.language())) | {"data": {"name": "tally"}, "datasets": {"tally": _named(tally)}})
