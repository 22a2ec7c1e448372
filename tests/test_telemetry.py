"""engine.telemetry: request statuses per consent, blocker, proxy and Consent Mode; the masked
payloads are the rails' stored rows; no raw IP, e-mail or user agent after masking; the visitor
override."""

from __future__ import annotations

import json

import polars as pl
import pytest
from conftest import small

from engine import datasets, pipeline, telemetry


@pytest.fixture(scope="module")
def hits(base_scenario, base_traffic):
    return pipeline.browser_hits(base_scenario, base_traffic).sort("ts", "event_id")


@pytest.fixture(scope="module")
def reqs(hits, base_scenario):
    return _with_hits(telemetry.requests(hits, base_scenario), hits)


def _with_hits(reqs: pl.DataFrame, hits: pl.DataFrame) -> pl.DataFrame:
    flags = hits.with_row_index("hit").select("hit", "analytics_storage", "ad_storage", "blocker", "client_id", "ip",
                                               "user_agent", "user_email", "url")
    return reqs.join(flags, on="hit", how="left", maintain_order="left")


def _status(frame: pl.DataFrame, request: str, *conditions: pl.Expr) -> set[str]:
    return set(frame.filter(pl.col("request") == request, *conditions)["status"].unique())


GRANTED, BLOCKER = pl.col("analytics_storage"), pl.col("blocker")


def test_statuses_follow_consent_and_blocker_in_advanced_mode(reqs, hits, base_scenario):
    assert base_scenario.consent.mode == "advanced" and not base_scenario.rails.server_side_proxy
    assert _status(reqs, "collector") == {"sent"}
    assert _status(reqs, "collector", BLOCKER) == {"sent"}  # server side: no blocker reaches it
    assert _status(reqs, "collect", GRANTED, ~BLOCKER) == {"sent"}
    assert _status(reqs, "collect", ~GRANTED, ~BLOCKER) == {"ping"}
    assert _status(reqs, "collect", BLOCKER) == {"blocked"}
    assert _status(reqs, "capture", GRANTED, ~BLOCKER) == {"sent"}
    assert _status(reqs, "capture", GRANTED, BLOCKER) == {"blocked"}
    assert _status(reqs, "capture", ~GRANTED) == {"no_consent"}
    # One collect and one capture request per hit; the collector for page views and server events only.
    assert reqs.filter(pl.col("request") == "collect").height == hits.height
    assert reqs.filter(pl.col("request") == "capture").height == hits.height
    site = datasets.site(base_scenario.site.kind)
    server_side = hits["event_type"].is_in(["page_view", *site["server_events"]]).sum()
    assert reqs.filter(pl.col("request") == "collector").height == server_side


def test_collect_payload_carries_gcs_and_a_client_id_only_with_consent(reqs):
    collect = reqs.filter(pl.col("request") == "collect", pl.col("before").is_not_null())
    payloads = [json.loads(b) for b in collect["before"]]
    for p, row in zip(payloads, collect.iter_rows(named=True), strict=True):
        assert p["gcs"] == f"G1{int(row['ad_storage'])}{int(row['analytics_storage'])}"
        if row["analytics_storage"]:
            assert p["cid"] == row["client_id"] and p["dl"] == row["url"]
        else:
            assert "cid" not in p and "dl" not in p and "uid" not in p
    assert {p["gcs"] for p in payloads} >= {"G100", "G111"}


def test_basic_mode_sends_nothing_without_consent(hits):
    basic = _with_hits(telemetry.requests(hits, small({"consent.mode": "basic"})), hits)
    assert _status(basic, "collect", ~GRANTED) == {"no_consent"}
    assert "ping" not in set(basic["status"])
    denied = basic.filter(pl.col("request") == "collect", ~GRANTED)
    assert denied.height > 0 and denied["before"].is_null().all() and denied["after"].is_null().all()
    assert _status(basic, "collect", GRANTED, ~BLOCKER) == {"sent"}


