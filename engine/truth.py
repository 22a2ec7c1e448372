"""The truth model a run is built from: visitors, their events and their fixed consent draws.

The simulator (simulators.traffic) draws it; the pipeline (engine.pipeline) turns it into hits and
rails. Column lists come from the schema registry.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from engine import schema

# Columns the pipeline adds to the visitors table from the consent decisions (not part of the truth draw).
DECISION_COLUMNS = ("consent_choice", "consent_at")
VISITOR_COLUMNS = tuple(c for c in schema.columns("visitors", run_id=False) if c not in DECISION_COLUMNS)
EVENT_COLUMNS = schema.columns("truth_events", run_id=False)
CONSENT_DRAWS = ("u_decide", "u_accept", "u_custom", "u_page", "u_delay")


@dataclass(frozen=True)
class Traffic:
    """Ground truth of one chunk (or a whole run): stored visitors and events, plus CRN draws."""

    visitors: pl.DataFrame  # VISITOR_COLUMNS, sorted by visitor_id
    events: pl.DataFrame  # EVENT_COLUMNS, sorted by visitor, then time
    draws: pl.DataFrame  # visitor_id + CONSENT_DRAWS (common random numbers); never stored

    def only(self, keep: pl.Expr) -> Traffic:
        """The same truth restricted to the visitors and events matching `keep` (a visitor_id filter)."""
        return Traffic(self.visitors.filter(keep), self.events.filter(keep), self.draws.filter(keep))
