"""Shared state behind the presenter-only Runs page.

Three kinds of runs: Parquet run folders under data/runs (written by the CLI or built here), runs
built in this app process (a bounded registry), and runs imported into the app's in-process
DuckDB. All three are shared by every session of the process, so only presenters reach them.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from engine import metrics, store
from engine.scenario import Scenario
from simulators.run import Summary, run_to_sink
from simulators.sinks import Cleaned, ParquetSink
from simulators.traffic import CHUNK_VISITORS  # noqa: F401  (the page's help text names it)
from ui import knob_words
from ui.cache import TEXT, cached, process_wide
from ui.paths import runs_dir
from ui.words import t

log = logging.getLogger(__name__)

MAX_BUILD_VISITORS = 2_000_000
# The page's default build: one a 2-core machine finishes in under a minute (benchmarks/runs_build.py).
DEFAULT_BUILD_VISITORS = 100_000
DEFAULT_BUILD_DAYS = 7
REGISTRY_SIZE = 50
COUNT_COLUMNS = list(store.DATA_TABLES)


@dataclass
class Registry:
    """Runs built in this process, newest last, at most `size`; plus the builds under way."""

    size: int = REGISTRY_SIZE
    built: OrderedDict[str, dict] = field(default_factory=OrderedDict)
    building: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, run_id: str) -> bool:
        """Claim a build; False if another session is building the same run."""
        with self.lock:
            if run_id in self.building:
                return False
            self.building.add(run_id)
            return True

    def finish(self, run_id: str, info: dict | None) -> None:
        with self.lock:
            self.building.discard(run_id)
            if info is not None:
                self.built.pop(run_id, None)
                self.built[run_id] = info
                while len(self.built) > self.size:
                    self.built.popitem(last=False)

    def forget(self, run_id: str) -> None:
        with self.lock:
            self.built.pop(run_id, None)

    def snapshot(self) -> dict[str, dict]:
        with self.lock:
            return dict(self.built)


@process_wide
def registry() -> Registry:
    return Registry()


@process_wide
def duck() -> duckdb.DuckDBPyConnection:
    """The app's in-process DuckDB (one connection per process; engine.store takes a cursor per query)."""
    return store.connect(":memory:")


def summary(scenario_json: str) -> str:
    """One line describing a scenario in words: site, size, banner, Consent Mode, seed."""
    try:
        s = Scenario.model_validate_json(scenario_json)
    except ValueError:
        return t("runs.scenario_unreadable")
    return knob_words.describe(s)


def runs_table(on_disk: list[dict], imported: pl.DataFrame, built: Mapping[str, dict]) -> pl.DataFrame:
    """One row per run known anywhere: where it is, its scenario summary and row counts."""
    rows: dict[str, dict] = {}
    for r in [*on_disk, *imported.iter_rows(named=True)]:
        rows.setdefault(r["run_id"], {k: r.get(k) for k in ("run_id", "scenario_json", "created_at", *COUNT_COLUMNS)})
    for run_id, info in built.items():
        rows.setdefault(run_id, {"run_id": run_id, **{k: info.get(k) for k in ("scenario_json", "created_at", *COUNT_COLUMNS)}})
    disk = {r["run_id"] for r in on_disk}
    in_duck = set(imported["run_id"].to_list()) if imported.height else set()
    out = [
        {
            "run_id": run_id,
            "in_data_runs": run_id in disk,
            "imported": run_id in in_duck,
            "built_here": run_id in built,
            "scenario": summary(r["scenario_json"] or "{}"),
            "created_at": r["created_at"],
            **{k: r.get(k) for k in COUNT_COLUMNS},
        }
        for run_id, r in rows.items()
    ]
    schema = {"run_id": pl.String, "in_data_runs": pl.Boolean, "imported": pl.Boolean, "built_here": pl.Boolean,
              "scenario": pl.String, "created_at": pl.Datetime("us", "UTC"), **dict.fromkeys(COUNT_COLUMNS, pl.Int64)}
    return pl.DataFrame(out, schema=schema).sort("created_at", descending=True, nulls_last=True)


def listing() -> tuple[pl.DataFrame, dict[str, str]]:
    """Every run known (runs_table), and the run folders under data/runs that cannot be used, with why."""
    problems: dict[str, str] = {}
    on_disk = store.parquet_runs(runs_dir(), problems)
    return runs_table(on_disk, store.list_runs(duck()), registry().snapshot()), problems


def run_folder(root: Path, run_id: str) -> Path:
    """The run's folder under root, refusing anything that is not a run id or lies outside root."""
    if not isinstance(run_id, str) or not store.RUN_ID_RE.match(run_id):
        raise store.StoreError(f"not a run id: {run_id!r}")
    base = root.resolve()
    path = (base / run_id).resolve()
    if path.parent != base:
        raise store.StoreError(f"{run_id} is not inside {base}")
    return path


def build(scenario: Scenario, on_chunk: Callable[[int, int], None],
          on_cleaned: Callable[[list[Cleaned]], None] | None = None) -> Summary | None:
    """Write the scenario as a Parquet run under data/runs (None if another session is building it).
    First removes temporary run folders that builds or CLI runs killed earlier left behind there
    (untouched for simulators.sinks.stale_age); `on_cleaned` hears what was removed."""
    reg = registry()
    if not reg.start(scenario.run_id):
        return None
    info = None
    try:
        root = runs_dir()
        root.mkdir(parents=True, exist_ok=True)
        sink = ParquetSink(root)
        cleaned = sink.clean_stale()
        for c in cleaned:
            log.warning("%s", c)
        if cleaned and on_cleaned is not None:
            on_cleaned(cleaned)
        result = run_to_sink(scenario, sink, on_chunk=on_chunk)
        info = {"scenario_json": scenario.canonical_json(), "created_at": dt.datetime.now(dt.UTC),
                "seconds": result.seconds, **{k: result.rows.get(k, 0) for k in COUNT_COLUMNS}}
        return result
    finally:
        reg.finish(scenario.run_id, info)


def import_run(run_id: str) -> str:
    """Load data/runs/<run_id> into the app's DuckDB (replacing an earlier import of it). The folder is
    checked first (engine.store.check_run_folder: its runs row, its scenario, its tables' row counts
    against $DRCL_IMPORT_MAX_ROWS); one that fails raises StoreError and loads nothing."""
    out = store.import_parquet(duck(), run_folder(runs_dir(), run_id))
    imported_kpis.clear()
    return out


def delete(run_id: str) -> bool:
    """Delete a run everywhere: its folder under data/runs, the DuckDB store, the registry.
    True if a folder was removed."""
    path = run_folder(runs_dir(), run_id)
    removed = path.is_dir()
    if removed:
        shutil.rmtree(path)
    store.delete_run(duck(), run_id)
    registry().forget(run_id)
    imported_kpis.clear()
    return removed


def load_kpi_tables(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, pl.DataFrame]:
    return {t: store.load_table(con, t, run_id, cols) for t, cols in metrics.KPI_COLUMNS.items()}


@cached("data", max_entries=16, codec=TEXT)  # the page's spinner says what runs, in its language
def imported_kpis(run_id: str) -> pl.DataFrame:
    con = duck()
    scenario = Scenario.model_validate(store.scenario_of(con, run_id))
    return metrics.kpi_table(load_kpi_tables(con, run_id), scenario)
