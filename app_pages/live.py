"""Live telemetry: the scenario's hits streamed in accelerated time, the requests each rail fires
for each hit (what an ad blocker stops, what consent withholds), the payload before and after
masking, and "be a visitor": the learner's own consent choice replayed on a real journey."""

import polars as pl
import streamlit as st

from engine import datasets, telemetry
from ui import context
from ui.components.downloads import download_buttons, table_with_downloads
from ui.services import live as live_data

SPEEDS = {"1 hit per second": 1, "5 hits per second": 5, "20 hits per second": 20}
TICK_SECONDS = 1.0
CHOICE_LABELS = {
    "accept_all": "Accept all",
    "reject_all": "Reject all",
    "custom": "Custom: analytics only, no ads",
    "ignore": "Ignore the banner",
}

scenario = context.scenario()
gcs_source = datasets.calibration()["consent_mode"]["gcs"]["source"]
st.title("Live telemetry")
st.markdown(
    "Each hit a browser sends can fire three requests. The **baseline collector** is the web server logging "
    "a page view or an order: server side, so no consent is asked and no ad blocker can stop it. The "
    "**analytics collect call** (`/g/collect`) carries a `gcs` consent code and a client id only with analytics "
    "consent; in Consent Mode *advanced* a refusal still sends a cookieless ping, in *basic* nothing. The "
    "**product-analytics capture call** (`/capture`) fires only with consent. Both client calls are stopped by "
    "an ad blocker unless they go through a first-party server-side proxy. The *after* payload is the row the "
    "rail code stores for that hit."
)
st.caption(f"`gcs` = G1 + ad_storage bit + analytics_storage bit ({gcs_source}). " + context.scenario_caption(scenario))

stream = live_data.stream(scenario)
n_hits = stream["hit"].n_unique()
state = st.session_state
state.setdefault("live.cursor", 0)
state.setdefault("live.paused", False)
state["live.cursor"] = min(state["live.cursor"], n_hits)


def _set_paused(paused: bool) -> None:
    st.session_state["live.paused"] = paused


c1, c2, c3, c4 = st.columns([1, 1, 2, 3])
c1.button("Pause", key="live.pause", on_click=_set_paused, args=(True,), disabled=state["live.paused"], icon=":material/pause:")
c2.button("Resume", key="live.resume", on_click=_set_paused, args=(False,), disabled=not state["live.paused"], icon=":material/play_arrow:")
speed = c3.selectbox("Speed", list(SPEEDS), key="live.speed", label_visibility="collapsed")
c4.caption(f"Streaming the run's first {n_hits:,} hits in time order, {TICK_SECONDS:.0f} tick per second; "
           "the clock shows the simulated time.")


@st.fragment(run_every=None if state["live.paused"] else TICK_SECONDS)
def live_panel() -> None:
    if not st.session_state["live.paused"]:
        st.session_state["live.cursor"] = telemetry.advance(st.session_state["live.cursor"], SPEEDS[speed], n_hits)
    live_data.render_stream(stream, st.session_state["live.cursor"])


with st.container(border=True):
    live_panel()
st.caption("Every request of the streamed hits, with both payloads:")
download_buttons(live_data.display(stream), f"live-stream-{scenario.run_id}")

st.header("Be a visitor")
st.markdown(
    "Pick a real visitor from this run, answer the banner for them and switch their ad blocker on or off: "
    "their hits are replayed with your choice from their first page, through the same rail code."
)
choices = live_data.candidates(scenario)
if state.get("live.visitor", 0) >= len(choices):
    state["live.visitor"] = 0
v1, v2, v3 = st.columns([2, 2, 1])
choice = v1.radio("Your answer to the banner", telemetry.CHOICES, format_func=CHOICE_LABELS.get, key="live.choice")
pick = v2.selectbox("Visitor", range(len(choices)), key="live.visitor",
                    format_func=lambda i: f"Visitor #{choices[i]}")
blocker = v3.toggle("Ad blocker on", key="live.blocker")
reqs, who = live_data.journey(scenario, choices[pick], choice, blocker)
default = "granted" if who["default_granted"] else "denied"
st.caption(
    f"Visitor #{choices[pick]}: {who['browser']} on {who['os']} ({who['device']}), {who['country']} "
    f"({who['region'].upper()}: consent {default} until they answer). {reqs['hit'].n_unique()} hits."
)

counts = telemetry.tally(reqs).filter(pl.col("requests") > 0)
m = st.columns(len(telemetry.REQUESTS))
for col, req in zip(m, telemetry.REQUESTS, strict=True):
    part = counts.filter(pl.col("request") == req)
    sent = int(part.filter(pl.col("status").is_in(["sent", "ping"]))["requests"].sum())
    col.metric(telemetry.REQUEST_LABELS[req], f"{sent} of {int(part['requests'].sum())} reach the rail",
               ", ".join(f"{r['requests']} {r['status_label']}" for r in part.iter_rows(named=True)),
               delta_color="off", delta_arrow="off")
table_with_downloads(live_data.display(reqs), f"live-visitor-{scenario.run_id}-{choices[pick]}-{choice}-{int(blocker)}")
st.caption("Every request this visitor's hits fire under your choice; pings and sent calls reach the full stack.")

labels = [f"{i + 1}. {e}" for i, e in enumerate(reqs.unique("hit", maintain_order=True)["event"])]
if state.get("live.hit", 0) >= len(labels):
    state["live.hit"] = 0
hit = st.select_slider("Show the payloads of hit", options=range(len(labels)), format_func=labels.__getitem__, key="live.hit") if len(labels) > 1 else 0
live_data.render_payloads(reqs.filter(pl.col("hit") == hit))
