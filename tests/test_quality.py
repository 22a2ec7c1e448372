"""Data quality (engine.quality) on hand-made frames, on a simulated run, and the collector's
GET /api/v1/quality against a real collector process."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import numpy as np
import polars as pl
import pytest
from collector_helpers import Collector, batch, event

from engine import hits, quality

T0 = dt.datetime(2026, 11, 4, 10, 0, tzinfo=dt.UTC)
S = dt.timedelta(seconds=1)


def ts(*offsets_s: float | None) -> pl.Series:
    return pl.Series([None if o is None else T0 + o * S for o in offsets_s], dtype=pl.Datetime("us", "UTC"))


def hand_made() -> dict[str, pl.DataFrame]:
    truth = pl.DataFrame({"event_id": [1, 2, 3, 4, 5, 6], "event": ["page_view"] * 4 + ["purchase"] * 2})
    baseline = pl.DataFrame({"event_id": [1, 2, 3, 4, 5], "ts": ts(0, 0, 0, 0, 0), "event": ["page_view"] * 4 + ["purchase"],
                             "country": ["DE", None, "FR", "FR", None]})
    fullstack = pl.DataFrame({
        "event_id": [1, 1, 2, 5],  # event 1 twice: one duplicate in four rows
        "ts": ts(0, 0, 0, 0),
        "event": ["page_view", "page_view", "page_view", "purchase"],
        "device_id": ["a", "a", None, "b"],
        "client_ts": ts(0.2, 0.2, 7200, None),  # one clock two hours off, one client without a clock
        "received_at": ts(0.1, 0.1, 0.3, 900),  # the purchase arrives 15 minutes late
        "sample_rate": [1.0] * 4,
    })
    return {"truth_events": truth, "baseline_events": baseline, "fullstack_events": fullstack}


def test_rates_on_hand_made_frames():
    r = quality.frames_report(hand_made())
    s = {row["rail"]: row for row in r.summary.iter_rows(named=True)}
    assert s["fullstack"]["rows"] == 4 and s["fullstack"]["duplicate_rate"] == pytest.approx(0.25)
    assert s["baseline"]["duplicate_rate"] == 0
    assert s["fullstack"]["late_share"] == pytest.approx(0.25)  # 900 s > the 300 s threshold
    assert s["fullstack"]["skew_over_1h_share"] == pytest.approx(1 / 3)  # among the three with a client clock
    assert s["fullstack"]["skew_over_1s_share"] == pytest.approx(1 / 3)
    assert s["fullstack"]["delay_p50_s"] == pytest.approx(0.2)
    # The server-side baseline has no client clock: no skew to report, nothing late.
    assert s["baseline"]["late_share"] == 0 and s["baseline"]["skew_abs_p50_s"] is None
    missing = {(m["rail"], m["field"]): m["missing_rate"] for m in r.missing.iter_rows(named=True)}
    assert missing[("baseline", "country")] == pytest.approx(0.4)
    assert missing[("fullstack", "device_id")] == pytest.approx(0.25)
    assert missing[("fullstack", "client_ts")] == pytest.approx(0.25)
    assert ("fullstack", "country") not in missing  # only fields the frame has
    cap = {(c["rail"], c["event"]): (c["recorded"], c["capture_rate"]) for c in r.capture.iter_rows(named=True)}
    assert cap[("fullstack", "all")] == (3, pytest.approx(0.5))  # a duplicate counts once
    assert cap[("fullstack", "page_view")] == (2, pytest.approx(0.5))
    assert cap[("baseline", "purchase")] == (1, pytest.approx(0.5))
    delay = r.timing.filter((pl.col("rail") == "fullstack") & (pl.col("measure") == "delay")).sort("order")
    assert delay["events"].to_list() == [3, 0, 0, 0, 1, 0, 0] and delay["share"].sum() == pytest.approx(1)
    skew = r.timing.filter(pl.col("measure") == "clock skew").sort("order")
    assert skew["events"].to_list() == [2, 0, 0, 0, 0, 1, 0]
    sentence = quality.takeaway(r)
    assert "50% of the true page views" in sentence and "25%" in sentence and "33%" in sentence


def test_simulated_clocks_and_delays_follow_the_calibration(base_tables):
    """The simulated skew and delay have the shares the (assumed) calibration asks for."""
    r = quality.frames_report(base_tables)
    s = {row["rail"]: row for row in r.summary.iter_rows(named=True)}["fullstack"]
    # 2 % of hits are queued for 1 minute to a day (log-uniform): about 2 % x 0.91 are later than 5 minutes.
    assert 0.008 < s["late_share"] < 0.03
    assert 0.05 < s["delay_p50_s"] < 0.3
    # 2 % of browsers are off by whole hours; 10 % by more than a second at all.
    assert 0.005 < s["skew_over_1h_share"] < 0.04
    assert 0.05 < s["skew_over_1s_share"] < 0.16
    assert s["duplicate_rate"] == 0
    ids = np.arange(1, 200_001, dtype=np.int64)
    assert np.array_equal(hits.delivery_delay_us(ids, 7), hits.delivery_delay_us(ids, 7))
    assert not np.array_equal(hits.delivery_delay_us(ids, 7), hits.delivery_delay_us(ids, 8))


def get_quality(c: Collector) -> dict:
    r = httpx.get(c.base + "/quality", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_collector_reports_quality_of_what_it_received(tmp_path):
    with Collector(tmp_path / "q.duckdb", "--rate-limit", "0") as c:
        empty = get_quality(c)
        assert empty["rails"]["fullstack"]["rows"] == 0 and empty["rails"]["fullstack"]["late_share"] is None
        assert empty["capture"] is None and empty["duplicates_since_start"]["events"] == 0
        now = dt.datetime.now(dt.UTC)
        events = [
            event("q-1", timestamp=iso(now - S), client_timestamp=iso(now - S + 0.1 * S)),
            event("q-2", timestamp=iso(now - S), client_timestamp=iso(now - S + 2 * 3600 * S)),  # clock 2 h ahead
            event("q-3", timestamp=iso(now - 600 * S), client_timestamp=iso(now - 600 * S)),  # sent 10 minutes late
            event("q-4", timestamp=iso(now - S)),  # a client that sends no clock of its own
        ]
        assert httpx.post(c.events_url, content=json.dumps(batch(events, "qb")), timeout=30,
                          headers={"content-type": "application/json"}).status_code == 202
        assert httpx.post(c.events_url, content=json.dumps(batch(events[:1], "qb-retry")), timeout=30,
                          headers={"content-type": "application/json"}).status_code == 202
        q = get_quality(c)
        assert q["received_since_start"]["events"] == 5 and q["duplicates_since_start"]["events"] == 1
        assert q["duplicate_rate_since_start"]["events"] == pytest.approx(0.2)
        full = q["rails"]["fullstack"]
        assert full["rows"] == 4 and full["duplicate_rate"] == 0  # the collector refused the duplicate at the door
        assert full["late_share"] == pytest.approx(0.25)
        assert full["skew_over_1h_share"] == pytest.approx(1 / 3)
        assert full["missing_fields"]["client_ts"] == pytest.approx(0.25)
        assert full["missing_fields"]["received_at"] == 0
        assert sum(b["events"] for b in full["delay_buckets"]) == 4
        assert [b["events"] for b in full["clock_skew_buckets"]][5] == 1  # the 2-hour clock
        base = q["rails"]["baseline"]
        # The collector's baseline keeps each event's own timestamp and no receive time: q-3 came 10 minutes
        # late, so "0 late, 0 s delay" (what it said before) was false; unknown is what it can say.
        assert base["rows"] == 4 and base["skew_abs_p50_s"] is None
        assert base["late_share"] is None and base["delay_p50_s"] is None and base["delay_p99_s"] is None
        assert q["late_after_s"] == quality.late_after_s()
