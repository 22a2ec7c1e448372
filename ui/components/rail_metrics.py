"""A strip of headline numbers from a KPI table (engine.metrics.kpi_table): one metric per rail and count."""

from __future__ import annotations

import polars as pl
import streamlit as st


def rail_metrics(kpi: pl.DataFrame, shown: list[tuple[str, str, str]]) -> None:
    """One metric per (label, metric, rail); a rail other than the truth shows its error vs the truth."""
    row = {r["metric"]: r for r in kpi.iter_rows(named=True)}
    for col, (label, metric, rail) in zip(st.columns(len(shown)), shown, strict=True):
        value = f"{row[metric][rail]:,.0f}"
        if rail == "truth":
            col.metric(label, value)
        else:
            col.metric(label, value, f"{row[metric][f'{rail}_error_pct']:+.1f}% vs truth", delta_color="off")
