"""The Copy tests page's verdicts: a warning per sample-ratio mismatch, and the fairness check."""

from __future__ import annotations

import polars as pl
import streamlit as st

from engine import bandit
from ui.charts.theme import LABELS
from ui.words import pct, t


def srm_warnings(results: pl.DataFrame) -> None:
    """One warning per policy and rail whose observed split does not match the assigned one."""
    for row in results.filter(pl.col("srm_flag")).iter_rows(named=True):
        st.warning(t("copy_tests.srm_warning", policy=bandit.POLICY_LABELS[row["policy"]], rail=LABELS[row["rail"]], p=f"{row['p_value']:.1e}"))


def fairness_verdict(fair: pl.DataFrame, gap: float) -> None:
    """Which policies leave which groups behind, or that none does."""
    flagged = fair.filter(pl.col("flagged")).group_by("policy", maintain_order=True).agg(pl.col("group"))
    if flagged.height:
        st.warning(t("copy_tests.fairness_warning", gap=pct(gap), items="; ".join(
            t("copy_tests.fairness_item", policy=bandit.POLICY_LABELS[p], groups=", ".join(g).replace("_", " ")) for p, g in flagged.iter_rows())))
    else:
        st.success(t("copy_tests.fairness_ok", gap=pct(gap)))
