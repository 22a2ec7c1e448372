"""The Live telemetry page's widgets: the streaming panel (a fragment on a timer, paused until the learner
presses Start), the learner's visitor controls, and the payloads as a diff of what masking did. They own
the page's `live.*` session keys."""

from __future__ import annotations

import json

import polars as pl
import streamlit as st

from engine import telemetry
from ui.charts.live import tally_spec
from ui.components import data_words, payload_diff
from ui.present import note, show_data
from ui.services.live import display
from ui.words import day, num, t

RECENT_HITS = 8  # hits listed in the stream's table
SPEEDS = (1, 5, 20)  # hits per second
TICK_SECONDS = 1.0


def choice_label(choice: str) -> str:
    """The learner's answer to the banner, in words."""
    return t(f"live.choice_{choice}")


def request_label(request: str) -> str:
    return t(f"live.request_{request}")


def status_label(status: str) -> str:
    return t(f"live.status_{status}")


def table(reqs: pl.DataFrame) -> None:
    """Requests as a table people read: kinds, outcomes and events in words, columns labelled."""
    shown = data_words.in_words(display(reqs), {"request": request_label, "status": status_label, "event": data_words.event})
    st.dataframe(shown.to_arrow(), hide_index=True, column_config=data_words.columns(shown, lambda c: t(f"live.col.{c}")))


def render_payloads(rows: pl.DataFrame, raw: bool = False) -> None:
    """For each request of one hit: what masking did to each field sent (struck out, highlighted, kept);
    with `raw`, both JSON payloads one click away."""
    for r in rows.iter_rows(named=True):
        st.markdown(t("live.payload_heading", request=request_label(r["request"]), endpoint=payload_diff.literal(r["endpoint"]),
                      status=status_label(r["status"])))
        if not r["before"]:
            st.caption(t("live.diff_nothing_sent"))
            continue
        if not r["after"]:
            st.caption(t("live.diff_nothing_stored"))
        st.markdown(payload_diff.markdown(payload_diff.diff(r["request"], r["before"], r["after"])))
    if raw:
        with show_data("live-payloads") as opened:
            if opened:
                for r in rows.iter_rows(named=True):
                    st.markdown(t("live.payload_heading", request=request_label(r["request"]), endpoint=payload_diff.literal(r["endpoint"]),
                                  status=status_label(r["status"])))
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
    ts = latest["ts"][0]
    c[1].metric(t("live.clock"), f"{day(ts)}, {ts:%H:%M:%S}")
    c[2].metric(t("live.newest_hit"), data_words.event(latest["event"][0]))
    with st.expander(t("live.payloads_newest"), expanded=True):
        render_payloads(latest)
    recent = shown.filter(pl.col("hit") >= cursor - RECENT_HITS).sort("hit", descending=True, maintain_order=True)
    with show_data("live-recent") as opened:
        if opened:
            table(recent)
            note(t("live.recent_note", n=min(cursor, RECENT_HITS)))
    now = telemetry.tally(shown) if running is None else running.filter(pl.col("hit") == cursor - 1).drop("hit")
    st.vega_lite_chart(spec=tally_spec(now), width="stretch")
    note(t("live.tally_note", n=num(cursor)))


def _toggle() -> None:
    st.session_state["live.paused"] = not st.session_state["live.paused"]


def stream_panel(stream: pl.DataFrame, running: pl.DataFrame) -> None:
    """Start / Pause and the speed (outside the fragment), and the panel that advances the stream by
    itself while running. The stream starts paused: an open tab costs nothing until someone presses Start,
    and while it runs only the fragment reruns (no whole-page rerun, no "Running" over the page)."""
    n_hits = stream["hit"].n_unique()
    state = st.session_state
    state.setdefault("live.cursor", 0)
    state.setdefault("live.paused", True)
    state["live.cursor"] = min(state["live.cursor"], n_hits)
    paused = state["live.paused"]
    c1, c2, c3 = st.columns([1, 2, 3])
    if paused:
        c1.button(t("live.start" if state["live.cursor"] == 0 else "live.resume"), key="live.play", on_click=_toggle,
                  icon=":material/play_arrow:", type="primary")
    else:
        c1.button(t("live.pause"), key="live.play", on_click=_toggle, icon=":material/pause:")
    speed = c2.selectbox(t("live.speed"), SPEEDS, key="live.speed", label_visibility="collapsed",
                         format_func=lambda n: t("live.speed_one" if n == 1 else "live.speed_many", n=n))
    with c3:
        note(t("live.streaming_note", n=num(n_hits)))

    # Defined on every run: the timer depends on the pause state, and the fragment reads the speed picked above.
    @st.fragment(run_every=None if paused else TICK_SECONDS)
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
    # By position: the widget keeps a number, never a code (its options read in words in every language).
    picked = v1.radio(t("live.your_answer"), range(len(telemetry.CHOICES)), format_func=lambda i: choice_label(telemetry.CHOICES[i]),
                      key="live.choice")
    choice = telemetry.CHOICES[picked]
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
        col.metric(t("live.reach_label", request=request_label(req)), t("live.n_of_m", n=num(sent), m=num(int(part["requests"].sum()))),
                   ", ".join(t("live.count_status", n=num(r["requests"]), status=status_label(r["status"])) for r in part.iter_rows(named=True)),
                   delta_color="off", delta_arrow="off")


def hit_payloads(reqs: pl.DataFrame) -> None:
    """A slider over the visitor's hits (when there is more than one) and the payloads of the one picked."""
    labels = [t("live.hit_label", n=i + 1, event=data_words.event(e)) for i, e in enumerate(reqs.unique("hit", maintain_order=True)["event"])]
    if st.session_state.get("live.hit", 0) >= len(labels):
        st.session_state["live.hit"] = 0
    hit = st.select_slider(t("live.payloads_of_hit"), options=range(len(labels)), format_func=labels.__getitem__, key="live.hit") if len(labels) > 1 else 0
    render_payloads(reqs.filter(pl.col("hit") == hit), raw=True)
