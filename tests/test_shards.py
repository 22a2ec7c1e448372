"""Sharded runs: `--shard i/N`, staged Parquet shards merged into one run, and shards on Dask.

The scenario has 100,500 visitors, so three chunks (50,000, 50,000 and 500): with two shards, shard 1 holds
chunks 0 and 2 (not contiguous) and shard 2 holds chunk 1. Every sharded run is compared with
the unsharded Parquet run, table by table, as the app reads it (engine.store.read_parquet_run).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import duckdb
import polars as pl
import pytest
from distributed import Client, LocalCluster
from polars.testing import assert_frame_equal

from engine import store
from engine.scenario import apply_overrides, load_preset
from simulators.cli import main
from simulators.run import run_to_sink
from simulators.shards import (
    IncompleteRun,
    ShardError,
    StagedParquetSink,
    StagingError,
    merge_run,
    parse_shard,
    run_on_dask,
    shard_chunks,
    shard_visitors,
    staging_dir,
)
from simulators.sinks import ParquetSink
from simulators.traffic import CHUNK_VISITORS, n_chunks

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--visitors", "100500", "--days", "2", "--seed", "23"]
SCENARIO = apply_overrides(load_preset("eu_shop"), {"traffic.visitors": 100_500, "traffic.days": 2, "seed": 23})
OTHER_KEY = "ff" * 32
BAD_SPECS = ["0/4", "5/4", "1/0", "abc", "", "1/", "/4", "-1/4", "1/4/2", "1.5/4"]


def cli(*args: str, key: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DRCL_HASH_KEY": key or os.environ["DRCL_HASH_KEY"]}
    return subprocess.run([sys.executable, "-m", "simulators", "generate", *ARGS, "--quiet", *args],
                          cwd=ROOT, env=env, capture_output=True, timeout=300, check=False)


def ok(proc: subprocess.CompletedProcess) -> str:
    err = proc.stderr.decode()
    assert proc.returncode == 0, f"exit {proc.returncode}\nstderr:\n{err}"
    return err


def runs_row(run_dir: Path) -> pl.DataFrame:
    return duckdb.sql(f"SELECT * FROM read_parquet('{store.parquet_glob(run_dir, 'runs')}', hive_partitioning = false)").pl()


def assert_same_run(run_dir: Path, expected: dict[str, pl.DataFrame]) -> None:
    """The Parquet run equals the unsharded one in every table (row order is not part of the contract)."""
    actual = store.read_parquet_run(run_dir)
    for table, frame in expected.items():
        assert frame.height > 0
        try:
            assert_frame_equal(actual[table].sort(frame.columns), frame.sort(frame.columns), check_exact=True)
        except AssertionError as err:
            raise AssertionError(f"{table}: {err}") from None
    row = runs_row(run_dir)
    assert row.height == 1
    assert row["run_id"][0] == run_dir.name == SCENARIO.run_id
    assert row["scenario_json"][0] == SCENARIO.canonical_json()
    assert {t: row[t][0] for t in store.DATA_TABLES} == {t: f.height for t, f in expected.items()}


@pytest.fixture(scope="module")
def unsharded(tmp_path_factory) -> dict[str, pl.DataFrame]:
    root = tmp_path_factory.mktemp("unsharded")
    run_to_sink(SCENARIO, ParquetSink(root))
    return store.read_parquet_run(root / SCENARIO.run_id)


# --- shard specs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [("1/4", (1, 4)), ("4/4", (4, 4)), ("1/1", (1, 1)), (" 2 / 3 ", (2, 3))])
def test_parse_shard_accepts_one_based_specs(text, expected):
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text", BAD_SPECS)
def test_parse_shard_rejects(text):
    with pytest.raises(ShardError, match="shard"):
        parse_shard(text)


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7])
def test_shards_partition_the_chunks(count):
    assert n_chunks(SCENARIO) == 3
    parts = [list(shard_chunks(SCENARIO, i, count)) for i in range(1, count + 1)]
    assert sorted(c for p in parts for c in p) == list(range(3))  # every chunk once
    assert all(c % count == i for i, p in enumerate(parts) for c in p)
    assert sum(shard_visitors(SCENARIO, shard_chunks(SCENARIO, i, count)) for i in range(1, count + 1)) == 100_500


@pytest.mark.parametrize("spec", ["0/4", "5/4", "1/0", "abc"])
def test_cli_rejects_bad_shard_and_writes_nothing(spec, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["generate", *ARGS, "--shard", spec, "--out", str(tmp_path / "runs")])
    assert exc.value.code == 2
    assert "--shard" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# --- staged Parquet shards -----------------------------------------------------------------------


def stage(root: Path, index: int, count: int) -> dict[str, int]:
    chunks = shard_chunks(SCENARIO, index, count)
    return run_to_sink(SCENARIO, StagedParquetSink(root, SCENARIO, chunks, merge=False), chunks=chunks).rows


@pytest.mark.slow
def test_staged_shards_merge_into_the_unsharded_run(tmp_path, unsharded):
    root = tmp_path / "runs"
    stage(root, 2, 2)
    stage(root, 2, 2)  # a retried shard rewrites its own files: nothing is counted twice
    assert store.parquet_runs(root) == []  # half a run is never listed
    with pytest.raises(IncompleteRun) as exc:
        merge_run(root, SCENARIO.run_id)
    assert exc.value.missing == [0, 2]
    assert staging_dir(root, SCENARIO.run_id).is_dir()  # a refused merge keeps what was staged

    stage(root, 1, 2)
    results: list = []
    barrier = threading.Barrier(2)

    def merge() -> None:
        barrier.wait()
        results.append(merge_run(root, SCENARIO.run_id))

    threads = [threading.Thread(target=merge) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # two mergers at once: one publishes, the other finds the staging folder claimed
    assert sorted(results, key=lambda r: r is None) == [{t: f.height for t, f in unsharded.items()}, None]
    assert_same_run(root / SCENARIO.run_id, unsharded)
    assert [p.name for p in root.iterdir()] == [SCENARIO.run_id]  # staging and claim folders are gone
    assert [r["run_id"] for r in store.parquet_runs(root)] == [SCENARIO.run_id]


@pytest.mark.slow
def test_cli_merge_publishes_a_complete_set_and_refuses_an_incomplete_one(tmp_path, unsharded, capsys):
    root = tmp_path / "runs"
    assert main(["merge", "--out", str(root), "not-a-run-id"]) == 2
    stage(root, 2, 2)
    assert main(["merge", "--out", str(root), SCENARIO.run_id]) == 2  # chunk 0 is missing
    assert "0" in capsys.readouterr().err and store.parquet_runs(root) == []
    stage(root, 1, 2)  # staged without merging, as when the last shard's merge never ran
    assert main(["merge", "--out", str(root), SCENARIO.run_id]) == 0
    assert_same_run(root / SCENARIO.run_id, unsharded)
    assert main(["merge", "--out", str(root), SCENARIO.run_id]) == 2  # nothing staged any more
    assert "already published" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_shards_publish_one_run(tmp_path, unsharded):
    root = tmp_path / "runs"
    err = ok(cli("--shard", "2/2", "--out", str(root)))
    assert "staged; 2 of 3 chunks still to come" in err
    assert store.parquet_runs(root) == []
    assert [p.name for p in root.iterdir()] == [staging_dir(root, SCENARIO.run_id).name]

    err = ok(cli("--shard", "1/2", "--out", str(root)))
    assert f"-> {root / SCENARIO.run_id}\n" in err  # the shard that completes the set publishes
    listed = store.parquet_runs(root)
    assert [r["run_id"] for r in listed] == [SCENARIO.run_id]
    assert listed[0]["visitors"] == unsharded["visitors"].height  # browsers: some people use a second device
    assert unsharded["visitors"]["person_id"].n_unique() == 100_500
    assert_same_run(root / SCENARIO.run_id, unsharded)
    assert [p.name for p in root.iterdir()] == [SCENARIO.run_id]


def test_cli_shard_with_another_hash_key_is_refused(tmp_path):
    root = tmp_path / "runs"
    StagedParquetSink(root, SCENARIO, shard_chunks(SCENARIO, 2, 2))  # a first shard joined with the test key
    proc = cli("--shard", "1/2", "--out", str(root), key=OTHER_KEY)
    assert proc.returncode == 2
    assert "DRCL_HASH_KEY" in proc.stderr.decode()
    assert store.parquet_runs(root) == []
    assert not list((staging_dir(root, SCENARIO.run_id) / "chunks").iterdir())


@pytest.mark.slow
def test_cli_shard_into_duckdb_holds_only_its_chunks(tmp_path, unsharded):
    path = tmp_path / "shard.duckdb"
    ok(cli("--shard", "2/2", "--out", str(path)))
    con = duckdb.connect(str(path), read_only=True)
    try:
        got = con.sql("SELECT * EXCLUDE (run_id) FROM visitors").pl()
    finally:
        con.close()
    chunk1 = unsharded["visitors"].filter(pl.col("person_id") // CHUNK_VISITORS == 1)  # a second device goes with its person
    assert chunk1.height > 0
    got = got.with_columns(pl.col(pl.Datetime).dt.convert_time_zone("UTC"))  # DuckDB names UTC "Etc/UTC"
    assert_frame_equal(got.sort("visitor_id"), chunk1.sort("visitor_id"), check_exact=True)


# --- Dask ----------------------------------------------------------------------------------------


@pytest.fixture
def clean_main(monkeypatch):
    """A blank __main__ while workers spawn: Streamlit's AppTest (the page tests) leaves app.py as
    __main__, and multiprocessing's spawn would re-run it in every worker process."""
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))


