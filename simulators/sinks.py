"""Where a run goes: a DuckDB file, a Parquet run folder, or JSON lines of hits.

Every sink writes under a temporary name and renames at the end, so an interrupted or failed
run leaves nothing half-written at the destination.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from pathlib import Path
from typing import IO, Protocol

import duckdb
import polars as pl

from engine import store
from engine.scenario import Scenario


class SinkError(ValueError):
    """An output that cannot be written (bad suffix, missing or read-only folder)."""


class Sink(Protocol):
    wants: str  # "tables" or "hits"
    destination: str

    def open(self, scenario: Scenario) -> None: ...
    def write(self, chunk: dict[str, pl.DataFrame]) -> None: ...
    def close(self, scenario: Scenario, counts: dict[str, int]) -> None: ...
    def abort(self) -> None: ...


def _check_dir(path: Path) -> None:
    if not path.is_dir():
        raise SinkError(f"output folder {path} does not exist")
    if not os.access(path, os.W_OK):
        raise SinkError(f"output folder {path} is not writable")


def write_parts(run_dir: Path, table: str, frame: pl.DataFrame, run_id: str, name: str, tmp_dir: Path | None = None) -> None:
    """Write a table's rows as `run_dir/<table>/date=YYYY-MM-DD/<name>`, one file per day (the
    runs row by its creation day). With `tmp_dir` (same filesystem) each file is written there
    and renamed into place, so the folder never holds half a file."""
    frame = store.conform(table, frame, run_id)
    part_col = frame["created_at"].dt.date() if table == "runs" else frame["date"]
    frame = frame.drop("date", strict=False).with_columns(date=part_col)
    for (day,), part in frame.group_by("date", maintain_order=True):
        d = run_dir / table / f"date={day}"
        d.mkdir(parents=True, exist_ok=True)
        if tmp_dir is None:
            part.drop("date").write_parquet(d / name)
            continue
        tmp = tmp_dir / f"{table}-{day}-{name}"
        part.drop("date").write_parquet(tmp)
        os.replace(tmp, d / name)


def publish_dir(src: Path, final: Path) -> None:
    """Rename a finished folder into place; a previous folder of that name is moved aside first
    (a directory cannot be renamed over a non-empty one) and removed after."""
    old = None
    if final.exists():
        old = final.with_name(f".old-{final.name}-{uuid.uuid4().hex[:8]}")
        os.replace(final, old)
    os.replace(src, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


class DuckDBSink:
    wants = "tables"

    def __init__(self, path: Path) -> None:
        _check_dir(path.resolve().parent)
        if path.exists() and not path.is_file():
            raise SinkError(f"{path} exists and is not a file")
        self.path = path
        self.destination = str(path)
        self.tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
        self.con: duckdb.DuckDBPyConnection | None = None

    def open(self, scenario: Scenario) -> None:
        self.run_id = scenario.run_id
        self.con = con = store.connect(self.tmp)
        con.execute("SET preserve_insertion_order = false")
        # DuckDB's buffer pool otherwise grows towards 80% of RAM while a big file is written.
        con.execute("SET memory_limit = '300MB'")

    def _open_con(self) -> duckdb.DuckDBPyConnection:
        if self.con is None:
            raise RuntimeError("DuckDBSink used before open() or after close()")
        return self.con

    def write(self, chunk: dict[str, pl.DataFrame]) -> None:
        store.write_tables(self._open_con(), self.run_id, chunk)

    def close(self, scenario: Scenario, counts: dict[str, int]) -> None:
        con = self._open_con()
        store.write_tables(con, scenario.run_id, {"runs": store.run_row(scenario, counts, "cli")})
        con.execute("CHECKPOINT")
        con.close()
        self.con = None
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        if self.con is not None:
            self.con.close()
        for p in (self.tmp, self.tmp.with_name(self.tmp.name + ".wal")):
            p.unlink(missing_ok=True)


class ParquetSink:
    wants = "tables"

    def __init__(self, root: Path) -> None:
        if root.exists() and not root.is_dir():
            raise SinkError(f"{root} exists and is not a folder")
        _check_dir(root.resolve().parent if not root.exists() else root)
        self.root = root
        self.destination = str(root)
        self.part = 0

    def open(self, scenario: Scenario) -> None:
        self.run_id = scenario.run_id
        self.root.mkdir(parents=True, exist_ok=True)
        self.final = self.root / scenario.run_id
        self.destination = str(self.final)
        self.tmp = self.root / f".tmp-{scenario.run_id}-{uuid.uuid4().hex[:8]}"
        self.tmp.mkdir()

    def write(self, chunk: dict[str, pl.DataFrame]) -> None:
        for table, frame in chunk.items():
            write_parts(self.tmp, table, frame, self.run_id, f"part-{self.part:05d}.parquet")
        self.part += 1

    def close(self, scenario: Scenario, counts: dict[str, int]) -> None:
        write_parts(self.tmp, "runs", store.run_row(scenario, counts, "cli"), self.run_id, f"part-{self.part:05d}.parquet")
        publish_dir(self.tmp, self.final)

    def abort(self) -> None:
        if getattr(self, "tmp", None) is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)


class JsonlSink:
    """JSON lines of the hits a browser would send (one object per hit)."""

    wants = "hits"

    def __init__(self, target: str) -> None:
        self.stdout = target == "-"
        self.destination = "stdout" if self.stdout else target
        if not self.stdout:
            self.path = Path(target)
            _check_dir(self.path.resolve().parent)
            self.tmp = self.path.with_name(f".{self.path.name}.tmp-{uuid.uuid4().hex[:8]}")
        self.fh: IO[bytes] | None = None

    def open(self, scenario: Scenario) -> None:
        self.fh = sys.stdout.buffer if self.stdout else open(self.tmp, "wb")  # noqa: SIM115 (closed in close/abort)

    def write(self, chunk: dict[str, pl.DataFrame]) -> None:
        hits = chunk["hits"].with_columns(pl.col(pl.Datetime).dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
        fh = self._open_fh()
        hits.write_ndjson(fh)
        fh.flush()

    def _open_fh(self) -> IO[bytes]:
        if self.fh is None:
            raise RuntimeError("JsonlSink used before open()")
        return self.fh

    def close(self, scenario: Scenario, counts: dict[str, int]) -> None:
        if not self.stdout:
            self._open_fh().close()
            os.replace(self.tmp, self.path)

    def abort(self) -> None:
        if not self.stdout and self.fh is not None:
            self.fh.close()
            self.tmp.unlink(missing_ok=True)


def sink_for(out: str) -> Sink:
    """Pick the sink from the --out value: *.duckdb, *.jsonl or '-', else a folder."""
    if out == "-" or out.endswith(".jsonl"):
        return JsonlSink(out)
    path = Path(out)
    if out.endswith(".duckdb"):
        return DuckDBSink(path)
    if path.suffix and not path.is_dir():
        raise SinkError(f"unsupported output {out!r}: use a .duckdb file, a .jsonl file, '-' or a folder")
    return ParquetSink(path)
