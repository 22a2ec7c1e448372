"""Data values and table columns for people: event names in words, and a table's `st.column_config`
(labels from the catalogue, rates as percentages, counts with separators, dates without midnight)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import polars as pl
import streamlit as st

from ui.words import t


def event(code: str) -> str:
    """An event's name for people ("Added to cart" for add_to_cart: the same name as on every page), and
    the quality report's "all" row."""
    return t("fields.all_events") if code == "all" else t(f"common.event.{code}")


def field(name: str) -> str:
    """A stored column's name for people ("Referring site" for referrer_host)."""
    return t(f"fields.{name}")


def in_words(frame: pl.DataFrame, mapping: Mapping[str, Callable[[str], str]]) -> pl.DataFrame:
    """`frame` with the code columns in `mapping` turned into words (for a table people read; downloads keep codes)."""
    out = frame
    for column, words in mapping.items():
        if column in out.columns:
            codes = out[column].drop_nulls().unique().to_list()
            out = out.with_columns(pl.col(column).replace_strict({c: words(c) for c in codes}, default=None, return_dtype=pl.String))
    return out


def columns(frame: pl.DataFrame, label: Callable[[str], str] = field, percent: Iterable[str] = ()) -> dict[str, Any]:
    """A column_config for every column of `frame`: its label (`label(name)`, a stored column's name by default);
    the columns in `percent` (shares 0..1) as percentages, other numbers with the reader's separators, dates and
    times in the reader's format."""
    shares = set(percent)
    out: dict[str, Any] = {}
    for name, dtype in frame.schema.items():
        label_text = label(name)
        if name in shares:
            out[name] = st.column_config.NumberColumn(label_text, format="percent")
        elif dtype.is_numeric():
            out[name] = st.column_config.NumberColumn(label_text, format="localized")
        elif dtype == pl.Date:
            out[name] = st.column_config.DateColumn(label_text, format="localized")
        elif isinstance(dtype, pl.Datetime):
            out[name] = st.column_config.DatetimeColumn(label_text, format="localized")
        else:
            out[name] = st.column_config.Column(label_text)
    return out
