"""The Live telemetry page's widgets: the streaming panel (a fragment on a timer), the learner's
visitor controls, and the payload viewers. They own the page's `live.*` session keys."""

from __future__ import annotations

import json

import polars as pl
import streamlit as st

from engine import telemetry
from ui.charts.live import tally_spec
from ui.present import note, show_data
from ui.services.live import display
from ui.words import num, t

RECENT_HITS = 8  # hits listed in the stream's table
SPEEDS = (1, 5, 20)  # hits per second
TICK_SECONDS = 1.0


def choice_label(choice: str) -> str:
    """The learner's answer to the banner, in words."""
    return t(f"live.choice_{choice}")


def render_payloads(rows: pl.DataFrame) -> None:
    """Before and after masking, as JSON, for each request of one hit."""
    for r in rows.iter_rows(named=True):
        st.markdown(t("live.payload_heading", request=telemetry.REQUEST_LABELS[r["request"]], endpoint=r["endpoint"],
                      status=telemetry.STATUS_LABELS[r["status"]]))
        before, after = st.columns(2)
        before.markdown(t("live.before"))
        before.json(json.loads(r["before"]) if r["before"] else {}, expanded=True)
        after.markdown(t("live.after"))
        after.json(json.loads(r["after"]) if r["after"] else {}, expanded=True)


def render_stream(reqs: pl.DataFrame, cursor: int, running: pl.DataFrame | None = None) -> None:
    """What the live panel draws after `cursor` hits: clock, newest requests, payloads, tally (looked
    up in `running`, engine.telemetry.running_tally of `reqs`, when given: a tick then groups nothing)."""
    n_hits = int(reqs["hit"].max() or 0) + 1 if reqs.height else 0
    if cursor <= 0 or n_hits == 0:
        st.info(t("live.paused_first"))
        return
    shown = reqs.filter(pl.col("hit") < cursor)
    latest = shown.filter(pl.col("hit") == cursor - 1)
    c = st.columns(3)
    c[0].metric(t("live.hits_streamed"), t("live.n_of_m", n=num(cursor), m=num(n_hits)))
    c[1].metric(t("live.clock"), latest["ts"][0].strftime("%d %b, %H:%M:%S"))
    c[2].metric(t("live.newest_hit"), latest["event"][0])
    recent = shown.filter(pl.col("hit") >= cursor - RECENT_HITS).sort("hit", descending=True, maintain_order=True)
    with show_data():
        st.dataframe(display(recent), hide_index=True)
    note(t("live.recent_note", n=min(cursor, RECENT_HITS)))
    with st.expander(t("live.payloads_newest"), expanded=True):
        render_payloads(latest)
    now = telemetry.tally(shown) if running is None else running.filter(pl.col("hit") == cursor - 1).drop("hit")
    st.vega_lite_chart(spec=tally_spec(now), width="stretch")
    note(t("live.tally_note", n=num(cursor)))


def _set_paused(paused: bool) -> None:
    st.session_state["live.paused"] = paused


def stream_panel(stream: pl.DataFrame, running: pl.DataFrame) -> None:
    """Pause, Resume and speed, and the panel that advances the stream by itself while not paused."""
    n_hits = stream["hit"].n_unique()
    state = st.session_state
    state.setdefault("live.cursor", 0)
    state.setdefault("live.paused", False)
    state["live.cursor"] = min(state["live.cursor"], n_hits)
    c1, c2, c3, c4 = st.columns([1, 1, 2, 3])
    c1.button(t("live.pause"), key="live.pause", on_click=_set_paused, args=(True,), disabled=state["live.paused"], icon=":material/pause:")
    c2.button(t("live.resume"), key="live.resume", on_click=_set_paused, args=(False,), disabled=not state["live.paused"], icon=":material/play_arrow:")
    speed = c3.selectbox(t("live.speed"), SPEEDS, key="live.speed", label_visibility="collapsed",
                         format_func=lambda n: t("live.speed_one" if n == 1 else "live.speed_many", n=n))
    with c4:
        note(t("live.streaming_note", n=num(n_hits)))

    # Defined on every run: the timer depends on the pause state, and the fragment reads the speed picked above.
    @st.fragment(run_every=None if state["live.paused"] else TICK_SECONDS)
    def live_panel() -> None:
        if not st.session_state["live.paused"]:
            st.session_state["live.cursor"] = telemetry.advance(st.session_state["live.cursor"], speed, n_hits)
        render_stream(stream, st.session_state["live.cursor"], running)

    with st.container(border=True):
        live_panel()


def visitor_controls(choices: list[int]) -> tuple[telemetry.Choice, int, bool]:
    """The learner's answer to the banner, the visitor they play and the ad blocker."""
    if st.session_state.get("live.visitor", 0) >= len(choices):
        st.session_state["live.visitor"] = 0
    v1, v2, v3 = st.columns([2, 2, 1])
    choice = v1.radio(t("live.your_answer"), telemetry.CHOICES, format_func=choice_label, key="live.choice")
    pick = v2.selectbox(t("live.visitor"), range(len(choices)), key="live.visitor",
                        format_func=lambda i: t("live.visitor_n", visitor=choices[i]))
    blocker = v3.toggle(t("live.blocker"), key="live.blocker")
    return choice, choices[pick], blocker


def request_metrics(reqs: pl.DataFrame) -> None:
    """Per request kind: how many of the visitor's requests reach the rail, and what stopped the rest."""
    counts = telemetry.tally(reqs).filter(pl.col("requests") > 0)
    m = st.columns(len(telemetry.REQUESTS))
    for col, req in zip(m, telemetry.REQUESTS, strict=True):
        part = counts.filter(pl.col("request") == req)
        sent = int(part.filter(pl.col("status").is_in(["sent", "ping"]))["requests"].sum())
        col.metric(telemetry.REQUEST_LABELS[req], t("live.reach", n=num(sent), m=num(int(part["requests"].sum()))),
                   ", ".join(t("live.count_status", n=num(r["requests"]), status=r["status_label"]) for r in part.iter_rows(named=True)),
                   delta_color="off", delta_arrow="off")


def hit_payloads(reqs: pl.DataFrame) -> None:
    """A slider over the visitor's hits (when there is more than one) and the payloads of the one picked."""
    labels = [f"{i + 1}. {e}" for i, e in enumerate(reqs.unique("hit", maintain_order=True)["event"])]
    if st.session_state.get("live.hit", 0) >= len(labels):
        st.session_state["live.hit"] = 0
    hit = st.select_slider(t("live.payloads_of_hit"), options=range(len(labels)), format_func=labels.__getitem__, key="live.hit") if len(labels) > 1 else 0
    render_payloads(reqs.filter(pl.col("hit") == hit))
