"""Retention, in one implementation: DuckDB SQL over the store's tables or over polars frames registered
in an in-memory connection. A row's PII level is the highest level among its non-null columns (at least
the table's floor); a row is past retention when its clock is older than its level's days.

engine.store runs it on a DuckDB file (report and purge), engine.rights on a run's frames (the Data
rights page's "now" slider and the erasure copy), the CLI on either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import duckdb
import polars as pl

from engine.schema import DATA_TABLES, RETENTION_CLOCK, RETENTION_DAYS, RETENTION_FLOOR, TABLES, Level

# Forever is modelled as 1,000,000 days so one expression covers all levels.
_FOREVER_DAYS = 1_000_000
_DAYS_CASE = " ".join(f"WHEN {int(lv)} THEN {d if d is not None else _FOREVER_DAYS}" for lv, d in RETENTION_DAYS.items())
REPORT_COLUMNS = ("table", "level", "level_name", "retention_days", "rows", "expired", "kept")


def cutoff(level: Level, now: dt.datetime) -> dt.datetime | None:
    """Rows of this level older than the cutoff are past retention (None: kept forever)."""
    days = RETENTION_DAYS[Level(level)]
    return None if days is None else now - dt.timedelta(days=days)


def row_level_sql(table: str, present: Iterable[str] | None = None) -> str:
    """SQL for a row's PII level over the table's classified columns (those in `present`, if given)."""
    cols = [c for c in TABLES[table] if present is None or c in set(present)]
    floor = int(RETENTION_FLOOR.get(table, Level.NONE))
    parts = [f'CASE WHEN "{c}" IS NOT NULL THEN {int(TABLES[table][c].level)} ELSE 0 END' for c in cols]
    return f"greatest({', '.join([str(floor), *parts])})"


def expired_sql(table: str, present: Iterable[str] | None = None, now: str = "$now") -> str:
    """SQL condition, true for rows past retention at the timestamp parameter `now`."""
    level = row_level_sql(table, present)
    clock = RETENTION_CLOCK[table]
    return (f'coalesce("{clock}" < CAST({now} AS TIMESTAMPTZ) - '
            f"to_days(CAST(CASE {level} {_DAYS_CASE} END AS INTEGER)), false)")


def _level_counts(cur: duckdb.DuckDBPyConnection, table: str, relation: str, present: Iterable[str] | None,
                  now: dt.datetime, where: str = "", params: Mapping[str, object] | None = None) -> pl.DataFrame:
    q = (f"SELECT {row_level_sql(table, present)} AS level, {expired_sql(table, present)} AS expired "
         f'FROM "{relation}"{" WHERE " + where if where else ""}')
    return cur.sql(
        f"SELECT CAST(level AS INTEGER) AS level, count(*) AS rows, count(*) FILTER (WHERE expired) AS expired FROM ({q}) GROUP BY level",
        params={"now": now, **(params or {})},
    ).pl().with_columns(table=pl.lit(table))


def _report(parts: list[pl.DataFrame]) -> pl.DataFrame:
    schema = {"level": pl.Int32, "rows": pl.Int64, "expired": pl.Int64, "table": pl.String}
    out = pl.concat([p.cast(schema) for p in parts]) if parts else pl.DataFrame(schema=schema)  # type: ignore[arg-type]
    return out.with_columns(
        level_name=pl.col("level").replace_strict({int(lv): lv.name for lv in Level}, return_dtype=pl.String),
        retention_days=pl.col("level").replace_strict({int(lv): d for lv, d in RETENTION_DAYS.items()}, return_dtype=pl.Int64),
        kept=pl.col("rows") - pl.col("expired"),
    ).select(REPORT_COLUMNS).sort("table", "level")


def store_report(con: duckdb.DuckDBPyConnection, now: dt.datetime, run_id: str | None = None) -> pl.DataFrame:
    """Per table and row PII level of a store: rows held, rows past retention at `now`, rows kept."""
    cur = con.cursor()
    try:
        where, params = ("run_id = $run", {"run": run_id}) if run_id else ("", {})
        return _report([_level_counts(cur, t, t, None, now, where, params) for t in DATA_TABLES])
    finally:
        cur.close()


def purge_store(cur: duckdb.DuckDBPyConnection, now: dt.datetime, run_id: str | None = None) -> dict[str, int]:
    """Delete every row past retention at `now` inside the caller's transaction; rows deleted per table."""
    deleted = {}
    for t in DATA_TABLES:
        where = expired_sql(t) + (" AND run_id = $run" if run_id else "")
        params = {"now": now, **({"run": run_id} if run_id else {})}
        n = cur.execute(f'SELECT count(*) FROM "{t}" WHERE {where}', params).fetchone()
        cur.execute(f'DELETE FROM "{t}" WHERE {where}', params)
        deleted[t] = int(n[0]) if n else 0
    return deleted


def _frames_connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # day arithmetic must not depend on the machine's zone
    return con


def frames_report(tables: Mapping[str, pl.DataFrame], now: dt.datetime) -> pl.DataFrame:
    """`store_report` for a run's frames (data tables only; others are ignored)."""
    con = _frames_connection()
    try:
        parts = []
        for t, frame in tables.items():
            if t in DATA_TABLES:
                con.register("_frame", frame)
                parts.append(_level_counts(con, t, "_frame", frame.columns, now))
                con.unregister("_frame")
        return _report(parts)
    finally:
        con.close()


def row_levels(table: str, frame: pl.DataFrame) -> pl.Series:
    """Each row's PII level, in row order."""
    return _per_row(frame, row_level_sql(table, frame.columns), "level").cast(pl.Int32)


def expired(table: str, frame: pl.DataFrame, now: dt.datetime) -> pl.Series:
    """True for rows past their level's retention at `now`, in row order."""
    return _per_row(frame, expired_sql(table, frame.columns), "expired", now)


def _per_row(frame: pl.DataFrame, expr: str, name: str, now: dt.datetime | None = None) -> pl.Series:
    con = _frames_connection()
    try:
        con.register("_frame", frame)
        # A plain projection keeps the frame's row order (DuckDB preserves insertion order by default).
        return con.sql(f'SELECT {expr} AS "{name}" FROM "_frame"', params={"now": now} if now is not None else None).pl()[name]
    finally:
        con.close()