def test_a_server_side_proxy_unblocks_the_client_calls(hits):
    scenario = small({"rails.server_side_proxy": True})
    proxied = _with_hits(telemetry.requests(hits, scenario), hits)
    assert "blocked" not in set(proxied["status"])
    assert _status(proxied, "collect", BLOCKER, GRANTED) == {"sent"}
    assert _status(proxied, "capture", BLOCKER, GRANTED) == {"sent"}
    domain = datasets.site(scenario.site.kind)["domain"]
    assert all(e.startswith(f"https://{domain}/") for e in telemetry.endpoints(scenario).values())
    assert not telemetry.endpoints(small()).get("collect", "").startswith(f"https://{domain}/")


def _encoded(rows: pl.DataFrame, columns: tuple[str, ...] | None = None) -> pl.DataFrame:
    cols = list(columns) if columns else rows.columns
    return rows.select("event_id", expected=pl.struct(cols).struct.json_encode())


def test_after_payload_is_the_row_the_run_stores(reqs, base_tables):
    stored = {"collector": _encoded(base_tables["baseline_events"]), "collect": _encoded(base_tables["fullstack_events"]),
              "capture": _encoded(base_tables["fullstack_events"], telemetry.CAPTURE_COLUMNS)}
    for request, expected in stored.items():
        got = reqs.filter(pl.col("request") == request).join(expected, on="event_id", how="left")
        has_row = got["expected"].is_not_null()
        if request == "capture":  # a ping is stored by the analytics call, never by the capture call
            has_row = has_row & (got["status"] == "sent")
        assert (got["after"].is_not_null() == has_row).all(), request
        assert (got.filter(has_row)["after"] == got.filter(has_row)["expected"]).all(), request
        assert set(got.filter(has_row)["status"]) <= {"sent", "ping"}
    collect = reqs.filter(pl.col("request") == "collect")
    assert (collect["after"].is_not_null() == collect["status"].is_in(["sent", "ping"])).all()


@pytest.mark.parametrize("store_ip", [False, True])
def test_no_raw_ip_email_or_user_agent_after_masking(hits, store_ip):
    scenario = small({"masking.store_truncated_ip": store_ip})
    got = _with_hits(telemetry.requests(hits, scenario), hits)
    after = got.filter(pl.col("after").is_not_null())
    assert after.height > 0
    # An address that is its own /24 network (a.b.c.0) may show as the truncated IP, nowhere else.
    elsewhere = pl.col("after").str.replace(r'"ip_truncated":"[^"]*"', "")
    assert not after.select(elsewhere.str.contains(pl.col("ip"), literal=True)).to_series().any()
    kept = after["after"].str.extract(r'"ip_truncated":"([^"]*)"').drop_nulls()
    assert (kept.str.ends_with(".0") | kept.str.ends_with("::")).all()
    assert not after.select(pl.col("after").str.contains(pl.col("user_agent"), literal=True)).to_series().any()
    assert not after["after"].str.contains("@", literal=True).any()  # no e-mail, from the hit or its URL
    # The raw values do reach the endpoints: the check above is not vacuous.
    before = got.filter(pl.col("before").is_not_null())
    assert before.select(pl.col("before").str.contains(pl.col("ip"), literal=True)).to_series().all()
    assert before["before"].str.contains("@", literal=True).any()
    truncated = after.filter(pl.col("request") != "capture")["after"].str.contains('"ip_truncated":"', literal=True).any()
    assert truncated == store_ip


@pytest.fixture(scope="module")
def journey(base_scenario, base_traffic):
    site = datasets.site(base_scenario.site.kind)
    vid = telemetry.journey_candidates(base_traffic.events, site["conversion_event"])[0]
    mask = base_traffic.events["visitor_id"] == vid
    return pipeline.browser_hits(base_scenario, base_traffic).filter(mask)


def _journey(journey, scenario, choice, blocker=False, default=False):
    return telemetry.requests(telemetry.as_visitor(journey, choice, blocker, default), scenario)


