"""Sharded runs: split a run's chunks over N processes or machines and write one Parquet run.

Shard i of N (1-based) generates the chunks c with c % N == i - 1. Chunks have their own random
streams (see simulators.traffic), so the union of the N shards is the unsharded run row for row.

Into a Parquet runs folder ROOT, shards write a hidden staging folder, one file per chunk:

    ROOT/.shards-<run_id>/manifest.json                  scenario, chunk count, hash-key check
    ROOT/.shards-<run_id>/run/<table>/date=D/part-cNNNNN.parquet
    ROOT/.shards-<run_id>/chunks/cNNNNN.json             a chunk's row counts, after its files
    ROOT/.shards-<run_id>/tmp/                           files being written, renamed when whole

A re-run shard rewrites the same file names, so retries are safe. A shard killed with SIGKILL
leaves its files under tmp/; `clean_stale_staging` (run by every shard when it starts) removes
them once they are older than simulators.sinks.stale_age, and gives back a merge claim
(.merging-*) whose merger died. `merge_run` (called by the
shard that completes the set, or by the Dask merge task) claims the staging folder by renaming
it, adds the runs row with the totals and renames it to ROOT/<run_id>. engine.store.parquet_runs
skips dot-folders, so the app never lists an incomplete run.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from engine import keys, store
from engine.scenario import Scenario
from simulators.run import Summary, run_to_sink
from simulators.sinks import (
    Cleaned,
    ParquetSink,
    Sink,
    SinkError,
    check_not_exiting,
    clean_stale_run_folders,
    idle_for,
    publish_dir,
    release_temporary,
    remove_if_stale,
    stale_age,
    track_temporary,
    write_parts,
)
from simulators.traffic import CHUNK_VISITORS, n_chunks

if TYPE_CHECKING:
    from distributed import Client

_SHARD_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
STAGING_RE = re.compile(r"^\.shards-([0-9a-f]{16})$")
MERGING_RE = re.compile(r"^\.merging-([0-9a-f]{16})-[0-9a-f]{8}$")
# What a shard leaves under .shards-<run_id>/tmp/: its own folder, a manifest or chunk record being written.
STAGING_TMP_RE = re.compile(r"^(?:[0-9a-f]{12}|manifest\.[0-9a-f]{8}|c\d{5}\.json\.[0-9a-f]{8})$")


class ShardError(ValueError):
    """A shard spec that is not i/N with 1 <= i <= N."""


class StagingError(SinkError):
    """Shards that cannot make one run (another hash key, a staging folder that is not one)."""


class IncompleteRun(StagingError):
    """A merge before every chunk is staged; `missing` lists the chunk indices still to come."""

    def __init__(self, message: str, missing: list[int]) -> None:
        super().__init__(message)
        self.missing = missing

    def __reduce__(self) -> tuple:  # Dask ships errors between processes by pickling them
        return (type(self), (str(self), self.missing))


def parse_shard(text: str) -> tuple[int, int]:
    """'i/N' -> (i, N), 1-based."""
    m = _SHARD_RE.match(text)
    if not m:
        raise ShardError(f"shard must be i/N (e.g. 1/4), got {text!r}")
    i, n = int(m.group(1)), int(m.group(2))
    if n < 1:
        raise ShardError(f"shard count must be at least 1, got {text!r}")
    if not 1 <= i <= n:
        raise ShardError(f"shard index must be 1..{n}, got {text!r}")
    return i, n


def shard_chunks(scenario: Scenario, index: int, count: int) -> range:
    """The chunks of shard `index` of `count` (1-based): every count-th chunk from index - 1."""
    return range(index - 1, n_chunks(scenario), count)


def shard_visitors(scenario: Scenario, chunks: range) -> int:
    return sum(min(CHUNK_VISITORS, scenario.traffic.visitors - c * CHUNK_VISITORS) for c in chunks)


def key_check() -> str:
    """A fingerprint of this process's hash key (an HMAC, so it reveals nothing about the key)."""
    return keys.derive("shard-key-check")[:8].hex()


def staging_dir(root: Path, run_id: str) -> Path:
    return root / f".shards-{run_id}"


