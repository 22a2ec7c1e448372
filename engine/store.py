"""DuckDB store: the six tables, run ids, atomic writes, one cursor per query, Parquet export/import.

Every table carries `run_id`, so one database holds many runs. Writes of one chunk are one
transaction; files are written under a temporary name and renamed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import duckdb
import polars as pl

from engine import masking
from engine.scenario import Scenario

TABLES = ("runs", "visitors", "truth_events", "consent_log", "baseline_events", "fullstack_events")
DATA_TABLES = TABLES[1:]
RUN_ID_RE = re.compile(r"^[0-9a-f]{16}$")

S, I64, I32, F64, B, D = pl.String, pl.Int64, pl.Int32, pl.Float64, pl.Boolean, pl.Date
TS = pl.Datetime("us", "UTC")

_EVENT_COMMON = {
    "event_id": I64, "ts": TS, "date": D, "event": S, "path": S, "utm_source": S, "utm_medium": S,
    "utm_campaign": S, "referrer_host": S, "channel": S, "country": S, "ip_truncated": S, "browser_family": S,
    "os": S, "device_class": S,
}
SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "runs": {
        "run_id": S, "traffic_key": S, "scenario_json": S, "created_at": TS, "source": S, "visitors": I64,
        "truth_events": I64, "baseline_events": I64, "fullstack_events": I64, "consent_log": I64,
    },
    "visitors": {
        "run_id": S, "visitor_id": I64, "date": D, "first_seen": TS, "persona": S, "privacy_attitude": S, "region": S,
        "country": S, "city": S, "timezone": S, "language": S, "device": S, "os": S, "browser": S, "platform": S,
        "user_agent": S, "ipv4": S, "ipv6": S, "screen": S, "webgl": S, "fonts": S, "canvas": S, "plugins": S,
        "accept": S, "dnt": B, "cookies_enabled": B, "adblock": B, "gpc": B, "has_account": B, "email": S,
        "n_sessions": I32, "n_events": I32, "consent_choice": S, "consent_at": TS,
    },
    "truth_events": {
        "run_id": S, "event_id": I64, "visitor_id": I64, "session_id": I64, "session_index": I32, "session_start": TS,
        "seq": I32, "ts": TS, "date": D, "event": S, "path": S, "url": S, "referrer": S, "channel": S, "revenue": F64,
        "logged_in": B,
    },
    "baseline_events": {"run_id": S, **_EVENT_COMMON, "visitor_hash": S, "revenue": F64, "transaction_id": S},
    "fullstack_events": {
        "run_id": S, **_EVENT_COMMON, "is_ping": B, "gcs": S, "device_id": S, "session_id": S, "user_id": S, "url": S,
        "gclid": S, "has_ad_click": B, "ua_hash": S, "language": S, "revenue": F64, "transaction_id": S,
        "analytics_storage": B, "ad_storage": B, "ad_user_data": B, "ad_personalization": B,
    },
    "consent_log": {
        "run_id": S, "anonymous_id": S, "consent_type": S, "granted": B, "method": S, "ip_hash": S, "ua_hash": S,
        "consent_version": S, "consent_text": S, "country": S, "ts": TS, "date": D,
    },
}
_DUCK_TYPES = {S: "VARCHAR", I64: "BIGINT", I32: "INTEGER", F64: "DOUBLE", B: "BOOLEAN", D: "DATE", TS: "TIMESTAMPTZ"}


class StoreError(RuntimeError):
    """A store operation that cannot be done (unknown run, bad path, unreadable Parquet)."""


def _ddl(table: str) -> str:
    cols = ", ".join(f'"{c}" {_DUCK_TYPES[t]}' for c, t in SCHEMAS[table].items())
    return f'CREATE TABLE IF NOT EXISTS "{table}" ({cols})'


def connect(path: str | Path = ":memory:", read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (and for writers, initialise) a store. One connection per process; cursor per query."""
    con = duckdb.connect(str(path), read_only=read_only)
    # Day arithmetic (retention) must not depend on the machine's zone or its DST changes.
    con.execute("SET TimeZone = 'UTC'")
    if not read_only:
        init_schema(con)
    return con


def init_schema(con: duckdb.DuckDBPyConnection) -> None:
    cur = con.cursor()
    for t in TABLES:
        cur.execute(_ddl(t))
    cur.close()