def test_be_a_visitor_override_changes_statuses(journey, base_scenario):
    accept = _journey(journey, base_scenario, "accept_all")
    reject = _journey(journey, base_scenario, "reject_all")
    custom = _journey(journey, base_scenario, "custom")
    blocked = _journey(journey, base_scenario, "accept_all", blocker=True)
    assert _status(accept, "collect") == {"sent"} and _status(accept, "capture") == {"sent"}
    assert _status(reject, "collect") == {"ping"} and _status(reject, "capture") == {"no_consent"}
    assert {json.loads(b)["gcs"] for b in custom.filter(pl.col("request") == "collect")["before"]} == {"G101"}
    assert _status(blocked, "collect") == {"blocked"} and _status(blocked, "capture") == {"blocked"}
    assert _status(_journey(journey, base_scenario, "ignore", default=False), "capture") == {"no_consent"}
    assert _status(_journey(journey, base_scenario, "ignore", default=True), "capture") == {"sent"}
    # The baseline does not move with the visitor's choice (it needs no consent).
    base = [f.filter(pl.col("request") == "collector").select("status", "after") for f in (accept, reject, blocked)]
    assert base[0].height > 0 and base[0].equals(base[1]) and base[0].equals(base[2])


def test_override_sets_cookie_and_decision_only_as_consent_allows(journey):
    accepted = telemetry.as_visitor(journey, "accept_all", False, False)
    rejected = telemetry.as_visitor(journey, "reject_all", True, False)
    assert accepted["client_id"].is_not_null().all() and accepted["client_id"].n_unique() <= journey["client_id"].n_unique() + 1
    assert rejected["client_id"].is_null().all() and rejected["blocker"].all() and not accepted["blocker"].any()
    assert accepted["consent_choice"].to_list() == ["accept_all"] + [None] * (journey.height - 1)
    assert accepted["consent_ts"][0] == accepted["ts"][0] and accepted["consent_id"][0] is not None
    assert telemetry.as_visitor(journey, "ignore", False, True)["consent_choice"].is_null().all()
    assert accepted.columns == journey.columns and accepted["ts"].is_sorted()
    with pytest.raises(ValueError, match="unknown choice"):
        telemetry.as_visitor(journey, "maybe", False, False)  # type: ignore[arg-type]


def test_override_consent_log_follows_the_choice(journey, base_scenario):
    log = pipeline.consent_rows(telemetry.as_visitor(journey, "custom", False, False), base_scenario)
    assert dict(zip(log["consent_type"], log["granted"], strict=True)) == {
        "analytics_storage": True, "ad_storage": False, "ad_user_data": False, "ad_personalization": False}


def test_journey_candidates_are_short_converting_journeys(base_traffic, base_scenario):
    conversion = datasets.site(base_scenario.site.kind)["conversion_event"]
    ids = telemetry.journey_candidates(base_traffic.events, conversion, k=5, max_events=14)
    per = base_traffic.events.filter(pl.col("visitor_id").is_in(ids)).group_by("visitor_id").agg(
        n=pl.len(), converted=(pl.col("event") == conversion).any())
    assert len(ids) == 5 and per.height == 5
    assert per["n"].is_between(3, 14).all() and per["converted"].all()


def test_tally_counts_every_request_once_with_zeros(reqs):
    t = telemetry.tally(reqs)
    assert t.height == len(telemetry.REQUESTS) * len(telemetry.STATUSES)
    assert t["requests"].sum() == reqs.height
    assert t.filter(pl.col("request") == "collector", pl.col("status") != "sent")["requests"].sum() == 0
    assert set(t["rail"]) == {"baseline", "fullstack"}


def test_advance_steps_and_starts_over():
    assert telemetry.advance(0, 5, 12) == 5
    assert telemetry.advance(10, 5, 12) == 12
    assert telemetry.advance(12, 5, 12) == 5
    assert telemetry.advance(3, 1, 0) == 0


def test_running_tally_equals_the_tally_of_every_prefix(hits, base_scenario):
    reqs = telemetry.requests(hits.head(400), base_scenario)
    running = telemetry.running_tally(reqs)
    n_hits = reqs["hit"].max() + 1
    assert running.height == n_hits * len(telemetry.REQUESTS) * len(telemetry.STATUSES)
    for cursor in (1, 2, 57, n_hits):
        at = running.filter(pl.col("hit") == cursor - 1).drop("hit")
        assert at.equals(telemetry.tally(reqs.filter(pl.col("hit") < cursor))), cursor
