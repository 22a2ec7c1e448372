"""Live telemetry: the scenario's hits streamed in accelerated time, the requests each rail fires
for each hit (what an ad blocker stops, what consent withholds), the payload before and after
masking, and "be a visitor": the learner's own consent choice replayed on a real journey.
Each section leads with its finding; the method is one click away."""

import streamlit as st

from engine import datasets
from ui import context
from ui.components import live_story as story
from ui.components import live_stream
from ui.components.downloads import download_buttons
from ui.components.takeaway import takeaway
from ui.present import note, show_data
from ui.services import live
from ui.words import language, num, t

scenario = context.scenario()
gcs_source = datasets.calibration()["consent_mode"]["gcs"]["source"]
st.title(t("live.title"))
stream = live.stream(scenario)
takeaway(story.stream_sentence(scenario, language()))
with st.expander(t("live.method_title")):
    st.markdown(t("live.method"))
    st.caption(t("live.gcs", source=gcs_source) + " " + context.scenario_caption(scenario))

live_stream.stream_panel(stream, live.running_tally(scenario))
note(t("live.stream_download"))
download_buttons(live.display(stream), f"live-stream-{scenario.run_id}")

st.header(t("live.visitor_title"))
note(t("live.visitor_intro"))
choice, visitor, blocker = live_stream.visitor_controls(live.candidates(scenario))
reqs, who = live.journey(scenario, visitor, choice, blocker)
takeaway(story.visitor_takeaway(reqs, live_stream.choice_label(choice), blocker))
note(t("live.visitor_who", visitor=visitor, browser=who["browser"], os=who["os"], device=t(f"live.device_{who['device']}"),
       country=who["country"], region=t(f"live.region_{who['region']}"), default=t("live.default_granted" if who["default_granted"] else "live.default_denied"),
       hits=num(reqs["hit"].n_unique())))
live_stream.request_metrics(reqs)
with show_data("live-visitor") as opened:
    if opened:
        live_stream.table(reqs)
        download_buttons(live.display(reqs), f"live-visitor-{scenario.run_id}-{visitor}-{choice}-{int(blocker)}")
note(t("live.visitor_note"))
live_stream.hit_payloads(reqs)
