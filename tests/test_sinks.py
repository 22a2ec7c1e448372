"""simulators.sinks' clean-up rules that the process-level tests (test_cli, test_shards,
test_server_shutdown) do not reach: an interrupted publish, and which .old- folders may go; the
DuckDB sink's chunk writes, and the run loop's bound on chunks alive."""

from __future__ import annotations

import os
import time
import weakref

import duckdb
import polars as pl
import pytest
from conftest import small

from engine import store
from simulators import run, sinks, traffic


def _age(path, seconds: float) -> None:
    when = time.time() - seconds
    for p in [path, *path.rglob("*")]:
        os.utime(p, (when, when))


def test_publish_interrupted_between_the_renames_puts_the_previous_run_back(tmp_path, monkeypatch):
    final, new = tmp_path / "0123456789abcdef", tmp_path / ".tmp-0123456789abcdef-01234567"
    (final / "runs").mkdir(parents=True)
    (new / "runs").mkdir(parents=True)
    real_replace, calls = os.replace, []

    def replace(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # the signal lands after the old run was moved aside
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(sinks.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        sinks.publish_dir(new, final)
    monkeypatch.setattr(sinks.os, "replace", real_replace)
    assert (final / "runs").is_dir() and new.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([final.name, new.name])  # no .old- left


def test_an_old_folder_is_removed_only_when_its_run_is_in_place(tmp_path):
    kept = tmp_path / ".old-0123456789abcdef-01234567"  # the only copy of its run: never removed
    gone = tmp_path / ".old-fedcba9876543210-01234567"
    (tmp_path / "fedcba9876543210").mkdir()
    for d in (kept, gone):
        d.mkdir()
        _age(d, 7200)
    cleaned = sinks.clean_stale_run_folders(tmp_path, 3600)
    assert [c.path for c in cleaned] == [gone]
    assert kept.exists() and not gone.exists()


def test_a_folder_is_as_young_as_its_newest_file(tmp_path):
    """A long run adds files deep in its temporary folder and leaves the folder's own time alone."""
    tmp = tmp_path / ".tmp-0123456789abcdef-01234567"
    (tmp / "truth_events" / "date=2026-11-02").mkdir(parents=True)
    _age(tmp, 7200)
    (tmp / "truth_events" / "date=2026-11-02" / "part-00099.parquet").write_bytes(b"just written")
    assert sinks.clean_stale_run_folders(tmp_path, 3600) == []
    assert tmp.exists()


def test_a_temporary_output_this_process_is_writing_is_never_stale(tmp_path):
    tmp = tmp_path / ".tmp-0123456789abcdef-01234567"
    tmp.mkdir()
    _age(tmp, 7200)
    sinks.track_temporary(tmp)
    try:
        assert sinks.clean_stale_run_folders(tmp_path, 0) == []
    finally:
        sinks.release_temporary(tmp)
    assert [c.path for c in sinks.clean_stale_run_folders(tmp_path, 0)] == [tmp]


@pytest.fixture(scope="module")
def chunk_tables():
    return run.build_run(small({"traffic.visitors": 300, "traffic.days": 3}))


def test_the_duckdb_sink_writes_every_table_of_a_chunk(tmp_path, chunk_tables):
    scenario = small({"traffic.visitors": 300, "traffic.days": 3})
    sink = sinks.DuckDBSink(tmp_path / "run.duckdb")
    sink.open(scenario)
    sink.write(chunk_tables)
    sink.write(chunk_tables)
    sink.close(scenario, {})
    con = duckdb.connect(str(tmp_path / "run.duckdb"), read_only=True)
    try:
        for name, frame in chunk_tables.items():
            assert con.sql(f'SELECT count(*) FROM "{name}"').fetchall()[0][0] == 2 * frame.height, name
    finally:
        con.close()


def test_a_table_that_cannot_be_stored_fails_the_write_and_the_run_leaves_nothing(tmp_path, chunk_tables):
    scenario = small({"traffic.visitors": 300, "traffic.days": 3})
    chunk = {**chunk_tables, "consent_log": chunk_tables["consent_log"].drop("ts")}
    sink = sinks.DuckDBSink(tmp_path / "run.duckdb")
    sink.open(scenario)
    with pytest.raises(store.StoreError, match="consent_log: missing columns"):
        sink.write(chunk)
    sink.abort()
    assert list(tmp_path.iterdir()) == []


class _SlowSink:
    """Takes its time over each chunk, so the generator runs ahead of it as far as the loop lets it."""

    wants = "tables"
    destination = "nowhere"

    def __init__(self) -> None:
        self.written = 0

    def open(self, scenario) -> None: ...

    def write(self, chunk: dict[str, pl.DataFrame]) -> None:
        time.sleep(0.15)
        self.written += 1

    def close(self, scenario, counts) -> None: ...

    def abort(self) -> None: ...


def test_a_run_keeps_at_most_two_chunks_alive(monkeypatch):
    monkeypatch.setattr(traffic, "CHUNK_VISITORS", 300)
    scenario = small({"traffic.visitors": 1500, "traffic.days": 3})
    made: list[weakref.ref] = []
    alive_when_made: list[int] = []
    real = run._chunk_payload

    def tracked(*args):
        payload, n = real(*args)
        made.append(weakref.ref(payload["truth_events"]))
        alive_when_made.append(sum(ref() is not None for ref in made))
        return payload, n

    monkeypatch.setattr(run, "_chunk_payload", tracked)
    sink = _SlowSink()
    summary = run.run_to_sink(scenario, sink)
    assert sink.written == len(made) == traffic.n_chunks(scenario) == 5
    assert summary.truth_events > 0
    # The chunk just made and the one being written; never a third one queued or held by the loop.
    assert max(alive_when_made) == 2
