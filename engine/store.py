"""DuckDB store: the six tables, run ids, atomic writes, one cursor per query, Parquet export/import,
and the retention job.

Every table carries `run_id`, so one database holds many runs. Writes of one chunk are one
transaction; files are written under a temporary name and renamed.

    python -m engine.store purge PATH --now YYYY-MM-DD [--apply]

runs retention on a DuckDB file or a Parquet run folder: by default a dry run that prints what
each PII level would lose; `--apply` deletes it (one transaction for a file; a folder is rewritten
under a temporary name and renamed into place).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

import duckdb
import polars as pl
from pydantic import ValidationError

from engine import retention, schema
from engine.scenario import Scenario, format_validation_error

TABLES = schema.TABLE_NAMES
DATA_TABLES = schema.DATA_TABLES
RUN_ID_RE = re.compile(r"^[0-9a-f]{16}$")
IMPORT_MAX_ROWS_ENV = "DRCL_IMPORT_MAX_ROWS"
# Rows any one table of a Parquet run may have to be loaded (the truth events are the largest
# table: a 1,000,000-visitor run has about 4.4 million). A few MB of Parquet can expand to
# millions of rows, so the check reads the row counts in the files' footers, not their sizes.
DEFAULT_IMPORT_MAX_ROWS = 5_000_000
NO_ROW_LIMIT = 2**63 - 1  # for the command line's own runs (purge), which no server shares


class StoreError(RuntimeError):
    """A store operation that cannot be done (unknown run, bad path, unreadable Parquet)."""


def connect(path: str | Path = ":memory:", read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (and for writers, initialise) a store. One connection per process; cursor per query."""
    con = duckdb.connect(str(path), read_only=read_only)
    # Day arithmetic (retention) must not depend on the machine's zone or its DST changes.
    con.execute("SET TimeZone = 'UTC'")
    if not read_only:
        init_schema(con)
    return con


def init_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the tables, and bring a store written by an older version up to today's columns: a
    column the registry gained since (a nullable addition) is added, empty for the rows already held.
    Rows are inserted by name, so the added columns' place at the end of the table does not matter."""
    with transaction(con) as cur:
        for t in TABLES:
            cur.execute(schema.ddl(t))
            have = {r[0] for r in cur.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?",
                [t]).fetchall()}
            for c in schema.TABLES[t]:
                if c not in have:
                    cur.execute(f'ALTER TABLE "{t}" ADD COLUMN "{c}" {schema.duck_type(t, c)}')


