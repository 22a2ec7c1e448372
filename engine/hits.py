"""Hits: what each visitor's browser would send, one row per truth event.

A hit carries only what a real collector receives (no visitor id): client context (IP, user
agent, URL), the consent state at that moment, the cookies the browser presents, and whether an
ad blocker stopped the client-side tags. The rails work on hits alone.

Built in two steps so that a consent knob does not redo the first: `consent_free` (context, the
same whatever anybody decides) and `with_consent` (cookies and consent state, from the decisions
that engine.pipeline passes in). Columns and dtypes: engine.schema.HITS.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from engine import datasets, schema
from engine.consent import SIGNALS, consent_cookie
from engine.scenario import Scenario
from engine.truth import Traffic

ITP_CAP_US = int(datasets.calibration()["itp"]["script_cookie_cap_days"]["value"]) * 86_400 * 1_000_000
# Streams of their own for the client clock and the delivery delay, drawn from ids rather than from the
# traffic's generator: every earlier column keeps its values, and a chunked run draws the same numbers.
_SKEW_STREAM, _DELAY_STREAM = 0x5C3E, 0xDE1A
_M64 = (1 << 64) - 1


def _uniform(ids: np.ndarray, seed: int, stream: int) -> np.ndarray:
    """A uniform draw in (0, 1) per id: splitmix64 of (id, seed, stream). Same id, same draw."""
    z = ids.astype(np.uint64) + np.uint64((seed * 0x9E3779B97F4A7C15 + stream * 0xD1B54A32D192ED03) & _M64)
    # In place: one array per call instead of one per step (the same wrapping u64 arithmetic).
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    z >>= np.uint64(11)
    u = z.astype(np.float64)
    u += 0.5
    u /= float(1 << 53)
    return u


def _normal(ids: np.ndarray, seed: int, stream: int) -> np.ndarray:
    u, v = _uniform(ids, seed, stream), _uniform(ids, seed, stream + 1)
    return np.sqrt(-2.0 * np.log(u)) * np.cos(2.0 * np.pi * v)


def clock_skew_us(visitor_ids: np.ndarray, seed: int) -> np.ndarray:
    """Each browser's clock offset in microseconds (calibration [quality.clock_skew], an assumption)."""
    c = datasets.calibration()["quality"]["clock_skew"]
    pick = _uniform(visitor_ids, seed, _SKEW_STREAM)
    z = _normal(visitor_ids, seed, _SKEW_STREAM + 2)
    hours = np.ceil(_uniform(visitor_ids, seed, _SKEW_STREAM + 4) * int(c["wrong_hours_max"]))
    sign = np.where(_uniform(visitor_ids, seed, _SKEW_STREAM + 5) < 0.5, -1.0, 1.0)
    synced, drifting = float(c["synced_share"]), float(c["drifting_share"])
    skew_s = np.where(pick < synced, z * float(c["synced_sd_s"]),
                      np.where(pick < synced + drifting, z * float(c["drifting_sd_s"]),
                               sign * hours * 3600.0 + z * float(c["synced_sd_s"])))
    return np.round(skew_s * 1e6).astype(np.int64)


def delivery_delay_us(event_ids: np.ndarray, seed: int) -> np.ndarray:
    """Time from each event to its receipt in microseconds (calibration [quality.delivery_delay], an assumption)."""
    c = datasets.calibration()["quality"]["delivery_delay"]
    network = float(c["median_s"]) * np.exp(float(c["sigma"]) * _normal(event_ids, seed, _DELAY_STREAM))
    lo, hi = np.log(float(c["queued_min_s"])), np.log(float(c["queued_max_s"]))
    queued = np.exp(lo + (hi - lo) * _uniform(event_ids, seed, _DELAY_STREAM + 2))
    delay_s = np.where(_uniform(event_ids, seed, _DELAY_STREAM + 3) < float(c["queued_share"]), queued, network)
    return np.round(delay_s * 1e6).astype(np.int64)


def _visitor_index(traffic: Traffic) -> pl.Series:
    # Events are sorted by visitor: per-visitor context is gathered by index, not joined.
    return pl.Series(np.searchsorted(traffic.visitors["visitor_id"].to_numpy(), traffic.events["visitor_id"].to_numpy()))