def _pools_built() -> bool:
    from simulators import pools

    return pools.country_pools.cache_info().currsize == 1


@pytest.mark.cluster
def test_dask_shards_write_the_unsharded_run(tmp_path, unsharded, clean_main):
    root = tmp_path / "runs"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, Client(cluster) as client:
        summary = run_on_dask(SCENARIO, root, 3, client)
        pids = client.run(os.getpid)
        cluster.scale(3)  # a worker that joins later builds its pools when it joins, before any task
        client.wait_for_workers(3)
        built = client.run(_pools_built)
    assert len(built) == 3 and all(built.values())
    assert len(set(pids.values()) - {os.getpid()}) == 2  # the shards ran in two other processes
    assert summary.run_id == SCENARIO.run_id
    assert summary.rows == {t: f.height for t, f in unsharded.items()}
    assert_same_run(root / SCENARIO.run_id, unsharded)
    assert [p.name for p in root.iterdir()] == [SCENARIO.run_id]


@pytest.mark.cluster
def test_dask_workers_with_another_hash_key_are_refused(tmp_path, clean_main):
    root = tmp_path / "runs"
    with (
        LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                     env={"DRCL_HASH_KEY": OTHER_KEY}) as cluster,
        Client(cluster) as client,
        pytest.raises(StagingError, match="DRCL_HASH_KEY on every worker"),
    ):
        run_on_dask(SCENARIO, root, 2, client)
    assert not root.exists() or store.parquet_runs(root) == []