def _write_json(path: Path, data: dict, tmp_dir: Path) -> None:
    tmp = tmp_dir / f"{path.name}.{uuid.uuid4().hex[:8]}"
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def _join_staging(root: Path, scenario: Scenario) -> Path:
    """Create the run's staging folder, or join it after checking it was made with our hash key."""
    stage = staging_dir(root, scenario.run_id)
    for sub in ("run", "chunks", "tmp"):
        (stage / sub).mkdir(parents=True, exist_ok=True)
    mine = {"run_id": scenario.run_id, "scenario_json": scenario.canonical_json(), "chunks": n_chunks(scenario), "key_check": key_check()}
    tmp = stage / "tmp" / f"manifest.{uuid.uuid4().hex[:8]}"
    tmp.write_text(json.dumps(mine))
    try:
        os.link(tmp, stage / "manifest.json")  # atomic, and never replaces the first shard's manifest
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    theirs = json.loads((stage / "manifest.json").read_text())
    if theirs["key_check"] != mine["key_check"]:
        raise StagingError(
            f"{stage} was started with another hash key (check {theirs['key_check']}, this machine {mine['key_check']}): "
            f"set the same {keys.ENV_VAR} for every shard, or delete {stage} to start over"
        )
    return stage


class StagedParquetSink:
    """A shard's sink for a Parquet runs folder: its chunks go to the run's staging folder, and
    with `merge` the shard that completes the set publishes the run."""

    wants = "tables"

    def __init__(self, root: Path, scenario: Scenario, chunks: range, source: str = "cli", merge: bool = True) -> None:
        self.root, self.chunks, self.source, self.merge = root, chunks, source, merge
        self.run_id = scenario.run_id
        self.destination = str(staging_dir(root, self.run_id))
        self.tmp: Path | None = None
        self.published = False
        root.mkdir(parents=True, exist_ok=True)
        _join_staging(root, scenario)  # fail before generating anything if the key differs

    def clean_stale(self, max_age: float | None = None) -> list[Cleaned]:
        return clean_stale_staging(self.root, max_age) + clean_stale_run_folders(self.root, max_age)

    def open(self, scenario: Scenario) -> None:
        self.stage = _join_staging(self.root, scenario)
        self.tmp = self.stage / "tmp" / uuid.uuid4().hex[:12]
        track_temporary(self.tmp)
        self.tmp.mkdir()
        self.pending = iter(self.chunks)  # run_to_sink writes chunks in the order it was given

    def write(self, chunk: dict[str, pl.DataFrame]) -> None:
        if self.tmp is None:
            raise RuntimeError("shard sink used before open() or after close()")
        c = next(self.pending)
        for table, frame in chunk.items():
            check_not_exiting()
            write_parts(self.stage / "run", table, frame, self.run_id, f"part-c{c:05d}.parquet", self.tmp)
        _write_json(self.stage / "chunks" / f"c{c:05d}.json", {t: f.height for t, f in chunk.items()}, self.tmp)

    def close(self, scenario: Scenario, counts: dict[str, int]) -> None:
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            release_temporary(self.tmp)
        self.tmp = None
        if not self.merge:
            return
        try:
            totals = merge_run(self.root, self.run_id, self.source)
        except IncompleteRun as err:
            self.destination = f"{self.stage} (staged; {len(err.missing)} of {n_chunks(scenario)} chunks still to come)"
            return
        self.published = True
        self.destination = str(self.root / self.run_id) + ("" if totals is not None else " (merged by another shard)")

    def abort(self) -> None:
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            release_temporary(self.tmp)


def clean_stale_staging(root: Path, max_age: float | None = None) -> list[Cleaned]:
    """What killed shards and mergers leave under a runs folder, once untouched for `max_age`
    seconds (default simulators.sinks.stale_age): files under .shards-*/tmp/ are removed (the
    staged chunks beside them stay, so the missing shards can still be run); a merge claim
    (.merging-*) is removed if its run was published, else given back as the staging folder."""
    age = stale_age() if max_age is None else max_age
    out: list[Cleaned | None] = []
    for p in sorted(root.iterdir()) if root.is_dir() else []:
        if STAGING_RE.match(p.name) and p.is_dir() and (p / "tmp").is_dir():
            out += [remove_if_stale(age, t) for t in sorted((p / "tmp").iterdir()) if STAGING_TMP_RE.match(t.name)]
        elif (m := MERGING_RE.match(p.name)) and p.is_dir() and not p.is_symlink():
            run_id = m.group(1)
            if (root / run_id).is_dir():
                out.append(remove_if_stale(age, p))
                continue
            idle = idle_for(p)
            stage = staging_dir(root, run_id)
            if idle is None or idle < age or stage.exists():
                continue  # a merge under way, or a newer staging folder that this claim must not overwrite
            shutil.rmtree(p / "run" / "runs", ignore_errors=True)  # the runs row the merger was adding
            try:
                os.rename(p, stage)
            except OSError:
                continue
            out.append(Cleaned(p, idle, f"gave back the stale merge claim {{path}} as {stage.name}"))
    return [c for c in out if c is not None]


