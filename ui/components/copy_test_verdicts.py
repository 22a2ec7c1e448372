"""The Copy tests page's verdicts: a warning per sample-ratio mismatch, and the fairness check."""

from __future__ import annotations

import polars as pl
import streamlit as st

from ui.charts.theme import rail_label
from ui.components.copy_test_settings import policy_name
from ui.words import has, num, pct, t


def group_name(group: str) -> str:
    """A visitor group's name for people (personas, devices)."""
    return t(key) if has(key := f"common.value.{group}") else group.replace("_", " ")


def named(frame: pl.DataFrame, short: dict[str, str], column: str = "arm") -> pl.DataFrame:
    """A frame with its variants by their short names ("Variant A"): what the charts and tables show."""
    return frame.with_columns(pl.col(column).replace(short)) if column in frame.columns else frame


def p_value(p: float) -> str:
    """A p-value as people read it: "= 0.012", or "< 0.001" (never 1.2e-05)."""
    return t("copy_tests.p_below", p=num(0.001, 3)) if p < 0.001 else t("copy_tests.p_equal", p=num(p, 3))


def srm_warnings(results: pl.DataFrame) -> None:
    """One warning per policy and rail whose observed split does not match the assigned one."""
    for row in results.filter(pl.col("srm_flag")).iter_rows(named=True):
        st.warning(t("copy_tests.srm_warning", policy=policy_name(row["policy"]), rail=rail_label(row["rail"]), p=p_value(row["p_value"])))


def fairness_verdict(fair: pl.DataFrame, gap: float) -> None:
    """Which policies leave which groups behind, or that none does."""
    flagged = fair.filter(pl.col("flagged")).group_by("policy", maintain_order=True).agg(pl.col("group"))
    if flagged.height:
        st.warning(t("copy_tests.fairness_warning", gap=pct(gap), items="; ".join(
            t("copy_tests.fairness_item", policy=policy_name(p), groups=", ".join(map(group_name, g))) for p, g in flagged.iter_rows())))
    else:
        st.success(t("copy_tests.fairness_ok", gap=pct(gap)))