def conform(table: str, frame: pl.DataFrame, run_id: str) -> pl.DataFrame:
    """The frame with run_id, in the table's column order and types (missing columns are an error)."""
    dtypes = schema.dtypes(table)
    missing = [c for c in dtypes if c != "run_id" and c not in frame.columns]
    if missing:
        raise StoreError(f"{table}: missing columns {missing}")
    return frame.with_columns(run_id=pl.lit(run_id)).select([pl.col(c).cast(t) for c, t in dtypes.items()])


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
        if table not in schema.TABLES:
            raise StoreError(f"unknown table {table!r}")
        # Arrow with plain (large) strings: DuckDB reads them with less work than polars' string views.
        _frame = conform(table, frame, run_id).to_arrow(compat_level=pl.CompatLevel.oldest())
        cur.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM _frame')


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
    if table not in schema.TABLES:
        raise StoreError(f"unknown table {table!r}")
    cols = columns or [c for c in schema.dtypes(table) if c != "run_id"]
    bad = [c for c in cols if c not in schema.dtypes(table)]
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
            cols = ", ".join(f'"{c}"' for c in schema.dtypes(t) if c != "date")
            out = tmp / t
            out.mkdir(parents=True)
            cur.execute(
                f"COPY (SELECT {cols}, {_partition_expr(t)} AS date FROM \"{t}\" WHERE run_id = $1) "
                "TO $2 (FORMAT parquet, PARTITION_BY (date), OVERWRITE_OR_IGNORE)",  # the folder is a parameter: any name
                [run_id, out.as_posix()],
            )
        _swap_in(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        cur.close()
    return final


def _swap_in(tmp: Path, final: Path) -> None:
    """Put the folder `tmp` in place of `final`: the old folder is renamed aside (`.old-<name>-*`)
    and removed only once the new one is in place, so a crash never leaves the run without a copy."""
    if not final.exists():
        os.replace(tmp, final)
        return
    old = final.parent / f".old-{final.name}-{uuid.uuid4().hex[:8]}"
    os.replace(final, old)
    try:
        os.replace(tmp, final)
    except BaseException:
        os.replace(old, final)
        raise
    shutil.rmtree(old, ignore_errors=True)


def parquet_glob(run_dir: Path, table: str) -> str:
    return (run_dir / table / "*" / "*.parquet").as_posix()


def import_max_rows() -> int:
    """The most rows a table of a Parquet run may have to be loaded: $DRCL_IMPORT_MAX_ROWS, default
    DEFAULT_IMPORT_MAX_ROWS."""
    raw = os.environ.get(IMPORT_MAX_ROWS_ENV, "").strip().replace("_", "").replace(",", "")
    if not raw:
        return DEFAULT_IMPORT_MAX_ROWS
    if not raw.isdigit() or int(raw) < 1:
        raise StoreError(f"{IMPORT_MAX_ROWS_ENV} must be a whole number of rows (1 or more), got {raw!r}")
    return int(raw)


def _has_parquet(run_dir: Path, table: str) -> bool:
    return any((run_dir / table).glob("*/*.parquet"))


def parquet_row_counts(run_dir: Path, tables: tuple[str, ...] = TABLES) -> dict[str, int]:
    """Rows per table of a Parquet run folder, from the files' footers (no row is read). Also
    checks that every file carries its table's columns (a missing one would load as nulls)."""
    con = duckdb.connect()
    try:
        counts = {}
        for t in tables:
            if not _has_parquet(run_dir, t):
                counts[t] = 0
                continue
            glob = parquet_glob(run_dir, t)
            try:
                n = con.execute("SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata(?)", [glob]).fetchone()
                names = con.execute("SELECT file_name, list(name) FROM parquet_schema(?) GROUP BY file_name", [glob]).fetchall()
            except duckdb.Error as err:
                raise StoreError(f"{t}: not readable as Parquet ({_first_line(err)})") from None
            expected = {c for c in schema.dtypes(t) if c != "date"}  # date is the folder's partition
            for file_name, cols in names:
                if missing := sorted(expected - set(cols)):
                    raise StoreError(f"{t}: {'/'.join(Path(file_name).parts[-2:])} lacks the columns {missing}")
            counts[t] = int(n[0]) if n else 0
        return counts
    finally:
        con.close()


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def check_runs_row(row: Mapping, run_id: str) -> Scenario:
    """The scenario of a run's `runs` row, after checking the row belongs to run `run_id`: every
    column there, the run id, a scenario that validates and hashes to that run id, row counts."""
    if missing := [c for c in schema.dtypes("runs") if c not in row]:
        raise StoreError(f"its runs row lacks the columns {missing}")
    if row["run_id"] != run_id:
        raise StoreError(f"its runs row is for run {row['run_id']!r}, not {run_id}")
    text = row["scenario_json"]
    if not isinstance(text, str):
        raise StoreError("its runs row has no scenario_json")
    problem: str | None = None
    try:
        scenario = Scenario.model_validate_json(text)
    except ValidationError as err:
        problem = format_validation_error(err)
    # Raised outside the except block: the validation error (its traceback holds the caller's
    # frames, DuckDB connections included) must not live on as this error's context.
    if problem is not None:
        raise StoreError(f"its scenario_json is not a valid scenario: {problem}")
    if scenario.run_id != run_id:
        raise StoreError(f"its scenario_json is the scenario of run {scenario.run_id}, not of {run_id}")
    if not isinstance(row["created_at"], dt.datetime):
        raise StoreError("its runs row has no created_at time")
    bad = [t for t in DATA_TABLES if not isinstance(row[t], int) or row[t] < 0]
    if bad:
        raise StoreError(f"its runs row has no row count for {bad}")
    return scenario


def _runs_row(run_dir: Path) -> dict:
    """The one runs row of a run folder (refused, unread, unless its footers say one row)."""
    if not (run_dir / "runs").is_dir():
        raise StoreError("not a run folder (no runs/ inside)")
    n = parquet_row_counts(run_dir, ("runs",))["runs"]
    if n != 1:
        raise StoreError(f"runs/ holds {n:,} rows; a run folder has exactly one")
    con = duckdb.connect()
    try:
        rows = query(con, "SELECT * FROM read_parquet(?, hive_partitioning = true)", [parquet_glob(run_dir, "runs")])
    except duckdb.Error as err:
        raise StoreError(f"runs: not readable ({_first_line(err)})") from None
    finally:
        con.close()
    return rows.drop("date", strict=False).row(0, named=True)


def check_run_folder(run_dir: Path, max_rows: int | None = None) -> dict:
    """Everything to check before any of a Parquet run folder is loaded; its runs row if it passes.

    The folder is named by a run id, holds one runs row for that run with a valid scenario, every
    file has its table's columns, and no table has more than `max_rows` rows (default
    import_max_rows()), counted from the Parquet footers. Raises StoreError with the reason."""
    run_id = _check_run_id(run_dir.name)
    budget = import_max_rows() if max_rows is None else max_rows
    row = _runs_row(run_dir)
    check_runs_row(row, run_id)
    counts = parquet_row_counts(run_dir, DATA_TABLES)
    if over := {t: n for t, n in counts.items() if n > budget}:
        worst = max(over, key=over.__getitem__)
        raise StoreError(
            f"too big to load here: {worst} has {over[worst]:,} rows, above the limit of {budget:,} rows per table "
            f"({IMPORT_MAX_ROWS_ENV}); analyse it with DuckDB instead"
        )
    return row


def import_parquet(con: duckdb.DuckDBPyConnection, run_dir: Path, max_rows: int | None = None) -> str:
    """Load a Parquet run folder into the store (replacing a run with the same id) in one transaction,
    after check_run_folder: a folder that fails a check raises StoreError and loads nothing."""
    run_id = _check_run_id(run_dir.name)
    if not (run_dir / "runs").is_dir():
        raise StoreError(f"{run_dir} is not a run folder (no runs/ inside)")
    try:
        check_run_folder(run_dir, max_rows)
    except StoreError as err:
        raise StoreError(f"cannot import {run_dir}: {err}") from None
    cur = con.cursor()
    cur.execute("BEGIN")
    try:
        for t in TABLES:
            cur.execute(f'DELETE FROM "{t}" WHERE run_id = ?', [run_id])
            if not _has_parquet(run_dir, t):
                continue
            cols = ", ".join(f'"{c}"' for c in schema.dtypes(t))
            cur.execute(
                f'INSERT INTO "{t}" BY NAME SELECT {cols} FROM read_parquet(?, hive_partitioning = true, union_by_name = true) WHERE run_id = ?',
                [parquet_glob(run_dir, t), run_id],
            )
        cur.execute("COMMIT")
    except duckdb.Error as err:
        cur.execute("ROLLBACK")
        raise StoreError(f"cannot import {run_dir}: {err}") from None
    finally:
        cur.close()
    return run_id


def parquet_runs(root: Path, problems: dict[str, str] | None = None) -> list[dict]:
    """Run folders written by the CLI under root, with their scenario. A folder named by a run id
    whose runs row does not check out (check_runs_row) is left out, and with `problems` given, its
    reason is put there by folder name. Only the runs row is read: the tables' sizes are checked
    when a run is loaded (check_run_folder)."""
    out: list[dict] = []
    if not root.is_dir():
        return out
    for d in sorted(root.iterdir()):
        if d.name.startswith(".") or not RUN_ID_RE.match(d.name):
            continue
        try:
            row = _runs_row(d)
            check_runs_row(row, d.name)
        except StoreError as err:
            if problems is not None:
                problems[d.name] = str(err)
            continue
        out.append({"path": d, **row})
    return out


# --- retention ------------------------------------------------------------------------------


def retention_report(con: duckdb.DuckDBPyConnection, run_id: str, now: dt.datetime) -> pl.DataFrame:
    """Per table and PII level of the row: rows held, rows past retention at `now`, rows kept."""
    return retention.store_report(con, now, run_id)


def purge_expired(con: duckdb.DuckDBPyConnection, now: dt.datetime, run_id: str | None = None) -> dict[str, int]:
    """Delete every row past its retention at `now` (one transaction); rows deleted per table. The
    runs rows' counts are brought up to date in the same transaction."""
    with transaction(con) as cur:
        deleted = retention.purge_store(cur, now, run_id)
        counts = ", ".join(f'"{t}" = (SELECT count(*) FROM "{t}" x WHERE x.run_id = runs.run_id)' for t in DATA_TABLES)
        cur.execute(f"UPDATE runs SET {counts}" + (" WHERE run_id = ?" if run_id else ""), [run_id] if run_id else [])
        return deleted


def purge_path(path: Path, now: dt.datetime, apply: bool = False) -> tuple[pl.DataFrame, dict[str, int] | None]:
    """Retention on a DuckDB file or a Parquet run folder: the report at `now`, and with `apply` the rows
    deleted per table. A file is purged in one transaction; a run folder is rewritten under a temporary
    name and renamed over the old one, so a reader sees the run before or after, never half of it."""
    if path.is_dir():
        if not RUN_ID_RE.match(path.name):  # the runs folder itself, say, rather than one run in it
            inside = sorted(d.name for d in path.iterdir() if d.is_dir() and RUN_ID_RE.match(d.name))
            hint = f"; the runs in it: {', '.join(inside)}" if inside else ""
            raise StoreError(f"{path} is not a Parquet run folder (give one run: {path}/<run_id>){hint}")
        con = connect(":memory:")
        try:
            run_id = import_parquet(con, path, max_rows=NO_ROW_LIMIT)
            report = retention_report(con, run_id, now)
            if not apply:
                return report, None
            deleted = purge_expired(con, now, run_id)
            export_parquet(con, run_id, path.parent)
            return report, deleted
        finally:
            con.close()
    if path.suffix != ".duckdb" or not path.is_file():
        raise StoreError(f"{path} is neither a .duckdb file nor a Parquet run folder")
    try:
        con = connect(path, read_only=not apply)
    except duckdb.Error as err:
        raise StoreError(f"cannot open {path}: {err}") from None
    try:
        report = retention.store_report(con, now)
        return report, (purge_expired(con, now) if apply else None)
    finally:
        con.close()


def scenario_of(con: duckdb.DuckDBPyConnection, run_id: str) -> dict:
    rows = query(con, "SELECT scenario_json FROM runs WHERE run_id = ?", [run_id])
    if rows.height == 0:
        raise StoreError(f"no run {run_id}")
    return json.loads(rows["scenario_json"][0])


def read_parquet_run(run_dir: Path, max_rows: int | None = None) -> dict[str, pl.DataFrame]:
    """The five data tables of a Parquet run folder as polars frames (schema types, no run_id),
    after check_run_folder (StoreError if the folder fails it; nothing is read then)."""
    check_run_folder(run_dir, max_rows)
    out = {}
    for t in DATA_TABLES:
        dtypes = schema.dtypes(t, run_id=False)
        if not _has_parquet(run_dir, t):
            out[t] = schema.empty(t)
            continue
        frame = query(duckdb.connect(), "SELECT * FROM read_parquet(?, hive_partitioning = true, union_by_name = true)", [parquet_glob(run_dir, t)])
        out[t] = frame.select([pl.col(c).cast(d) for c, d in dtypes.items()])
    return out


# --- the retention job's command line -----------------------------------------------------------


def parse_day(text: str) -> dt.datetime:
    """A YYYY-MM-DD day as UTC midnight (argparse's type for --now)."""
    try:
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), dt.UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def add_purge_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", type=Path, help="a .duckdb file or a Parquet run folder (data/runs/<run_id>)")
    p.add_argument("--now", required=True, type=parse_day, metavar="YYYY-MM-DD", help="the day retention is counted to (UTC midnight)")
    p.add_argument("--apply", action="store_true", help="delete the rows past retention (default: a dry run that only reports them)")


