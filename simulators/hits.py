"""Hits: what each visitor's browser would send, one row per truth event.

A hit carries only what a real collector receives (no visitor id): client context (IP, user
agent, URL), the consent state at that moment, the cookies the browser presents, and whether an
ad blocker stopped the client-side tags. The rails work on hits alone.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from engine import datasets
from engine.consent import SIGNALS as CONSENT_SIGNALS
from engine.consent import consent_cookie, decide
from engine.scenario import Scenario
from simulators.traffic import Traffic

ITP_CAP_US = int(datasets.calibration()["itp"]["script_cookie_cap_days"]["value"]) * 86_400 * 1_000_000


def build_hits(scenario: Scenario, traffic: Traffic, decisions: pl.DataFrame | None = None) -> pl.DataFrame:
    """Hits for the truth events of `traffic` under the scenario's consent and cookie settings."""
    if decisions is None:
        decisions = decide(traffic.visitors, traffic.draws, scenario.consent)
    site = datasets.site(scenario.site.kind)
    ev = traffic.events
    vis = traffic.visitors
    # Events are sorted by visitor: per-visitor context is gathered by index, not joined.
    vi = pl.Series(np.searchsorted(vis["visitor_id"].to_numpy(), ev["visitor_id"].to_numpy()))
    dec = decisions.select(pl.all().gather(np.searchsorted(decisions["visitor_id"].to_numpy(), vis["visitor_id"].to_numpy())))

    def per_visitor(frame: pl.DataFrame, col: str) -> pl.Series:
        return frame[col].gather(vi)

    seq = ev["seq"].to_numpy()
    dseq = per_visitor(dec, "decision_seq").fill_null(-1).to_numpy()
    decided = (dseq >= 0) & (seq >= dseq)
    default = per_visitor(dec, "default_granted").to_numpy()
    state = {s: np.where(decided, per_visitor(dec, s).to_numpy(), default) for s in CONSENT_SIGNALS}
    decision_hit = seq == dseq

    # Safari's ITP caps script-set cookies at 7 days: a return after a longer gap gets a new
    # client id, unless the cookie is set by the server.
    visitor = ev["visitor_id"].to_numpy()
    sidx = ev["session_index"].to_numpy()
    start = ev["session_start"].dt.epoch("us").to_numpy()
    same_v = np.concatenate([[False], visitor[1:] == visitor[:-1]])
    new_session = same_v & np.concatenate([[False], sidx[1:] != sidx[:-1]])
    prev_start = np.concatenate([[0], start[:-1]])
    safari = per_visitor(vis, "browser").to_numpy() == "Safari"
    resets = new_session & safari & (start - prev_start > ITP_CAP_US) & (not scenario.rails.server_set_cookies)
    cum = np.cumsum(resets)
    first_of_visitor = np.flatnonzero(~same_v)
    generation = cum - np.repeat(cum[first_of_visitor] - resets[first_of_visitor], np.diff(np.append(first_of_visitor, len(visitor))))

    delay_us = (per_visitor(dec, "decision_delay_s") * 1_000_000).cast(pl.Int64)
    ip = pl.coalesce(per_visitor(vis, "ipv6"), per_visitor(vis, "ipv4"))
    cookie = pl.struct(pl.lit(ev["visitor_id"]), pl.lit(pl.Series(generation))).hash(scenario.seed).cast(pl.String)
    is_conv = pl.col("event") == site["conversion_event"]
    return ev.select(
        "event_id",
        pl.col("event").alias("event_type"),
        "ts",
        "session_start",
        "url",
        "referrer",
        ip.alias("ip"),
        pl.lit(per_visitor(vis, "user_agent")).alias("user_agent"),
        pl.lit(per_visitor(vis, "language")).alias("language"),
        pl.lit(per_visitor(vis, "timezone")).alias("timezone"),
        pl.lit(site["domain"]).alias("site"),
        # The analytics cookie exists only once analytics storage is granted.
        pl.when(pl.lit(state["analytics_storage"])).then(pl.concat_str([pl.lit("GA1.1."), cookie])).alias("client_id"),
        pl.when(pl.col("logged_in")).then(pl.lit(per_visitor(vis, "email"))).alias("user_email"),
        "revenue",
        pl.when(is_conv).then(pl.col("event_id").cast(pl.String)).alias("transaction_id"),
        *(pl.lit(pl.Series(name, v)) for name, v in state.items()),
        pl.when(pl.lit(decision_hit)).then(pl.lit(per_visitor(dec, "choice"))).alias("consent_choice"),
        pl.when(pl.lit(decision_hit)).then(pl.lit(consent_cookie(ev["visitor_id"], scenario.seed))).alias("consent_id"),
        pl.when(pl.lit(decision_hit)).then(pl.col("ts") + pl.duration(microseconds=pl.lit(delay_us))).alias("consent_ts"),
        pl.lit(per_visitor(vis, "adblock")).alias("blocker"),
        pl.lit(per_visitor(vis, "gpc")).alias("gpc"),
    )


HIT_COLUMNS = (
    "event_id", "event_type", "ts", "session_start", "url", "referrer", "ip", "user_agent", "language",
    "timezone", "site", "client_id", "user_email", "revenue", "transaction_id", "analytics_storage",
    "ad_storage", "ad_user_data", "ad_personalization", "consent_choice", "consent_id", "consent_ts",
    "blocker", "gpc",
)
