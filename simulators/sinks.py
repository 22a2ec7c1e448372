"""Where a run goes: a DuckDB file, a Parquet run folder, or JSON lines of hits.

Every sink writes under a temporary name and renames at the end, so an interrupted or failed
run leaves nothing half-written at the destination. Temporary names this process is writing are
tracked: at interpreter exit (a server stopped by SIGTERM, an uncaught exit) writers are asked to
stop and what is left is removed. After a SIGKILL nothing can clean up, so each sink's
`clean_stale` removes temporary names of its own kind that nobody has touched for a while
(`stale_age`); writers call it when they start.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import shutil
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

import duckdb
import polars as pl

from engine import store, wire
from engine.scenario import Scenario
from simulators import formats

log = logging.getLogger(__name__)

STALE_ENV = "DRCL_STALE_TMP_S"
DEFAULT_STALE_S = 3600.0
# Long enough for a writer to finish its chunk and remove its temporary output; shorter than the
# usual grace a process manager gives between SIGTERM and SIGKILL (10 s for Docker).
EXIT_WAIT_S = 8.0

# Temporary names, one pattern per kind (anything else is never touched by a clean-up):
RUN_TMP_RE = re.compile(r"^\.tmp-([0-9a-f]{16})-[0-9a-f]{8}$")  # ParquetSink, engine.store.export_parquet
RUN_OLD_RE = re.compile(r"^\.old-([0-9a-f]{16})-[0-9a-f]{8}$")  # publish_dir: the run folder replaced
DUCKDB_TMP_RE = re.compile(r"^\..+\.duckdb\.tmp-[0-9a-f]{8}(?:\.wal)?$")  # DuckDBSink, and its WAL
JSONL_TMP_RE = re.compile(r"^\..+\.jsonl\.tmp-[0-9a-f]{8}$")  # JsonlSink


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
    """Refuse a folder that cannot take our files, before anything is generated. os.access is
    not enough: root passes it everywhere, and special file systems (/proc, /sys) or read-only
    mounts only say no when a file is created, so create (and remove) one."""
    if not path.is_dir():
        raise SinkError(f"output folder {path} does not exist")
    if not os.access(path, os.W_OK):
        raise SinkError(f"output folder {path} is not writable")
    probe = path / f".drcl-probe-{uuid.uuid4().hex[:8]}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"probe")
        finally:
            os.close(fd)
    except OSError as err:
        raise SinkError(f"output folder {path} is not writable ({err.strerror or err})") from None
    finally:
        with contextlib.suppress(OSError):
            probe.unlink(missing_ok=True)


# --- temporary outputs of this process, removed at exit ------------------------------------------

_active: set[Path] = set()
_active_changed = threading.Condition()
_exiting = threading.Event()


def track_temporary(*paths: Path) -> None:
    with _active_changed:
        _active.update(paths)


def release_temporary(*paths: Path) -> None:
    with _active_changed:
        _active.difference_update(paths)
        _active_changed.notify_all()


def active_temporaries() -> list[Path]:
    """Temporary outputs this process is writing right now."""
    with _active_changed:
        return sorted(_active)


def check_not_exiting() -> None:
    """Called before each write: once the interpreter exits, writers stop and clean up."""
    if _exiting.is_set():
        raise SinkError("the process is shutting down")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


@atexit.register
def _remove_active_at_exit() -> None:
    # A Streamlit server stopped by SIGTERM exits with builds still running in daemon threads:
    # tell them to stop, give them a moment to abort (each removes its own temporary output),
    # then remove whatever is left.
    _exiting.set()
    deadline = time.monotonic() + EXIT_WAIT_S
    with _active_changed:
        while _active and (left := deadline - time.monotonic()) > 0:
            _active_changed.wait(left)
        leftovers = sorted(_active)
    for path in leftovers:
        for _ in range(3):  # a writer still running may recreate a folder it was writing into
            _remove(path)
            if not path.exists():
                break
            time.sleep(0.2)
        log.warning("removed the temporary output %s at exit", path)


# --- stale temporary outputs (after a SIGKILL) ---------------------------------------------------


def stale_age() -> float:
    """How long a temporary output must be untouched before a writer may remove it: $DRCL_STALE_TMP_S
    seconds, default an hour (younger ones may belong to a run still writing)."""
    raw = os.environ.get(STALE_ENV, "").strip()
    if not raw:
        return DEFAULT_STALE_S
    try:
        age = float(raw)
    except ValueError:
        age = -1.0
    if not age >= 0:  # also refuses nan
        raise SinkError(f"{STALE_ENV} must be a number of seconds (0 or more), got {raw!r}")
    return age


@dataclass(frozen=True)
class Cleaned:
    """A stale temporary output a writer removed (or, for a merge claim, gave back)."""

    path: Path
    idle_s: float
    what: str = "removed stale temporary output {path}"

    @property
    def idle(self) -> str:
        """How long it was untouched, for people (e.g. "2.0 h")."""
        return _duration(self.idle_s)

    def __str__(self) -> str:
        return f"{self.what.format(path=self.path)} (untouched for {self.idle})"


def _duration(seconds: float) -> str:
    if seconds >= 7200:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def last_touched(*paths: Path) -> float | None:
    """The newest modification time of the paths and everything under them (a writer adds files
    deep in a run folder, which leaves the folder's own time alone); None if none exists."""
    newest: float | None = None
    for path in paths:
        with contextlib.suppress(OSError):
            newest = max(newest or 0.0, path.lstat().st_mtime)
        if path.is_dir() and not path.is_symlink():
            for dirpath, dirnames, filenames in os.walk(path):
                for name in (*dirnames, *filenames):
                    with contextlib.suppress(OSError):  # renamed or removed by its writer meanwhile
                        newest = max(newest or 0.0, os.lstat(os.path.join(dirpath, name)).st_mtime)
    return newest


def idle_for(*paths: Path) -> float | None:
    touched = last_touched(*paths)
    return None if touched is None else time.time() - touched


def remove_if_stale(max_age: float, path: Path, *companions: Path) -> Cleaned | None:
    """Remove `path` (and its companions, e.g. a WAL) if none of them was touched for `max_age`
    seconds and this process is not writing it."""
    idle = idle_for(path, *companions)
    if idle is None or idle < max_age or path in active_temporaries():
        return None
    for p in (path, *companions):
        _remove(p)
    cleaned = Cleaned(path, idle)
    log.info("%s", cleaned)
    return cleaned


def _entries(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []


def clean_stale_run_folders(root: Path, max_age: float | None = None) -> list[Cleaned]:
    """Stale temporary run folders under a runs folder: `.tmp-<run_id>-*` (a Parquet run being
    written, or an export) and `.old-<run_id>-*` (a replaced run) whose run is in place."""
    age = stale_age() if max_age is None else max_age
    out = []
    for p in _entries(root):
        if not p.is_dir() or p.is_symlink():
            continue
        old = RUN_OLD_RE.match(p.name)
        # An .old- folder whose run folder is missing is the only copy of that run: keep it.
        if RUN_TMP_RE.match(p.name) or (old and (root / old.group(1)).is_dir()):
            out.append(remove_if_stale(age, p))
    return [c for c in out if c is not None]


def clean_stale_files(folder: Path, pattern: re.Pattern[str], max_age: float | None = None) -> list[Cleaned]:
    """Stale temporary files matching `pattern` in a folder, each with its `.wal` if any."""
    age = stale_age() if max_age is None else max_age
    out = []
    for p in _entries(folder):
        if not pattern.match(p.name) or not p.is_file() or p.is_symlink():
            continue
        if p.name.endswith(".wal") and p.with_name(p.name.removesuffix(".wal")).exists():
            continue  # goes with its database file
        out.append(remove_if_stale(age, p, p.with_name(p.name + ".wal")))
    return [c for c in out if c is not None]


def clean_stale(sink: object, max_age: float | None = None) -> list[Cleaned]:
    """The sink's own kind of stale temporary outputs, removed (sinks without any: nothing)."""
    fn = getattr(sink, "clean_stale", None)
    return list(fn(max_age)) if fn is not None else []


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
    old = final.with_name(f".old-{final.name}-{uuid.uuid4().hex[:8]}")
    moved = False
    try:
        if final.exists():
            os.replace(final, old)
            moved = True
        os.replace(src, final)
    except BaseException:
        # Interrupted (a signal) or failed between the two renames: put the previous folder back.
        if (moved or old.exists()) and not final.exists():
            with contextlib.suppress(OSError):
                os.replace(old, final)
        raise
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


class DuckDBSink:
    wants = "tables"

    def __init__(self, path: Path) -> None:
        if path.exists() and not path.is_file():
            raise SinkError(f"{path} exists and is not a file")
        _check_dir(path.resolve().parent)
        self.path = path
        self.destination = str(path)
        self.tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
        self.wal = self.tmp.with_name(self.tmp.name + ".wal")
        self.con: duckdb.DuckDBPyConnection | None = None
        self.published = False

    def clean_stale(self, max_age: float | None = None) -> list[Cleaned]:
        return clean_stale_files(self.path.resolve().parent, DUCKDB_TMP_RE, max_age)

    def open(self, scenario: Scenario) -> None:
        self.run_id = scenario.run_id
        track_temporary(self.tmp, self.wal)
        try:
            self.con = con = store.connect(self.tmp)
            con.execute("SET preserve_insertion_order = false")
            # DuckDB's buffer pool otherwise grows towards 80% of RAM while a big file is written.
            con.execute("SET memory_limit = '200MB'")
            # The whole run is one transaction, committed in close(): a commit per chunk let DuckDB
            # checkpoint its small tables after every chunk (about 1.16x slower at 2M events). Full
            # row groups still go to the file as they fill (optimistic writes), so RSS stays flat
            # (a 30M-event run: 1.17-1.36 GB throughout); with 300 MB here it peaked ~100 MB higher.
            con.execute("BEGIN TRANSACTION")
        except duckdb.Error as err:
            raise SinkError(f"cannot write {self.path}: {_first_line(err)}") from None

    def _open_con(self) -> duckdb.DuckDBPyConnection:
        if self.con is None:
            raise RuntimeError("DuckDBSink used before open() or after close()")
        return self.con

    def write(self, chunk: dict[str, pl.DataFrame]) -> None:
        check_not_exiting()
        store.insert_frames(self._open_con(), self.run_id, chunk)

    def close(self, scenario: Scenario, counts: dict[str, int]) -> None:
        con = self._open_con()
        store.insert_frames(con, scenario.run_id, {"runs": store.run_row(scenario, counts, "cli")})
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
        con.close()
        self.con = None
        os.replace(self.tmp, self.path)
        self.published = True
        release_temporary(self.tmp, self.wal)

    def abort(self) -> None:
        if self.con is not None:
            with contextlib.suppress(duckdb.Error):
                self.con.close()
            self.con = None
        for p in (self.tmp, self.wal):
            p.unlink(missing_ok=True)
        release_temporary(self.tmp, self.wal)


class ParquetSink:
    wants = "tables"

    def __init__(self, root: Path) -> None:
        if root.exists() and not root.is_dir():
            raise SinkError(f"{root} exists and is not a folder")
        _check_dir(root.resolve().parent if not root.exists() else root)
        self.root = root
        self.destination = str(root)
        self.part = 0
        self.tmp: Path | None = None
        self.published = False

    def clean_stale(self, max_age: float | None = None) -> list[Cleaned]:
        return clean_stale_run_folders(self.root, max_age)

    def open(self, scenario: Scenario) -> None:
        self.run_id = scenario.run_id
        self.root.mkdir(parents=True, exist_ok=True)
        self.final = self.root / scenario.run_id
        self.destination = str(self.final)
        self.tmp = self.root / f".tmp-{scenario.run_id}-{uuid.uuid4().hex[:8]}"
        track_temporary(self.tmp)
        self.tmp.mkdir()

    def _tmp(self) -> Path:
        if self.tmp is None:
            raise RuntimeError("ParquetSink used before open() or after close()")
        return self.tmp

    def write(self, chunk: dict[str, pl.DataFrame]) -> None:
        tmp = self._tmp()
        for table, frame in chunk.items():
            check_not_exiting()
            write_parts(tmp, table, frame, self.run_id, f"part-{self.part:05d}.parquet")
        self.part += 1

    def close(self, scenario: Scenario, counts: dict[str, int]) -> None:
        tmp = self._tmp()
        write_parts(tmp, "runs", store.run_row(scenario, counts, "cli"), self.run_id, f"part-{self.part:05d}.parquet")
        publish_dir(tmp, self.final)
        self.published = True
        release_temporary(tmp)

    def abort(self) -> None:
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            release_temporary(self.tmp)


class JsonlSink:
    """JSON lines of the hits a browser would send: one object per hit (native), or per event in a
    vendor's format (the object that goes into its batch array; for GA4 one Measurement Protocol body)."""

    wants = "hits"

    def __init__(self, target: str, fmt: str = "native") -> None:
        try:
            formats.spec(fmt)
        except formats.FormatError as err:
            raise SinkError(str(err)) from None
        self.format = fmt
        self.stdout = target == "-"
        self.destination = "stdout" if self.stdout else target
        self.published = False
        if not self.stdout:
            self.path = Path(target)
            if self.path.exists() and not self.path.is_file():
                raise SinkError(f"{self.path} exists and is not a file")
            _check_dir(self.path.resolve().parent)
            self.tmp = self.path.with_name(f".{self.path.name}.tmp-{uuid.uuid4().hex[:8]}")
        self.fh: IO[bytes] | None = None

    def clean_stale(self, max_age: float | None = None) -> list[Cleaned]:
        return [] if self.stdout else clean_stale_files(self.path.resolve().parent, JSONL_TMP_RE, max_age)

    def open(self, scenario: Scenario) -> None:
        self.scenario = scenario
        if self.stdout:
            self.fh = sys.stdout.buffer
            return
        track_temporary(self.tmp)
        self.fh = open(self.tmp, "wb")  # noqa: SIM115 (closed in close/abort)

    def write(self, chunk: dict[str, pl.DataFrame]) -> None:
        check_not_exiting()
        fh = self._open_fh()
        if self.format == "native":
            hits = chunk["hits"].with_columns(pl.col(pl.Datetime).dt.strftime(wire.TS_FORMAT))
            hits.write_ndjson(fh)
        else:
            units = formats.encode(chunk["hits"], self.scenario, self.format, formats.Options(run_id=self.scenario.run_id))
            if units.height:
                fh.write(("\n".join(units["json"].to_list()) + "\n").encode())
        fh.flush()

    def _open_fh(self) -> IO[bytes]:
        if self.fh is None:
            raise RuntimeError("JsonlSink used before open()")
        return self.fh

    def close(self, scenario: Scenario, counts: dict[str, int]) -> None:
        if not self.stdout:
            self._open_fh().close()
            os.replace(self.tmp, self.path)
            self.published = True
            release_temporary(self.tmp)

    def abort(self) -> None:
        if self.stdout:
            return
        if self.fh is not None:
            with contextlib.suppress(OSError):
                self.fh.close()
        self.tmp.unlink(missing_ok=True)
        release_temporary(self.tmp)


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def sink_for(out: str, fmt: str = "native") -> Sink:
    """Pick the sink from the --out value: *.duckdb, *.jsonl or '-', else a folder. A vendor
    `fmt` applies to JSON lines only (the tables have one layout)."""
    if not out.strip():
        # Path('') is the current folder: an empty value (an unset shell variable) must not
        # quietly write a run there.
        raise SinkError("--out is empty: give a .duckdb file, a folder, a .jsonl file or '-'")
    if out == "-" or out.endswith(".jsonl"):
        return JsonlSink(out, fmt)
    if fmt != "native":
        raise SinkError(f"--format {fmt} applies to a .jsonl file, '-' or an http(s) URL, not to {out!r}")
    path = Path(out)
    if out.endswith(".duckdb"):
        return DuckDBSink(path)
    if path.suffix and not path.is_dir():
        raise SinkError(f"unsupported output {out!r}: use a .duckdb file, a .jsonl file, '-' or a folder")
    return ParquetSink(path)
