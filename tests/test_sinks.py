"""simulators.sinks' clean-up rules that the process-level tests (test_cli, test_shards,
test_server_shutdown) do not reach: an interrupted publish, and which .old- folders may go."""

from __future__ import annotations

import os
import time

import pytest

from simulators import sinks


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