def consent_free(scenario: Scenario, traffic: Traffic) -> pl.DataFrame:
    """The hit columns no consent decision changes (schema.CONSENT_FREE_HIT_COLUMNS), one row per event."""
    site = datasets.site(scenario.site.kind)
    vis = traffic.visitors
    vi = _visitor_index(traffic)
    ip = pl.coalesce(vis["ipv6"].gather(vi), vis["ipv4"].gather(vi))
    is_conv = pl.col("event") == site["conversion_event"]
    return traffic.events.select(
        "event_id",
        pl.col("event").alias("event_type"),
        "ts",
        "session_start",
        "url",
        "referrer",
        ip.alias("ip"),
        pl.lit(vis["user_agent"].gather(vi)).alias("user_agent"),
        pl.lit(vis["language"].gather(vi)).alias("language"),
        pl.lit(vis["timezone"].gather(vi)).alias("timezone"),
        pl.lit(site["domain"]).alias("site"),
        pl.when(pl.col("logged_in")).then(pl.lit(vis["email"].gather(vi))).alias("user_email"),
        "revenue",
        pl.when(is_conv).then(pl.col("event_id").cast(pl.String)).alias("transaction_id"),
        pl.lit(vis["adblock"].gather(vi)).alias("blocker"),
        pl.lit(vis["gpc"].gather(vi)).alias("gpc"),
        # A browser's clock offset depends on its visitor id alone: drawn per visitor, spread to the events.
        (pl.col("ts") + pl.duration(microseconds=pl.lit(pl.Series(clock_skew_us(vis["visitor_id"].to_numpy(), scenario.seed)[vi.to_numpy()])))).alias("client_ts"),
        (pl.col("ts") + pl.duration(microseconds=pl.lit(pl.Series(delivery_delay_us(traffic.events["event_id"].to_numpy(), scenario.seed))))).alias("received_at"),
    )


def with_consent(free: pl.DataFrame, scenario: Scenario, traffic: Traffic, decisions: pl.DataFrame) -> pl.DataFrame:
    """Whole hits: `free` (from `consent_free` on the same traffic) plus cookies and consent state
    under the given decisions (engine.consent.decide's output for these visitors)."""
    ev = traffic.events
    vis = traffic.visitors
    vi = _visitor_index(traffic)
    dec = decisions.select(pl.all().gather(np.searchsorted(decisions["visitor_id"].to_numpy(), vis["visitor_id"].to_numpy())))

    def per_visitor(col: str) -> pl.Series:
        return dec[col].gather(vi)

    seq = ev["seq"].to_numpy()
    dseq = per_visitor("decision_seq").fill_null(-1).to_numpy()
    decided = (dseq >= 0) & (seq >= dseq)
    default = per_visitor("default_granted").to_numpy()
    state = {s: np.where(decided, per_visitor(s).to_numpy(), default) for s in SIGNALS}
    decision_hit = seq == dseq

    # Safari's ITP caps script-set cookies at 7 days: a return after a longer gap gets a new
    # client id, unless the cookie is set by the server.
    visitor = ev["visitor_id"].to_numpy()
    sidx = ev["session_index"].to_numpy()
    start = ev["session_start"].dt.epoch("us").to_numpy()
    same_v = np.concatenate([[False], visitor[1:] == visitor[:-1]])
    new_session = same_v & np.concatenate([[False], sidx[1:] != sidx[:-1]])
    prev_start = np.concatenate([[0], start[:-1]])
    safari = (vis["browser"] == "Safari").fill_null(False).gather(vi).to_numpy()
    resets = new_session & safari & (start - prev_start > ITP_CAP_US) & (not scenario.rails.server_set_cookies)
    cum = np.cumsum(resets)
    first_of_visitor = np.flatnonzero(~same_v)
    generation = cum - np.repeat(cum[first_of_visitor] - resets[first_of_visitor], np.diff(np.append(first_of_visitor, len(visitor))))

    delay_us = (per_visitor("decision_delay_s") * 1_000_000).cast(pl.Int64)
    # The consent manager's cookie is only sent with the decision: computed for those hits alone.
    at_decision = np.flatnonzero(decision_hit)
    consent_id = pl.repeat(None, len(seq), dtype=pl.String, eager=True).scatter(
        at_decision, consent_cookie(ev["visitor_id"].gather(at_decision), scenario.seed))
    cookie = pl.struct(pl.lit(ev["visitor_id"]), pl.lit(pl.Series(generation))).hash(scenario.seed).cast(pl.String)
    return free.with_columns(
        # The analytics cookie exists only once analytics storage is granted.
        pl.when(pl.lit(state["analytics_storage"])).then(pl.concat_str([pl.lit("GA1.1."), cookie])).alias("client_id"),
        *(pl.lit(pl.Series(name, v)) for name, v in state.items()),
        pl.when(pl.lit(decision_hit)).then(pl.lit(per_visitor("choice"))).alias("consent_choice"),
        pl.lit(consent_id).alias("consent_id"),
        pl.when(pl.lit(decision_hit)).then(pl.col("ts") + pl.duration(microseconds=pl.lit(delay_us))).alias("consent_ts"),
    ).select(schema.HIT_COLUMNS)
