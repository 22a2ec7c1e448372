"""Live telemetry: the scenario's hits streamed in accelerated time, the requests each rail fires
for each hit (what an ad blocker stops, what consent withholds), the payload before and after
masking, and "be a visitor": the learner's own consent choice replayed on a real journey."""

import streamlit as st

from engine import datasets
from ui import context
from ui.components import live_stream
from ui.components.downloads import download_buttons, table_with_downloads
from ui.services import live

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

stream = live.stream(scenario)
live_stream.stream_panel(stream, live.running_tally(scenario))
st.caption("Every request of the streamed hits, with both payloads:")
download_buttons(live.display(stream), f"live-stream-{scenario.run_id}")

st.header("Be a visitor")
st.markdown(
    "Pick a real visitor from this run, answer the banner for them and switch their ad blocker on or off: "
    "their hits are replayed with your choice from their first page, through the same rail code."
)
choice, visitor, blocker = live_stream.visitor_controls(live.candidates(scenario))
reqs, who = live.journey(scenario, visitor, choice, blocker)
default = "granted" if who["default_granted"] else "denied"
st.caption(
    f"Visitor #{visitor}: {who['browser']} on {who['os']} ({who['device']}), {who['country']} "
    f"({who['region'].upper()}: consent {default} until they answer). {reqs['hit'].n_unique()} hits."
)
live_stream.request_metrics(reqs)
table_with_downloads(live.display(reqs), f"live-visitor-{scenario.run_id}-{visitor}-{choice}-{int(blocker)}")
st.caption("Every request this visitor's hits fire under your choice; pings and sent calls reach the full stack.")
live_stream.hit_payloads(reqs)
