"""Every table shown can be downloaded, as CSV and as Parquet; in presenter mode both sit in "Show data"."""

from __future__ import annotations

import io

import polars as pl
import streamlit as st

from ui.present import show_data
from ui.words import t


def table_with_downloads(frame: pl.DataFrame, name: str, **dataframe_kwargs: object) -> None:
    """A table and two download buttons (CSV, Parquet) under it, one click away when presenting."""
    with show_data():
        st.dataframe(frame, hide_index=True, **dataframe_kwargs)
        _buttons(frame, name)


def download_buttons(frame: pl.DataFrame, name: str) -> None:
    """The two download buttons alone (one click away when presenting)."""
    with show_data():
        _buttons(frame, name)


def _buttons(frame: pl.DataFrame, name: str) -> None:
    c1, c2, _ = st.columns([1, 1, 4])
    c1.download_button(t("charts.download_csv"), frame.write_csv().encode(), f"{name}.csv", "text/csv", key=f"dl-csv-{name}")
    buf = io.BytesIO()
    frame.write_parquet(buf)
    c2.download_button(t("charts.download_parquet"), buf.getvalue(), f"{name}.parquet", "application/octet-stream",
                       key=f"dl-pq-{name}")


def rounded(frame: pl.DataFrame, digits: int = 4) -> pl.DataFrame:
    """Float columns rounded for reading (the chart beside a table keeps full precision)."""
    return frame.with_columns(pl.selectors.float().round(digits))
