"""The lab's copy test, built from a run: visitor types (persona x device), their true rates per arm,
shares and how much of them the full stack observes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import polars as pl

from engine import datasets
from engine.bandit.context import check_context
from engine.bandit.policies import observed_rates, population_rates


def visitor_types(tables: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """Per persona x device: sessions and their share, and `observe`, the share of truth events
    the full stack records as non-ping rows (consent given and no blocker)."""
    v = tables["visitors"].select("visitor_id", "persona", "device", "n_sessions")
    seen = tables["fullstack_events"].filter(~pl.col("is_ping")).select("event_id", seen=pl.lit(True))
    events = (tables["truth_events"].select("visitor_id", "event_id").join(v, on="visitor_id")
              .join(seen, on="event_id", how="left")
              .group_by("persona", "device").agg(truth_events=pl.len(), fullstack_events=pl.col("seen").count()))
    return (v.group_by("persona", "device").agg(visitors=pl.len(), sessions=pl.col("n_sessions").sum().cast(pl.Int64))
            .join(events, on=["persona", "device"], how="left").fill_null(0)
            .with_columns(share=pl.col("sessions") / pl.col("sessions").sum(),
                          observe=pl.when(pl.col("truth_events") > 0)
                          .then(pl.col("fullstack_events") / pl.col("truth_events")).otherwise(0.0))
            .sort("persona", "device"))


@dataclass(frozen=True)
class Problem:
    """A copy test: arms, and per visitor type (persona/device) true rates, share and observation."""

    arms: tuple[str, ...]
    texts: tuple[str, ...]
    rates: dict[str, tuple[float, ...]]
    shares: dict[str, float]
    observe: dict[str, float]
    attributes: dict[str, dict[str, str]]

    def segments(self, context: str) -> dict[str, str]:
        """Visitor type -> the value of `context` a contextual policy sees (sensitive names refused)."""
        check_context(context)
        return {v: a[context] for v, a in self.attributes.items()}

    def options(self, rail: str, context: str = "persona", day_length: int = 1000) -> dict[str, Any]:
        """Keyword options for `simulate` on `rail`."""
        return {"shares": self.shares, "rail": rail, "observe": self.observe, "day_length": day_length,
                "context": context, "segments": self.segments(context)}

    def to_json(self) -> str:
        """The problem as JSON (sorted keys), e.g. as a cache key."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Problem:
        """The problem `to_json` wrote."""
        raw = json.loads(text)
        return cls(tuple(raw["arms"]), tuple(raw["texts"]), {k: tuple(v) for k, v in raw["rates"].items()},
                   raw["shares"], raw["observe"], raw["attributes"])


def variants() -> dict[str, Any]:
    """datasets/copy_variants.toml: the arms, their texts and their (illustrative) true rates."""
    return datasets.load("copy_variants")


def problem(types: pl.DataFrame, spec: Mapping[str, Any] | None = None) -> Problem:
    """The copy test on a run's visitor types: rate = persona rate x device lift (capped at 1)."""
    spec = variants() if spec is None else spec
    arms = spec["variant"]
    persona_index = {p: i for i, p in enumerate(spec["personas"])}
    rates, shares, observe, attributes = {}, {}, {}, {}
    for row in types.iter_rows(named=True):
        name = f"{row['persona']}/{row['device']}"
        lift = spec["device_lift"].get(row["device"], [1.0] * len(arms))
        rates[name] = tuple(min(1.0, a["rates"][persona_index[row["persona"]]] * f) for a, f in zip(arms, lift))
        shares[name], observe[name] = float(row["share"]), float(row["observe"])
        attributes[name] = {"persona": row["persona"], "device": row["device"]}
    return Problem(tuple(a["id"] for a in arms), tuple(a["text"] for a in arms), rates, shares, observe, attributes)


def arm_table(prob: Problem) -> pl.DataFrame:
    """Per arm: its text, the true rate over all sessions, the rate among the sessions the full stack
    observes (what it converges to), and the true rate per persona."""
    cols: dict[str, Any] = {"arm": list(prob.arms), "text": list(prob.texts),
                            "true_rate": population_rates(prob.rates, prob.shares),
                            "fullstack_rate": observed_rates(prob.rates, prob.shares, prob.observe)}
    for persona in sorted({a["persona"] for a in prob.attributes.values()}):
        types = [v for v, a in prob.attributes.items() if a["persona"] == persona]
        cols[persona] = population_rates({v: prob.rates[v] for v in types}, {v: prob.shares[v] for v in types})
    return pl.DataFrame(cols)


def observed_share(prob: Problem) -> float:
    """Share of sessions whose reward the full stack reports."""
    return float(sum(prob.shares[v] * prob.observe[v] for v in prob.shares))