def conform(table: str, frame: pl.DataFrame, run_id: str) -> pl.DataFrame:
    """The frame with run_id, in the table's column order and types (missing columns are an error)."""
    schema = SCHEMAS[table]
    missing = [c for c in schema if c != "run_id" and c not in frame.columns]
    if missing:
        raise StoreError(f"{table}: missing columns {missing}")
    return frame.with_columns(run_id=pl.lit(run_id)).select([pl.col(c).cast(t) for c, t in schema.items()])


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor inside one transaction: committed if the block ends normally, rolled back if not."""
    cur = con.cursor()
    cur.execute("BEGIN")
    try:
        yield cur
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    finally:
        cur.close()


def write_tables(con: duckdb.DuckDBPyConnection, run_id: str, tables: Mapping[str, pl.DataFrame]) -> None:
    """Append frames to their tables in one transaction: all of them land, or none."""
    with transaction(con) as cur:
        insert_frames(cur, run_id, tables)


def insert_frames(cur: duckdb.DuckDBPyConnection, run_id: str, tables: Mapping[str, pl.DataFrame]) -> None:
    """Append frames to their tables inside the caller's transaction."""
    for table, frame in tables.items():
        if table not in SCHEMAS:
            raise StoreError(f"unknown table {table!r}")
        _frame = conform(table, frame, run_id)
        cur.execute(f'INSERT INTO "{table}" SELECT * FROM _frame')


def run_row(scenario: Scenario, counts: Mapping[str, int], source: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "run_id": [scenario.run_id],
            "traffic_key": [scenario.traffic_key],
            "scenario_json": [scenario.canonical_json()],
            "created_at": [dt.datetime.now(dt.UTC)],
            "source": [source],
            **{t: [int(counts.get(t, 0))] for t in DATA_TABLES},
        }
    )