# --- leftovers (issue 12): signals, SIGKILL, dead mergers -----------------------------------------

BIG = ["--visitors", "1000000", "--days", "2", "--seed", "29"]  # 20 chunks: always stopped mid-run


def _popen_shard(root: Path, spec: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "simulators", "generate", *BIG, "--quiet", "--shard", spec, "--out", str(root)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_a_staged_chunk(proc: subprocess.Popen, root: Path, timeout: float = 180) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        for stage in root.glob(".shards-*"):
            if any((stage / "chunks").glob("c*.json")):
                return stage
        time.sleep(0.05)
    raise AssertionError(f"no chunk staged under {root} after {timeout} s")


def _age(path: Path, seconds: float) -> None:
    when = time.time() - seconds
    for p in [path, *path.rglob("*")]:
        os.utime(p, (when, when))


@pytest.mark.slow
def test_sigterm_to_a_shard_removes_its_temporary_files_and_keeps_what_it_staged(tmp_path):
    root = tmp_path / "runs"
    proc = _popen_shard(root, "1/2")
    try:
        stage = _wait_for_a_staged_chunk(proc, root)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err.decode()
    assert b"interrupted by SIGTERM" in err
    assert list((stage / "tmp").iterdir()) == []  # the shard's own temporary files
    assert any((stage / "chunks").iterdir())  # finished chunks stay staged: the shard can be run again
    assert [p.name for p in root.iterdir()] == [stage.name]


@pytest.mark.slow
def test_after_sigkill_the_next_shard_removes_the_stale_temporary_files(tmp_path, capsys):
    root = tmp_path / "runs"
    proc = _popen_shard(root, "1/2")
    try:
        stage = _wait_for_a_staged_chunk(proc, root)
    finally:
        proc.kill()
        proc.communicate(timeout=60)
    left = sorted((stage / "tmp").iterdir())
    assert left, "SIGKILL left no temporary folder?"
    young = stage / "tmp" / "0123456789ab"  # another shard of that run, writing right now
    young.mkdir()
    staged = sorted((stage / "chunks").iterdir())
    for p in left:
        _age(p, 2 * 3600)
    # any shard run into the same runs folder cleans it (here one of another run, in-process)
    assert main(["generate", *ARGS, "--quiet", "--shard", "2/2", "--out", str(root)]) == 0
    err = capsys.readouterr().err
    for p in left:
        assert not p.exists() and f"removed stale temporary output {p}" in err, err
    assert young.exists() and sorted((stage / "chunks").iterdir()) == staged


@pytest.mark.slow
def test_a_dead_mergers_claim_is_given_back_and_merged(tmp_path, unsharded, capsys):
    """A merger killed after claiming the staging folder: the claim is given back (without the runs
    row it was adding) once stale, so `merge` publishes the run; a claim whose run was published
    is removed."""
    root = tmp_path / "runs"
    stage(root, 1, 2)
    stage(root, 2, 2)
    claim = root / f".merging-{SCENARIO.run_id}-0badc0de"
    os.rename(staging_dir(root, SCENARIO.run_id), claim)
    (claim / "run" / "runs" / "date=2026-11-02").mkdir(parents=True)
    (claim / "run" / "runs" / "date=2026-11-02" / "part-00000.parquet").write_bytes(b"half a runs row")
    done = root / "0123456789abcdef"
    (done / "runs").mkdir(parents=True)
    leftover = root / ".merging-0123456789abcdef-0badc0de"  # killed after publishing, before removing its claim
    (leftover / "tmp").mkdir(parents=True)
    _age(leftover, 2 * 3600)
    assert main(["merge", "--out", str(root), SCENARIO.run_id]) == 2  # a fresh claim: a merge may be under way
    assert claim.exists()
    _age(claim, 2 * 3600)
    assert main(["merge", "--out", str(root), SCENARIO.run_id]) == 0
    err = capsys.readouterr().err
    assert f"gave back the stale merge claim {claim} as .shards-{SCENARIO.run_id} (untouched for 2.0 h)" in err, err
    assert f"removed stale temporary output {leftover}" in err
    assert_same_run(root / SCENARIO.run_id, unsharded)
    assert sorted(p.name for p in root.iterdir()) == sorted([SCENARIO.run_id, done.name])
