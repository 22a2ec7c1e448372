"""The Live telemetry page's takeaway sentences, computed from the requests it shows."""

from __future__ import annotations

import polars as pl

from engine import telemetry
from engine.scenario import Scenario
from ui.cache import cached
from ui.services import live
from ui.words import num, pct, t


def _shares(reqs: pl.DataFrame, request: str) -> tuple[int, dict[str, float]]:
    part = telemetry.tally(reqs).filter(pl.col("request") == request)
    total = int(part["requests"].sum())
    return total, {s: (n / total if total else 0.0) for s, n in zip(part["status"], part["requests"], strict=True)}


def stream_takeaway(stream: pl.DataFrame) -> str:
    """What becomes of the stream's analytics calls (sent, pinged, withheld, blocked) while the
    baseline collector logs all of its own."""
    hits = stream["hit"].n_unique()
    total, share = _shares(stream, "collect")
    base_total, base = _shares(stream, "collector")
    if not total:
        return t("live.stream_empty")
    return t("live.stream_takeaway", hits=num(hits), calls=num(total), sent=pct(share["sent"]), ping=pct(share["ping"]),
             no_consent=pct(share["no_consent"]), blocked=pct(share["blocked"]), base=pct(base["sent"]), base_calls=num(base_total))


@cached("resource", max_entries=16)
def stream_sentence(scenario: Scenario, language: str) -> str:
    """The stream's takeaway, worked out once per run and language (every follower of a room shares it)."""
    return stream_takeaway(live.stream(scenario))


def visitor_takeaway(reqs: pl.DataFrame, choice_label: str, blocker: bool) -> str:
    """What the learner's answer lets through for this visitor: analytics calls reaching the full stack,
    and the baseline collector's requests."""
    tally = telemetry.tally(reqs)
    full = tally.filter(pl.col("rail") == "fullstack")
    reach = int(full.filter(pl.col("status").is_in(["sent", "ping"]))["requests"].sum())
    base = tally.filter(pl.col("rail") == "baseline")
    return t("live.visitor_takeaway_blocker" if blocker else "live.visitor_takeaway", choice=choice_label, reach=num(reach),
             calls=num(int(full["requests"].sum())), base=num(int(base.filter(pl.col("status") == "sent")["requests"].sum())),
             base_calls=num(int(base["requests"].sum())))