def purge_command(path: Path, now: dt.datetime, apply: bool, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print what retention removes at `now`, per table and per PII level; with `apply`, remove it
    (atomically). 0 on success, 2 with a message when the path cannot be purged."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        report, deleted = purge_path(path, now, apply=apply)
    except StoreError as e:
        print(f"error: {e}", file=err)
        return 2
    lines = [f"{'table':<18}{'level':<10}{'kept for':>10}{'rows':>12}{'past retention':>16}"]
    for r in report.iter_rows(named=True):
        lines.append(f"{r['table']:<18}{r['level_name']:<10}{_kept_for(r['retention_days']):>10}{r['rows']:>12,}{r['expired']:>16,}")
    per_level = report.group_by("level", "level_name", "retention_days").agg(pl.col("rows", "expired").sum()).sort("level")
    lines += ["", f"{'PII level':<18}{'kept for':>10}{'rows':>12}{'would lose' if deleted is None else 'lost':>16}"]
    for r in per_level.iter_rows(named=True):
        lines.append(f"{r['level_name']:<18}{_kept_for(r['retention_days']):>10}{r['rows']:>12,}{r['expired']:>16,}")
    print("\n".join(lines), file=out)
    total = int(report["expired"].sum())
    if deleted is None:
        print(f"dry run: {total:,} rows are past retention at {now:%Y-%m-%d}; nothing deleted (use --apply)", file=err)
    else:
        print(f"deleted {sum(deleted.values()):,} rows past retention at {now:%Y-%m-%d} from {path}", file=err)
    return 0


def _kept_for(days: int | None) -> str:
    return "forever" if days is None else f"{days} d"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse's own errors: same format, exit code 2
        self.print_usage(sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


def main(argv: Sequence[str] | None = None) -> int:
    p = _Parser(prog="python -m engine.store", description="Dual-Rail Consent Lab store maintenance.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    add_purge_arguments(sub.add_parser("purge", help="apply retention to a DuckDB file or a Parquet run folder (a dry run unless --apply)"))
    args = p.parse_args(argv)
    return purge_command(args.path, args.now, args.apply)


if __name__ == "__main__":
    from engine import store as _store  # the importable module (its StoreError), not this __main__ copy

    sys.exit(_store.main())
