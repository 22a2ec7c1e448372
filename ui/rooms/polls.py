"""The room's prediction questions, each tied to the current scenario, and their true values from
the run (through the same cached services the pages use, so a poll costs no new computation)."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from engine.scenario import Scenario
from ui.services import privacy, simulation
from ui.words import t


def _kpi_share(scenario: Scenario, metric: str) -> float:
    row = simulation.kpi_table(scenario).filter(pl.col("metric") == metric).row(0, named=True)
    return float(row["fullstack"]) / float(row["truth"]) if row["truth"] else 0.0


_TRUTH: dict[str, Callable[[Scenario], float]] = {
    "conversions_share": lambda s: _kpi_share(s, "conversions"),
    "visitors_share": lambda s: _kpi_share(s, "visitors"),
    "unique_share": lambda s: float(privacy.fingerprints(s)["unique_share"]),
}
QUESTIONS = tuple(_TRUTH)


def question_text(question: str) -> str:
    return {
        "conversions_share": t("room.poll.questions.conversions_share"),
        "visitors_share": t("room.poll.questions.visitors_share"),
        "unique_share": t("room.poll.questions.unique_share"),
    }[question]


def true_value(question: str, scenario: Scenario) -> float:
    """The run's answer as a share, held to [0, 1] (a poll's slider spans 0-100 %)."""
    return min(max(_TRUTH[question](scenario), 0.0), 1.0)
