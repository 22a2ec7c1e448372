"""The live-telemetry page's cached data (the hit stream, one visitor's journey) and the drawing
helpers its fragment calls, so they can be tested without the fragment's timer.

Caches are keyed by the scenario's JSON and bounded (entries and time), like ui/data.py.
"""

from __future__ import annotations

import json

import altair as alt
import polars as pl
import streamlit as st

from engine import datasets, telemetry
from engine.scenario import Scenario
from simulators.hits import build_hits
from simulators.traffic import Traffic
from ui.charts import theme
from ui.services import simulation as data

STREAM_HITS = 2_000  # the stream is a demo: the run's first hits in time
RECENT_HITS = 8  # hits listed in the stream's table
DISPLAY_COLUMNS = ("ts", "event", "request", "status", "endpoint", "before", "after")


def stream_hits(scenario: Scenario, traffic: Traffic, n: int = STREAM_HITS) -> pl.DataFrame:
    """The first `n` hits of the run in time order. Only those events are turned into hits: each
    visitor keeps a prefix of their own events in their original order, so every hit is the one
    the whole run would build."""
    ev = traffic.events.with_row_index("_row")
    first = ev.sort("ts", "event_id").head(n).sort("_row").drop("_row")
    hits = build_hits(scenario, Traffic(traffic.visitors, first, traffic.draws))
    return hits.sort("ts", "event_id")


@st.cache_resource(max_entries=8, ttl=3600, show_spinner="Preparing the hit stream…")
def _stream(scenario_json: str) -> pl.DataFrame:
    scenario = Scenario.model_validate_json(scenario_json)
    return telemetry.requests(stream_hits(scenario, data.traffic(scenario)), scenario)


def stream(scenario: Scenario) -> pl.DataFrame:
    """Requests fired by the stream's hits (shared between sessions; read-only)."""
    return _stream(scenario.canonical_json())


@st.cache_data(max_entries=32, ttl=3600, show_spinner=False)
def _candidates(scenario_json: str) -> list[int]:
    scenario = Scenario.model_validate_json(scenario_json)
    site = datasets.site(scenario.site.kind)
    return telemetry.journey_candidates(data.traffic(scenario).events, site["conversion_event"])


def candidates(scenario: Scenario) -> list[int]:
    """Visitor ids with a short journey, to play the visitor with."""
    return _candidates(scenario.canonical_json())


def _one_visitor(traffic: Traffic, visitor_id: int) -> Traffic:
    def keep(f: pl.DataFrame) -> pl.DataFrame:
        return f.filter(pl.col("visitor_id") == visitor_id)

    return Traffic(keep(traffic.visitors), keep(traffic.events), keep(traffic.draws))


@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def _journey(scenario_json: str, visitor_id: int, choice: telemetry.Choice, blocker: bool) -> tuple[pl.DataFrame, dict]:
    scenario = Scenario.model_validate_json(scenario_json)
    one = _one_visitor(data.traffic(scenario), visitor_id)
    visitor = one.visitors.row(0, named=True)
    default = getattr(scenario.consent.defaults, visitor["region"]) == "granted"
    hits = telemetry.as_visitor(build_hits(scenario, one), choice, blocker, default)
    profile = {k: visitor[k] for k in ("region", "country", "device", "browser", "os")} | {"default_granted": default}
    return telemetry.requests(hits, scenario), profile


def journey(scenario: Scenario, visitor_id: int, choice: telemetry.Choice, blocker: bool) -> tuple[pl.DataFrame, dict]:
    """One visitor's requests under the learner's consent choice and ad blocker, and who they are."""
    return _journey(scenario.canonical_json(), visitor_id, choice, blocker)


def display(reqs: pl.DataFrame) -> pl.DataFrame:
    """Requests with readable labels, in the columns the page shows."""
    return reqs.with_columns(
        request=pl.col("request").replace_strict(telemetry.REQUEST_LABELS),
        status=pl.col("status").replace_strict(telemetry.STATUS_LABELS),
    ).select(*DISPLAY_COLUMNS)


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


def render_payloads(rows: pl.DataFrame) -> None:
    """Before and after masking, as JSON, for each request of one hit."""
    for r in rows.iter_rows(named=True):
        st.markdown(f"**{telemetry.REQUEST_LABELS[r['request']]}** → `{r['endpoint']}` · {telemetry.STATUS_LABELS[r['status']]}")
        before, after = st.columns(2)
        before.caption("Before: what the browser or web server sends")
        before.json(json.loads(r["before"]) if r["before"] else {}, expanded=True)
        after.caption("After: the row the rail stores (engine.rails)")
        after.json(json.loads(r["after"]) if r["after"] else {}, expanded=True)


def render_stream(reqs: pl.DataFrame, cursor: int) -> None:
    """What the live panel draws after `cursor` hits: clock, newest requests, payloads, tally."""
    n_hits = int(reqs["hit"].max() or 0) + 1 if reqs.height else 0
    if cursor <= 0 or n_hits == 0:
        st.info("The stream is paused before its first hit: press Resume.")
        return
    shown = reqs.filter(pl.col("hit") < cursor)
    latest = shown.filter(pl.col("hit") == cursor - 1)
    c = st.columns(3)
    c[0].metric("Hits streamed", f"{cursor:,} of {n_hits:,}")
    c[1].metric("Simulated clock (UTC)", latest["ts"][0].strftime("%d %b, %H:%M:%S"))
    c[2].metric("Newest hit", latest["event"][0])
    recent = shown.filter(pl.col("hit") >= cursor - RECENT_HITS).sort("hit", descending=True, maintain_order=True)
    st.dataframe(display(recent), hide_index=True)
    st.caption(f"Requests fired by the newest {min(cursor, RECENT_HITS)} hits, newest first (download the whole stream below the panel).")
    with st.expander("Payloads of the newest hit, before and after masking", expanded=True):
        render_payloads(latest)
    st.altair_chart(tally_chart(telemetry.tally(shown)))
    st.caption(f"Requests fired by the {cursor:,} hits streamed so far, by endpoint and outcome (computed from this simulated run).")
