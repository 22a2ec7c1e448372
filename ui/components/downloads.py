"""Every table shown can be downloaded, as CSV and as Parquet; in presenter mode both sit in "Show data".

Per rerun a table costs only its Arrow form: it goes to Streamlit as an Arrow table (no detour
through pandas), and the files are written when someone clicks a download button (deferred data),
not on every rerun of every session following a room."""

from __future__ import annotations

import io

import polars as pl
import streamlit as st

from ui.present import show_data
from ui.words import t


def table_with_downloads(frame: pl.DataFrame, name: str, **dataframe_kwargs: object) -> None:
    """A table and two download buttons (CSV, Parquet) under it, one click away when presenting."""
    with show_data():
        st.dataframe(frame.to_arrow(), hide_index=True, **dataframe_kwargs)
        _buttons(frame, name)


def download_buttons(frame: pl.DataFrame, name: str) -> None:
    """The two download buttons alone (one click away when presenting)."""
    with show_data():
        _buttons(frame, name)


def _buttons(frame: pl.DataFrame, name: str) -> None:
    c1, c2, _ = st.columns([1, 1, 4])
    c1.download_button(t("charts.download_csv"), lambda: csv_bytes(frame), f"{name}.csv", "text/csv", key=f"dl-csv-{name}")
    c2.download_button(t("charts.download_parquet"), lambda: parquet_bytes(frame), f"{name}.parquet",
                       "application/octet-stream", key=f"dl-pq-{name}")


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """The CSV file a download button hands out (written on the click)."""
    return frame.write_csv().encode()


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    """The Parquet file a download button hands out (written on the click)."""
    buf = io.BytesIO()
    frame.write_parquet(buf)
    return buf.getvalue()


def rounded(frame: pl.DataFrame, digits: int = 4) -> pl.DataFrame:
    """Float columns rounded for reading (the chart beside a table keeps full precision)."""
    return frame.with_columns(pl.selectors.float().round(digits))