def for_shard(sink: Sink, scenario: Scenario, chunks: range) -> Sink:
    """The sink a shard writes to: a Parquet runs folder is staged; other sinks take the chunks as they are."""
    return StagedParquetSink(sink.root, scenario, chunks) if isinstance(sink, ParquetSink) else sink


def _staged_counts(stage: Path, manifest: dict) -> dict[str, int]:
    # iterdir, not glob: a folder renamed away by a merger must raise, not look empty
    done = {int(p.stem[1:]): p for p in (stage / "chunks").iterdir() if p.suffix == ".json"}
    missing = sorted(set(range(manifest["chunks"])) - set(done))
    if missing:
        raise IncompleteRun(
            f"{stage}: chunks {missing} of {manifest['chunks']} are not staged "
            "(a shard has not finished, or the workers do not share this folder)",
            missing,
        )
    totals = dict.fromkeys(store.DATA_TABLES, 0)
    for p in done.values():
        for table, rows in json.loads(p.read_text()).items():
            totals[table] += rows
    return totals


def merge_run(root: Path, run_id: str, source: str = "cli") -> dict[str, int] | None:
    """Publish a complete staging folder as ROOT/<run_id> with one runs row of totals.

    Returns the row counts, or None when there is no staging folder (another process merged it
    first). Raises IncompleteRun when chunks are missing."""
    stage = staging_dir(root, run_id)
    claimed = root / f".merging-{run_id}-{uuid.uuid4().hex[:8]}"
    try:
        manifest = json.loads((stage / "manifest.json").read_text())
        _staged_counts(stage, manifest)  # refuse before claiming: an incomplete set stays staged
        os.rename(stage, claimed)  # one claimant wins; the others find no staging folder
    except FileNotFoundError:
        return None
    try:
        totals = _staged_counts(claimed, manifest)
        scenario = Scenario.model_validate_json(manifest["scenario_json"])
        if scenario.run_id != run_id:
            raise StagingError(f"{stage} holds run {scenario.run_id}, not {run_id}")
        write_parts(claimed / "run", "runs", store.run_row(scenario, totals, source), run_id, "part-00000.parquet", claimed / "tmp")
        publish_dir(claimed / "run", root / run_id)
    except BaseException:
        with contextlib.suppress(OSError):  # give the staged chunks back for another merge
            shutil.rmtree(claimed / "run" / "runs", ignore_errors=True)
            os.rename(claimed, stage)
        raise
    shutil.rmtree(claimed, ignore_errors=True)
    return totals


# --- Dask ---------------------------------------------------------------------------------------


def _dask_shard(scenario: Scenario, root: str, index: int, count: int, driver_key: str) -> dict[str, int]:
    if key_check() != driver_key:
        raise StagingError(
            f"worker {socket.gethostname()} hashes with another key than the driver "
            f"(check {key_check()} vs {driver_key}): set the same {keys.ENV_VAR} on every worker"
        )
    chunks = shard_chunks(scenario, index, count)
    sink = StagedParquetSink(Path(root), scenario, chunks, source="dask", merge=False)
    sink.clean_stale()  # logged by simulators.sinks (the worker's log)
    return run_to_sink(scenario, sink, chunks=chunks).rows


def _dask_merge(root: str, run_id: str, _after_shards: list[dict[str, int]]) -> dict[str, int]:
    totals = merge_run(Path(root), run_id, "dask")
    if totals is None:
        raise StagingError(f"nothing staged for run {run_id} under {root} on {socket.gethostname()}")
    return totals


def run_on_dask(scenario: Scenario, root: Path, n_shards: int, client: Client) -> Summary:
    """Run the scenario as `n_shards` tasks on a dask.distributed `client` and publish one Parquet
    run under `root`. Every worker must see `root` at that path (a shared filesystem) and hash
    with the driver's key ($DRCL_HASH_KEY), which each task checks before writing."""
    if n_shards < 1:
        raise ShardError(f"n_shards must be at least 1, got {n_shards}")
    start = time.perf_counter()
    from simulators.dask_plugin import WarmPools  # distributed is needed here only

    client.register_plugin(WarmPools())  # once per worker, on all of them at once
    root_s, check, token = str(Path(root).absolute()), key_check(), uuid.uuid4().hex[:8]
    shards = [
        client.submit(_dask_shard, scenario, root_s, i, n_shards, check, key=f"drcl-shard-{i}-of-{n_shards}-{token}")
        for i in range(1, n_shards + 1)
    ]
    merged = client.submit(_dask_merge, root_s, scenario.run_id, shards, key=f"drcl-merge-{token}")
    totals = merged.result()
    return Summary(scenario.run_id, str(Path(root_s) / scenario.run_id), time.perf_counter() - start, totals["truth_events"], totals)
