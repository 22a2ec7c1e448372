"""Live telemetry page (AppTest): starts paused, renders with its chart once started, Start/Pause drive the stream's state,
the payloads show what masking did (removed struck out, changed highlighted),
"be a visitor" follows the learner's choice, a banner change moves the full stack and not the
baseline. The fragment's timer does not tick in AppTest, so its drawing function is also run
on its own."""

from __future__ import annotations

import io
import json
import re

import polars as pl
import pytest
from apptest_helpers import open_data
from streamlit.testing.v1 import AppTest

from engine import pipeline, telemetry
from ui.charts import theme
from ui.components import live_stream, payload_diff
from ui.services import live
from ui.words import t


@pytest.fixture(scope="module")
def at():
    app = AppTest.from_file("../app.py", default_timeout=120).run()
    app.switch_page("app_pages/live.py").run()
    assert not app.exception
    # An open Live tab costs nothing until someone presses Start: no timer, no hit streamed yet.
    assert app.session_state["live.paused"] is True and app.session_state["live.cursor"] == 0
    assert app.button(key="live.play").label == t("live.start")
    assert [i.value for i in app.info] == [t("live.paused_first")]
    app.button(key="live.play").click().run()
    assert not app.exception and app.session_state["live.paused"] is False
    assert app.button(key="live.play").label == t("live.pause")
    return app


def _tally(app) -> pl.DataFrame:
    """The data behind the stream's tally chart (Streamlit ships it beside the spec, as Arrow)."""
    charts = app.get("vega_lite_chart")
    assert len(charts) == 1
    return pl.read_ipc_stream(io.BytesIO(charts[0].proto.datasets[0].data.data))


def _count(tally: pl.DataFrame, request: str, status: str) -> int:
    return int(tally.filter(pl.col("request") == request, pl.col("status") == status)["requests"].sum())


def test_page_renders_the_stream_and_its_tally_chart(at):
    assert at.title[0].value == "Live telemetry"
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["color"]["scale"]["range"] == [theme.COLOURS["baseline"], theme.COLOURS["fullstack"]]
    cursor = at.session_state["live.cursor"]
    assert cursor >= 1
    assert next(m for m in at.metric if m.label == "Hits streamed").value.startswith(f"{cursor:,} of ")
    # The tally counts exactly the requests of the hits streamed so far.
    stream = live.stream(_scenario(at))
    assert _tally(at)["requests"].sum() == stream.filter(pl.col("hit") < cursor).height
    assert len(open_data(at).get("json")) >= 2  # the raw payloads, once "Show data" is opened


def _scenario(app):
    return app.session_state["scenario"]


def test_pause_and_resume_drive_the_stream(at):
    at.button(key="live.play").click().run()
    assert at.session_state["live.paused"] is True
    assert at.button(key="live.play").label == t("live.resume")
    cursor = at.session_state["live.cursor"]
    at.run()
    assert at.session_state["live.cursor"] == cursor
    at.button(key="live.play").click().run()
    assert at.session_state["live.paused"] is False
    assert at.session_state["live.cursor"] == cursor + 1
    at.selectbox(key="live.speed").set_value(20).run()
    assert at.session_state["live.cursor"] == cursor + 21
    assert not at.exception


def _journey_statuses(app) -> pl.DataFrame:
    return pl.from_pandas(open_data(app).main.dataframe[-1].value).select("request", "status", "after")


def test_be_a_visitor_choice_changes_the_statuses(at):
    at.radio(key="live.choice").set_value(telemetry.CHOICES.index("accept_all")).run()
    accepted = _journey_statuses(at)
    at.radio(key="live.choice").set_value(telemetry.CHOICES.index("reject_all")).run()
    rejected = _journey_statuses(at)
    at.toggle(key="live.blocker").set_value(True).run()
    blocked = _journey_statuses(at)
    assert not at.exception
    collect, capture = (telemetry.REQUEST_LABELS[r] for r in ("collect", "capture"))
    labels = telemetry.STATUS_LABELS

    def statuses(frame: pl.DataFrame, request: str) -> set[str]:
        return set(frame.filter(pl.col("request") == request)["status"])

    assert statuses(accepted, collect) == {labels["sent"]} and statuses(accepted, capture) == {labels["sent"]}
    assert statuses(rejected, collect) == {labels["ping"]} and statuses(rejected, capture) == {labels["no_consent"]}
    assert statuses(blocked, collect) == {labels["blocked"]}
    baseline = telemetry.REQUEST_LABELS["collector"]
    rows = [f.filter(pl.col("request") == baseline) for f in (accepted, rejected, blocked)]
    assert rows[0].height > 0 and rows[0].equals(rows[1]) and rows[0].equals(rows[2])
    at.toggle(key="live.blocker").set_value(False).run()


def test_banner_change_moves_the_full_stack_not_the_baseline(at):
    if not at.session_state["live.paused"]:
        at.button(key="live.play").click().run()
    at.session_state["live.cursor"] = live.STREAM_HITS
    at.run()
    before = _tally(at)
    clock = next(m for m in at.metric if m.label == "Simulated clock (UTC)").value
    at.sidebar.selectbox(key="consent.banner").set_value("no_reject").run()
    assert not at.exception
    after = _tally(at)
    assert next(m for m in at.metric if m.label == "Simulated clock (UTC)").value == clock  # the same hits
    assert _count(after, "collector", "sent") == _count(before, "collector", "sent") > 0
    # Without a reject button more visitors consent (Didomi 2024): more full calls, fewer pings.
    assert _count(after, "collect", "sent") > _count(before, "collect", "sent")
    assert _count(after, "collect", "ping") < _count(before, "collect", "ping")


