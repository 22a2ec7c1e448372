"""What one learner may ask the shared server to simulate: a run-size budget and the clamp that keeps a
scenario inside it, with a note for each value it changed. The presenter may raise the budget for
their own session. Pure: the limits come in as a model; the UI decides whose limits apply.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

from engine.scenario import Scenario, apply_overrides


class Budget(BaseModel):
    """Largest run one session may compute (visitors, days, and their product)."""

    max_visitors: int = Field(100_000, ge=10, description="Most visitors in one run.")
    max_days: int = Field(30, ge=1, description="Most days in one run.")
    max_visitor_days: int = Field(1_000_000, ge=10, description="Most visitors × days in one run.")

    def allows(self, scenario: Scenario) -> bool:
        t = scenario.traffic
        return t.visitors <= self.max_visitors and t.days <= self.max_days and t.visitors * t.days <= self.max_visitor_days


def clamp(scenario: Scenario, budget: Budget) -> tuple[Scenario, list[str]]:
    """The scenario inside the budget (days first, then visitors) and one note per value changed."""
    t = scenario.traffic
    days = min(t.days, budget.max_days)
    visitors = min(t.visitors, budget.max_visitors, max(10, math.floor(budget.max_visitor_days / days)))
    notes = []
    if days != t.days:
        notes.append(f"{t.days} days is above this session's limit of {budget.max_days}: using {days}.")
    if visitors != t.visitors:
        notes.append(f"{t.visitors:,} visitors over {days} days is above this session's limit "
                     f"({budget.max_visitors:,} visitors, {budget.max_visitor_days:,} visitor-days): using {visitors:,}.")
    if not notes:
        return scenario, []
    return apply_overrides(scenario, {"traffic.days": days, "traffic.visitors": visitors}), notes
