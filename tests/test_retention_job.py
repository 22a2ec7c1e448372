"""The retention job, `python -m engine.store purge PATH --now DATE`, on real DuckDB files and
Parquet run folders: a dry run reports per table and PII level and changes nothing, `--apply`
deletes exactly what was reported, and `python -m simulators purge` is the same command."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from engine import store
from simulators import cli

ROOT = Path(__file__).resolve().parents[1]
DAY = dt.timedelta(days=1)


def write_store(path: Path, scenario, tables) -> None:
    con = store.connect(path)
    try:
        counts = {t: f.height for t, f in tables.items()}
        store.write_tables(con, scenario.run_id, dict(tables) | {"runs": store.run_row(scenario, counts, "cli")})
    finally:
        con.close()


def counts(path: Path) -> dict[str, int]:
    con = store.connect(path, read_only=True)
    try:
        return {t: store.query(con, f'SELECT count(*) AS n FROM "{t}"')["n"][0] for t in store.DATA_TABLES}
    finally:
        con.close()


@pytest.fixture
def db(tmp_path, base_scenario, base_tables) -> Path:
    path = tmp_path / "run.duckdb"
    write_store(path, base_scenario, base_tables)
    return path


def midway(tables) -> dt.datetime:
    """40 days after the first event: HIGH and CRITICAL rows (30 and 7 days) are past retention, MEDIUM (90) not."""
    first = tables["truth_events"]["ts"].min()
    return dt.datetime.combine((first + 40 * DAY).date(), dt.time(), dt.UTC)


def test_dry_run_reports_per_level_and_changes_nothing(db, base_tables, capsys):
    now = midway(base_tables)
    before = counts(db)
    assert store.main(["purge", str(db), "--now", f"{now:%Y-%m-%d}"]) == 0
    out, err = capsys.readouterr()
    assert "dry run" in err and counts(db) == before
    con = store.connect(db, read_only=True)
    try:
        report = store.retention.store_report(con, now)
    finally:
        con.close()
    per_level = report.group_by("level_name").agg(pl.col("rows", "expired").sum())
    assert per_level.filter(pl.col("expired") > 0).height >= 2  # at least HIGH and CRITICAL lose rows
    assert per_level.filter(pl.col("level_name") == "MEDIUM")["expired"].sum() == 0
    level_lines = out.split("\n\n")[1].splitlines()[1:]
    printed = {line.split()[0]: int(line.split()[-1].replace(",", "")) for line in level_lines}
    assert printed == dict(per_level.select("level_name", "expired").iter_rows())


def test_apply_deletes_what_the_dry_run_reported(db, base_tables, capsys):
    now = midway(base_tables)
    before = counts(db)
    store.main(["purge", str(db), "--now", f"{now:%Y-%m-%d}"])
    dry = capsys.readouterr().out
    assert store.main(["purge", str(db), "--now", f"{now:%Y-%m-%d}", "--apply"]) == 0
    applied, err = capsys.readouterr()
    assert applied.split("\n\n")[0] == dry.split("\n\n")[0]  # the same per-table report
    after = counts(db)
    con = store.connect(db, read_only=True)
    try:
        assert store.retention.store_report(con, now)["expired"].sum() == 0  # nothing left past retention
        runs = store.query(con, "SELECT * FROM runs").row(0, named=True)
    finally:
        con.close()
    lost = sum(before.values()) - sum(after.values())
    assert lost > 0 and f"deleted {lost:,} rows" in err
    assert all(runs[t] == after[t] for t in store.DATA_TABLES)  # the runs row's counts follow, same transaction


def test_the_module_runs_as_a_command(db, base_tables):
    now = midway(base_tables)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "engine.store", "purge", str(db), "--now", f"{now:%Y-%m-%d}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "PII level" in done.stdout and "would lose" in done.stdout and "RuntimeWarning" not in done.stderr
    bad = subprocess.run([sys.executable, "-m", "engine.store", "purge", str(db.with_suffix(".txt")), "--now", "2030-01-01"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("error:") and "Traceback" not in bad.stderr


def test_simulators_purge_is_the_same_command(db, base_tables, capsys):
    day = f"{midway(base_tables):%Y-%m-%d}"
    assert store.main(["purge", str(db), "--now", day]) == 0
    engine_out = capsys.readouterr()
    assert cli.purge(argparse.Namespace(path=db, now=store.parse_day(day), apply=False)) == 0
    assert capsys.readouterr() == engine_out


def test_a_parquet_run_is_purged_by_rewriting_it_whole(db, base_scenario, base_tables, tmp_path, capsys):
    con = store.connect(db, read_only=True)
    try:
        run_dir = store.export_parquet(con, base_scenario.run_id, tmp_path / "runs")
    finally:
        con.close()
    now = midway(base_tables)
    assert store.main(["purge", str(run_dir), "--now", f"{now:%Y-%m-%d}", "--apply"]) == 0
    capsys.readouterr()
    purged = store.read_parquet_run(run_dir)
    mem = store.connect(":memory:")
    try:
        store.import_parquet(mem, run_dir)
        assert store.retention_report(mem, base_scenario.run_id, now)["expired"].sum() == 0
    finally:
        mem.close()
    assert 0 < purged["truth_events"].height < base_tables["truth_events"].height
    assert sorted(p.name for p in run_dir.parent.iterdir()) == [run_dir.name]  # no .tmp- or .old- folder left
    # The runs folder itself is refused with the runs it holds (it said only "not a run id: 'runs'").
    assert store.main(["purge", str(run_dir.parent), "--now", f"{now:%Y-%m-%d}"]) == 2
    assert capsys.readouterr().err.strip() == (f"error: {run_dir.parent} is not a Parquet run folder "
                                               f"(give one run: {run_dir.parent}/<run_id>); the runs in it: {run_dir.name}")


def test_a_parquet_run_in_a_folder_with_a_quote_is_purged(db, base_scenario, base_tables, tmp_path, capsys):
    """The folder is the user's: a quote in its path (O'Brien's runs) is data, never part of the SQL."""
    con = store.connect(db, read_only=True)
    try:
        run_dir = store.export_parquet(con, base_scenario.run_id, tmp_path / "o'brien's runs")
    finally:
        con.close()
    assert store.read_parquet_run(run_dir)["truth_events"].height == base_tables["truth_events"].height
    assert store.main(["purge", str(run_dir), "--now", f"{midway(base_tables):%Y-%m-%d}", "--apply"]) == 0
    capsys.readouterr()
    assert 0 < store.read_parquet_run(run_dir)["truth_events"].height < base_tables["truth_events"].height


def test_a_failed_swap_keeps_the_old_folder(tmp_path):
    final = tmp_path / "0123456789abcdef"
    final.mkdir()
    (final / "kept").write_text("old run")
    with pytest.raises(FileNotFoundError):
        store._swap_in(tmp_path / ".tmp-missing", final)
    assert (final / "kept").read_text() == "old run"
    assert sorted(p.name for p in tmp_path.iterdir()) == [final.name]