def _render(reqs, cursor):
    from ui.components import live_stream

    live_stream.render_stream(reqs, cursor)


@pytest.fixture(scope="module")
def first_hits(base_scenario, base_traffic):
    return pipeline.browser_hits(base_scenario, base_traffic).sort("ts", "event_id").head(50)


def test_render_stream_draws_the_hits_up_to_the_cursor(first_hits, base_scenario):
    reqs = telemetry.requests(first_hits, base_scenario)
    idle = AppTest.from_function(_render, args=(reqs, 0), default_timeout=60).run()
    assert not idle.exception and len(idle.info) == 1 and not idle.get("vega_lite_chart")
    app = AppTest.from_function(_render, args=(reqs, 20), default_timeout=60).run()
    assert not app.exception
    assert app.metric[0].value == "20 of 50"
    recent = reqs.filter(pl.col("hit").is_between(20 - live_stream.RECENT_HITS, 19))
    assert not app.dataframe  # "Show data" closed
    assert len(open_data(app).dataframe[0].value) == recent.height
    assert _tally(app)["requests"].sum() == reqs.filter(pl.col("hit") < 20).height
    # the newest hit's requests as diffs (the stream sends no raw JSON on every tick)
    newest = reqs.filter(pl.col("hit") == 19)
    headings = [m.value for m in app.markdown if m.value.startswith("**") and "→" in m.value and "\n" not in m.value]
    assert len(headings) == newest.height and not app.get("json")


def test_stream_hits_are_the_runs_first_hits(base_scenario, base_traffic):
    full = pipeline.browser_hits(base_scenario, base_traffic).sort("ts", "event_id").head(3000)
    assert live.stream_hits(base_scenario, base_traffic, n=3000).equals(full)


def test_payload_diff_marks_removed_and_changed_fields(first_hits, base_scenario):
    reqs = telemetry.requests(first_hits, base_scenario)
    row = reqs.filter(pl.col("request") == "collector", pl.col("after").is_not_null()).row(0, named=True)
    sent, stored = json.loads(row["before"]), json.loads(row["after"])
    rows = {d.field: d for d in payload_diff.diff("collector", row["before"], row["after"])}
    assert rows["event"].outcome == "kept" and rows["event"].stored == sent["event"] == stored["event"]
    assert rows["page"].outcome == "changed" and rows["page"].stored == stored["path"] != sent["url"]
    assert rows["ip"].outcome == ("removed" if stored["ip_truncated"] is None else "changed")
    assert rows["user_agent"].outcome == "changed"  # a user agent is stored only as browser, system and device class
    text = payload_diff.markdown(list(rows.values()))
    assert text.count("~~") == 2 * sum(d.outcome in ("removed", "changed") for d in rows.values())
    assert text.count(":orange-background[") == sum(d.outcome == "changed" for d in rows.values())
    # nothing stored: every field sent is struck out
    withheld = payload_diff.diff("collector", row["before"], None)
    assert {d.outcome for d in withheld} == {"removed"}


def test_payload_values_are_code_spans_never_formatted():
    evil = json.dumps({"event": "<b>x</b>", "url": "[click](javascript:alert(1)) **bold** :red[x] $x$ `closed` https://a.example"})
    text = payload_diff.markdown(payload_diff.diff("collector", evil, None))
    spans = re.findall(r"`[^`]*`", text)
    assert "`<b>x</b>`" in spans  # shown as written, inside a code span
    outside = re.sub(r"`[^`]*`", "", text)
    for markup in ("<b>", "[click](", "**bold**", ":red[", "$x$", "https://"):
        assert markup not in outside, markup  # no HTML, link, emphasis, directive or formula outside a code span


def test_be_a_visitor_shows_the_masking_diff(at):
    at.radio(key="live.choice").set_value(telemetry.CHOICES.index("accept_all")).run()
    diffs = [m.value for m in at.markdown if m.value.startswith("- ")]
    assert any("~~" in d for d in diffs)  # something struck out
    assert any(":orange-background[" in d for d in diffs)  # something changed
    assert open_data(at).get("json")  # the raw payloads stay one click away
    assert all("_" not in m.label for m in at.metric)


def test_the_stream_takeaway_is_computed_from_the_stream_once_per_run_and_language(at):
    from apptest_helpers import first_text

    from ui import words
    from ui.components import live_story

    scenario = _scenario(at)
    stream = live.stream(scenario)
    with words.speaking("en"):
        sentence = live_story.stream_sentence(scenario, "en")
        assert sentence == live_story.stream_takeaway(stream) == first_text(at).strip("*")  # the lead, in bold
        assert live_story.stream_sentence(scenario, "en") is sentence  # shared, not worked out again
        collect = stream.filter(pl.col("request") == "collect")
        assert words.num(collect.height) in sentence  # the analytics calls the stream fired, counted from it
    with words.speaking("de"):
        assert live_story.stream_sentence(scenario, "de") == live_story.stream_takeaway(stream) != sentence
