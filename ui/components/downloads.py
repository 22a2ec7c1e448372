"""Every table shown can be downloaded, as CSV and as Parquet."""

from __future__ import annotations

import io

import polars as pl
import streamlit as st


def table_with_downloads(frame: pl.DataFrame, name: str, **dataframe_kwargs: object) -> None:
    """Show a table and two download buttons (CSV, Parquet) under it."""
    st.dataframe(frame, hide_index=True, **dataframe_kwargs)
    download_buttons(frame, name)


def download_buttons(frame: pl.DataFrame, name: str) -> None:
    c1, c2, _ = st.columns([1, 1, 4])
    c1.download_button("CSV", frame.write_csv().encode(), f"{name}.csv", "text/csv", key=f"dl-csv-{name}")
    buf = io.BytesIO()
    frame.write_parquet(buf)
    c2.download_button("Parquet", buf.getvalue(), f"{name}.parquet", "application/octet-stream", key=f"dl-pq-{name}")


def rounded(frame: pl.DataFrame, digits: int = 4) -> pl.DataFrame:
    """Float columns rounded for reading (the chart beside a table keeps full precision)."""
    return frame.with_columns(pl.selectors.float().round(digits))