def query(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> pl.DataFrame:
    """Run one parameterised query on its own cursor and return a polars frame."""
    cur = con.cursor()
    try:
        return cur.sql(sql, params=params).pl()
    finally:
        cur.close()


def list_runs(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return query(con, "SELECT * FROM runs ORDER BY created_at DESC")


def has_run(con: duckdb.DuckDBPyConnection, run_id: str) -> bool:
    return query(con, "SELECT count(*) AS n FROM runs WHERE run_id = ?", [run_id])["n"][0] > 0


def load_table(con: duckdb.DuckDBPyConnection, table: str, run_id: str, columns: list[str] | None = None) -> pl.DataFrame:
    if table not in SCHEMAS:
        raise StoreError(f"unknown table {table!r}")
    cols = columns or [c for c in SCHEMAS[table] if c != "run_id"]
    bad = [c for c in cols if c not in SCHEMAS[table]]
    if bad:
        raise StoreError(f"unknown columns for {table}: {bad}")
    sel = ", ".join(f'"{c}"' for c in cols)
    return query(con, f'SELECT {sel} FROM "{table}" WHERE run_id = ?', [run_id])


def delete_run(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    cur = con.cursor()
    cur.execute("BEGIN")
    try:
        for t in TABLES:
            cur.execute(f'DELETE FROM "{t}" WHERE run_id = ?', [run_id])
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    finally:
        cur.close()


# --- Parquet runs -------------------------------------------------------------------------------


def _check_run_id(run_id: str) -> str:
    if not RUN_ID_RE.match(run_id):
        raise StoreError(f"not a run id: {run_id!r}")
    return run_id


def _partition_expr(table: str) -> str:
    return "CAST(created_at AS DATE)" if table == "runs" else '"date"'


def export_parquet(con: duckdb.DuckDBPyConnection, run_id: str, root: Path) -> Path:
    """Write a run as `root/<run_id>/<table>/date=YYYY-MM-DD/*.parquet`, via a temporary folder
    renamed into place, so a reader never sees half a run."""
    _check_run_id(run_id)
    if not has_run(con, run_id):
        raise StoreError(f"no run {run_id} in this store")
    root.mkdir(parents=True, exist_ok=True)
    final = root / run_id
    tmp = root / f".tmp-{run_id}-{uuid.uuid4().hex[:8]}"
    cur = con.cursor()
    try:
        for t in TABLES:
            cols = ", ".join(f'"{c}"' for c in SCHEMAS[t] if c != "date")
            out = tmp / t
            out.mkdir(parents=True)
            cur.execute(
                f"COPY (SELECT {cols}, {_partition_expr(t)} AS date FROM \"{t}\" WHERE run_id = $1) "
                f"TO '{out.as_posix()}' (FORMAT parquet, PARTITION_BY (date), OVERWRITE_OR_IGNORE)",
                [run_id],
            )
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        cur.close()
    return final


def parquet_glob(run_dir: Path, table: str) -> str:
    return (run_dir / table / "*" / "*.parquet").as_posix()


def import_parquet(con: duckdb.DuckDBPyConnection, run_dir: Path) -> str:
    """Load a Parquet run folder into the store (replacing a run with the same id) in one transaction."""
    run_id = _check_run_id(run_dir.name)
    if not (run_dir / "runs").is_dir():
        raise StoreError(f"{run_dir} is not a run folder (no runs/ inside)")
    cur = con.cursor()
    cur.execute("BEGIN")
    try:
        for t in TABLES:
            cur.execute(f'DELETE FROM "{t}" WHERE run_id = ?', [run_id])
            if not any((run_dir / t).glob("*/*.parquet")):
                continue
            cols = ", ".join(f'"{c}"' for c in SCHEMAS[t])
            cur.execute(
                f'INSERT INTO "{t}" SELECT {cols} FROM read_parquet(?, hive_partitioning = true, union_by_name = true) WHERE run_id = ?',
                [parquet_glob(run_dir, t), run_id],
            )
        cur.execute("COMMIT")
    except duckdb.Error as err:
        cur.execute("ROLLBACK")
        raise StoreError(f"cannot import {run_dir}: {err}") from None
    finally:
        cur.close()
    return run_id


def parquet_runs(root: Path) -> list[dict]:
    """Run folders written by the CLI under root, with their scenario (unreadable ones skipped)."""
    out = []
    if not root.is_dir():
        return out
    for d in sorted(root.iterdir()):
        if d.name.startswith(".") or not RUN_ID_RE.match(d.name):
            continue
        try:
            row = duckdb.sql(f"SELECT * FROM read_parquet('{parquet_glob(d, 'runs')}', hive_partitioning = true)").pl()
        except duckdb.Error:
            continue
        if row.height:
            out.append({"path": d, **row.drop("date", strict=False).row(0, named=True)})
    return out


# --- retention ------------------------------------------------------------------------------


def retention_report(con: duckdb.DuckDBPyConnection, run_id: str, now: dt.datetime) -> pl.DataFrame:
    """Per table and PII level of the row: rows held and rows past retention at `now`."""
    parts = []
    for t in DATA_TABLES:
        clock = masking.RETENTION_CLOCK[t]
        level = masking.row_level_sql(t)
        q = f'SELECT {level} AS level, "{clock}" AS clock FROM "{t}" WHERE run_id = ?'
        frame = query(con, f"SELECT level, count(*) AS rows, count(*) FILTER (WHERE clock < CAST(? AS TIMESTAMPTZ) - to_days(CAST(CASE level {_cases()} END AS INTEGER))) AS expired FROM ({q}) GROUP BY level", [now, run_id])
        parts.append(frame.with_columns(table=pl.lit(t)))
    out = pl.concat(parts) if parts else pl.DataFrame()
    return out.with_columns(
        level_name=pl.col("level").replace_strict({int(lv): lv.name for lv in masking.Level}, return_dtype=pl.String),
        retention_days=pl.col("level").replace_strict({int(lv): d for lv, d in masking.RETENTION_DAYS.items()}, return_dtype=pl.Int64),
    ).select("table", "level", "level_name", "retention_days", "rows", "expired").sort("table", "level")


def _cases() -> str:
    # Forever is modelled as 1,000,000 days so one expression covers all levels.
    return " ".join(f"WHEN {int(lv)} THEN {d if d is not None else 1_000_000}" for lv, d in masking.RETENTION_DAYS.items())


def purge_expired(con: duckdb.DuckDBPyConnection, now: dt.datetime, run_id: str | None = None) -> dict[str, int]:
    """Delete every row past its retention at `now` (one transaction); rows deleted per table."""
    cur = con.cursor()
    cur.execute("BEGIN")
    deleted = {}
    try:
        for t in DATA_TABLES:
            clock = masking.RETENTION_CLOCK[t]
            cond = f'"{clock}" < CAST($now AS TIMESTAMPTZ) - to_days(CAST(CASE {masking.row_level_sql(t)} {_cases()} END AS INTEGER))'
            where = cond + (" AND run_id = $run" if run_id else "")
            params = {"now": now, **({"run": run_id} if run_id else {})}
            n = cur.execute(f'SELECT count(*) FROM "{t}" WHERE {where}', params).fetchone()[0]
            cur.execute(f'DELETE FROM "{t}" WHERE {where}', params)
            deleted[t] = int(n)
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    finally:
        cur.close()
    return deleted


def scenario_of(con: duckdb.DuckDBPyConnection, run_id: str) -> dict:
    rows = query(con, "SELECT scenario_json FROM runs WHERE run_id = ?", [run_id])
    if rows.height == 0:
        raise StoreError(f"no run {run_id}")
    return json.loads(rows["scenario_json"][0])


def read_parquet_run(run_dir: Path) -> dict[str, pl.DataFrame]:
    """The five data tables of a Parquet run folder as polars frames (schema types, no run_id)."""
    _check_run_id(run_dir.name)
    out = {}
    for t in DATA_TABLES:
        schema = {c: d for c, d in SCHEMAS[t].items() if c != "run_id"}
        if not any((run_dir / t).glob("*/*.parquet")):
            out[t] = pl.DataFrame(schema=schema)
            continue
        frame = query(duckdb.connect(), "SELECT * FROM read_parquet(?, hive_partitioning = true, union_by_name = true)", [parquet_glob(run_dir, t)])
        out[t] = frame.select([pl.col(c).cast(d) for c, d in schema.items()])
    return out
