"""Every table shown can be downloaded, as CSV and as Parquet; tables and buttons sit in "Show data".

A closed "Show data" costs nothing (its content is drawn only once someone opens it); an open one
costs only the table's Arrow form: it goes to Streamlit as an Arrow table (no detour through pandas),
and the files are written when someone clicks a download button (deferred data), not on every rerun
of every session following a room.

`people_table` shows a table for people: column names in words (`common.col.<column>`), codes in
words (rails, banners, events, devices, regions, ...), counts with separators, shares as
percentages, errors in percent, dates without times (`st.column_config`); the downloads keep the
columns and values as they are.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import Any

import polars as pl
import streamlit as st

from ui.present import show_data
from ui.words import has, t

# Columns whose values are codes, and the kind of name each code has in the catalogue.
VALUE_KINDS = {
    "event": "event", "device": "value", "region": "value", "channel": "value", "privacy_attitude": "value",
    "persona": "value", "group": "value", "consent_choice": "value", "value": "value", "dimension": "col", "by": "col",
    "metric": "metric", "policy": "policy", "model": "model", "rail": "rail", "banner": "option", "mode": "option", "site": "option",
}
# Shares (0..1) shown as percentages; columns ending in `_pct` are already in percent.
SHARES = {"share", "truth_share", "accept_all", "custom", "reject_all", "gpc", "no_banner", "share_error", "analytics_granted", "ads_granted", "accept_rate", "reject_rate",
          "no_decision", "accepted", "rejected", "ignored", "conversion_from_start", "conversion_from_previous",
          "drop_off", "conversion_rate", "bounce_rate", "attainment", "p_best", "true_rate", "fullstack_rate",
          "baseline_rate", "observed_rate", "granted_share", "published_accept_rate", "allocation", "assigned_share",
          "observed_share"}


def words(column: str, value: Any) -> str | None:
    """A code of `column` in words, or None when the code has no name in the catalogue."""
    kind = VALUE_KINDS.get(column)
    if value is None or kind is None:
        return None
    code = str(value).replace(" ", "_")
    key = {"event": f"common.event.{code}", "value": f"common.value.{code}", "col": f"common.col.{code}",
           "metric": f"common.metric.{code}", "policy": f"common.policy.{code}", "model": f"common.model.{code}",
           "rail": f"charts.rail_{code}", "option": f"sidebar.option.{code}"}[kind]
    return t(key) if has(key) else None


def readable(frame: pl.DataFrame, labels: Mapping[str, str] | None = None) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The frame with its codes in words, and the column configuration that names and formats its columns."""
    out = frame
    config: dict[str, Any] = {}
    for name, dtype in frame.schema.items():
        if dtype == pl.String and name in VALUE_KINDS:
            named = {v: w for v in frame[name].unique().drop_nulls().to_list() if (w := words(name, v)) is not None}
            if named:
                out = out.with_columns(pl.col(name).replace(named))
        label = (labels or {}).get(name) or column_label(name)
        if dtype.is_float() or dtype.is_integer():
            if name in SHARES or name.endswith(("_share", "_rate")):
                config[name] = st.column_config.NumberColumn(label, format="percent")
            elif name.endswith("_pct") or name == "error_pct":
                config[name] = st.column_config.NumberColumn(label, format="%.1f %%")
            else:
                config[name] = st.column_config.NumberColumn(label, format="localized")
        elif dtype == pl.Date:
            config[name] = st.column_config.DateColumn(label, format="localized")
        elif isinstance(dtype, pl.Datetime):
            config[name] = st.column_config.DatetimeColumn(label, format="localized")
        elif dtype == pl.Boolean:
            config[name] = st.column_config.CheckboxColumn(label)
        else:
            config[name] = st.column_config.Column(label)
    return out, config


def column_label(name: str) -> str:
    """A column's name for people: `common.col.<name>`, or a rail's error / a rail's name."""
    if has(key := f"common.col.{name}"):
        return t(key)
    for rail in ("baseline", "fullstack", "modelled", "truth"):
        if name == rail:
            return t(f"charts.rail_{rail}")
        if name == f"{rail}_error_pct":
            return t("common.col.rail_error_pct", rail=t(f"charts.rail_{rail}"))
    return name.replace("_", " ").capitalize() if "_" in name or name.islower() else name  # already words


def people_table(frame: pl.DataFrame, name: str, labels: Mapping[str, str] | None = None,
                 shown: Callable[[pl.DataFrame], pl.DataFrame] | None = None, digits: int | None = None) -> None:
    """A table for people (readable) and its downloads (the frame as it is, or its floats `rounded` to
    `digits`), in "Show data". `labels`: column names that differ from the catalogue's; `shown`: what of
    the frame to show."""
    with show_data(name) as opened:
        if opened:  # closed, nothing is rounded, put into words or formatted
            if digits is not None:
                frame = rounded(frame, digits)
            view, config = readable(shown(frame) if shown is not None else frame, labels)
            st.dataframe(view.to_arrow(), hide_index=True, column_config=config)
            _buttons(frame, name)


def table_with_downloads(frame: pl.DataFrame, name: str, **dataframe_kwargs: object) -> None:
    """A table and two download buttons (CSV, Parquet) under it, in "Show data"."""
    with show_data(name) as opened:
        if opened:
            st.dataframe(frame.to_arrow(), hide_index=True, **dataframe_kwargs)
            _buttons(frame, name)


def download_buttons(frame: pl.DataFrame, name: str) -> None:
    """The two download buttons alone (in "Show data")."""
    with show_data(name) as opened:
        if opened:
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
