"""End-to-end tests of `python -m simulators`: real subprocesses, real DuckDB/Parquet/JSONL outputs.

Every run uses a fixed DRCL_HASH_KEY so keyed hashes (device ids, visitor hashes) are the same
in every process; the acceptance runs (20,000 visitors) are generated once per module.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from engine import schema, store
from engine.scenario import apply_overrides, load_preset

ROOT = Path(__file__).resolve().parents[1]
HASH_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "DRCL_HASH_KEY": HASH_KEY}
TIMEOUT = 300

SMALL_ARGS = ["--visitors", "2000", "--days", "3", "--seed", "11"]
ACCEPT_ARGS = ["--visitors", "20000", "--days", "3", "--seed", "7"]
RUN_RE = re.compile(r"^run ([0-9a-f]{16}) -> ", re.MULTILINE)
TRUTH_RE = re.compile(r"^([\d,]+) truth events in ", re.MULTILINE)


def cli(*args: str, cwd: Path | str = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "simulators", *args],
        cwd=cwd, env=env or ENV, capture_output=True, timeout=TIMEOUT, check=False,
    )


def popen(*args: str, cwd: Path | str = ROOT, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "simulators", *args],
        cwd=cwd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs,
    )


def ok(proc: subprocess.CompletedProcess) -> str:
    """The stderr of a successful run (the summary), failing loudly with its output otherwise."""
    err = proc.stderr.decode()
    assert proc.returncode == 0, f"exit {proc.returncode}\nstderr:\n{err}"
    return err


def summary_run_id(stderr: str) -> str:
    m = RUN_RE.search(stderr)
    assert m, f"no 'run <id> -> ' line in the summary:\n{stderr}"
    return m.group(1)


def summary_rows(stderr: str) -> dict[str, int]:
    """The 'rows per table' block of the summary."""
    block = stderr.split("rows per table:", 1)[1]
    return {m.group(1): int(m.group(2).replace(",", "")) for m in re.finditer(r"^\s+(\w+)\s+([\d,]+)\s*$", block, re.MULTILINE)}


def summary_truth(stderr: str) -> int:
    m = TRUTH_RE.search(stderr)
    assert m, f"no '<n> truth events' line in the summary:\n{stderr}"
    return int(m.group(1).replace(",", ""))


def read_table(path: Path, table: str, exclude: tuple[str, ...] = ()) -> pl.DataFrame:
    """A whole table, every column but `exclude`, ordered by all its columns (row order is not part of the contract)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        cols = [c for c in schema.dtypes(table) if c not in exclude]
        sel = ", ".join(f'"{c}"' for c in cols)
        return con.sql(f'SELECT {sel} FROM "{table}" ORDER BY ALL').pl()
    finally:
        con.close()


def scalar(path: Path, sql: str):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def tables_in(path: Path) -> set[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    finally:
        con.close()


# --- 1. acceptance: reproducible runs, consent changes only the rails ---------------------------


@pytest.fixture(scope="module")
def acceptance(tmp_path_factory) -> dict:
    """Three 20,000-visitor runs, in parallel: a and b are the same command, c has no reject button."""
    d = tmp_path_factory.mktemp("acceptance")
    jobs = {
        "a": popen("generate", *ACCEPT_ARGS, "--set", "consent.banner=reject_first_layer", "--out", str(d / "a.duckdb")),
        "b": popen("generate", *ACCEPT_ARGS, "--set", "consent.banner=reject_first_layer", "--out", str(d / "b.duckdb")),
        "c": popen("generate", *ACCEPT_ARGS, "--set", "consent.banner=no_reject", "--out", str(d / "c.duckdb")),
    }
    out = {}
    for name, p in jobs.items():
        _, err = p.communicate(timeout=TIMEOUT)
        assert p.returncode == 0, f"run {name} exited {p.returncode}:\n{err.decode()}"
        out[name] = {"path": d / f"{name}.duckdb", "stderr": err.decode()}
    out["dir"] = d
    return out


@pytest.mark.slow
def test_acceptance_writes_six_non_empty_tables(acceptance):
    a = acceptance["a"]["path"]
    assert a.is_file()
    assert tables_in(a) == set(store.TABLES)
    for t in store.TABLES:
        assert scalar(a, f'SELECT count(*) FROM "{t}"') > 0, f"{t} is empty"
    assert scalar(a, "SELECT count(DISTINCT person_id) FROM visitors") == 20_000  # people (some with a second browser row)
    # the temporary database (and its WAL) was renamed away, nothing else is left next to it
    assert sorted(p.name for p in acceptance["dir"].iterdir()) == ["a.duckdb", "b.duckdb", "c.duckdb"]


@pytest.mark.slow
def test_acceptance_runs_row_matches_tables_and_summary(acceptance):
    a, err = acceptance["a"]["path"], acceptance["a"]["stderr"]
    runs = read_table(a, "runs")
    assert runs.height == 1
    run = runs.row(0, named=True)
    expected = apply_overrides(load_preset("eu_shop"), {"traffic.visitors": 20000, "traffic.days": 3, "seed": 7,
                                                        "consent.banner": "reject_first_layer"})
    assert run["run_id"] == expected.run_id == summary_run_id(err)
    assert json.loads(run["scenario_json"]) == json.loads(expected.canonical_json())
    reported = summary_rows(err)
    for t in store.DATA_TABLES:
        actual = scalar(a, f'SELECT count(*) FROM "{t}"')
        assert run[t] == actual, f"runs.{t} = {run[t]} but the table has {actual} rows"
        assert reported[t] == actual, f"summary says {reported[t]} {t} rows, table has {actual}"
        assert scalar(a, f'SELECT count(DISTINCT run_id) FROM "{t}"') == 1
        assert scalar(a, f"SELECT min(run_id) FROM \"{t}\"") == run["run_id"]
    assert summary_truth(err) == run["truth_events"]


@pytest.mark.slow
@pytest.mark.parametrize("table", store.TABLES)
def test_acceptance_same_command_gives_identical_tables(acceptance, table):
    a, b = acceptance["a"]["path"], acceptance["b"]["path"]
    exclude = ("created_at",) if table == "runs" else ()  # wall-clock time of the run
    fa, fb = read_table(a, table, exclude), read_table(b, table, exclude)
    assert fa.height > 0
    assert_frame_equal(fa, fb, check_exact=True)


@pytest.mark.slow
def test_acceptance_no_reject_keeps_truth_identical(acceptance):
    a, c = acceptance["a"]["path"], acceptance["c"]["path"]
    # run_id differs (it hashes the whole scenario); everything else of the truth must not
    assert_frame_equal(read_table(a, "truth_events", ("run_id",)), read_table(c, "truth_events", ("run_id",)), check_exact=True)
    ra, rc = read_table(a, "runs").row(0, named=True), read_table(c, "runs").row(0, named=True)
    assert ra["traffic_key"] == rc["traffic_key"]  # the truth's hash ignores consent knobs
    assert ra["run_id"] != rc["run_id"]


@pytest.mark.slow
def test_acceptance_no_reject_keeps_visitors_but_consent_identical(acceptance):
    a, c = acceptance["a"]["path"], acceptance["c"]["path"]
    skip_cols = ("run_id", "consent_choice", "consent_at")
    assert_frame_equal(read_table(a, "visitors", skip_cols), read_table(c, "visitors", skip_cols), check_exact=True)


@pytest.mark.slow
def test_acceptance_no_reject_changes_consent_choices(acceptance):
    a, c = acceptance["a"]["path"], acceptance["c"]["path"]
    others = tuple(col for col in schema.dtypes("visitors") if col not in ("visitor_id", "consent_choice"))
    choices_a, choices_c = read_table(a, "visitors", others), read_table(c, "visitors", others)
    assert choices_a.columns == ["visitor_id", "consent_choice"]
    assert not choices_a.equals(choices_c)
    assert "no_reject" not in read_table(a, "runs")["scenario_json"][0]
    assert json.loads(read_table(c, "runs")["scenario_json"][0])["consent"]["banner"] == "no_reject"


@pytest.mark.slow
def test_acceptance_no_reject_full_stack_sees_more(acceptance):
    a, c = acceptance["a"]["path"], acceptance["c"]["path"]

    def non_pings(p: Path) -> int:
        return scalar(p, "SELECT count(*) FROM fullstack_events WHERE NOT is_ping")

    def devices(p: Path) -> int:
        return scalar(p, "SELECT count(DISTINCT device_id) FROM fullstack_events")

    assert non_pings(c) > non_pings(a) > 0
    assert devices(c) > devices(a) > 0
    # advanced consent mode (the preset default) sends cookieless pings
    assert scalar(a, "SELECT count(*) FROM fullstack_events WHERE is_ping") > 0


# --- 2. presets ---------------------------------------------------------------------------------


def test_presets_lists_every_preset():
    proc = cli("presets")
    ok(proc)
    names = [line.split()[0] for line in proc.stdout.decode().splitlines() if line.strip()]
    assert set(names) >= {"eu_shop", "us_shop", "content_site", "stress"}
    shipped = {p.stem for p in (ROOT / "datasets" / "presets").glob("*.toml")}
    assert set(names) == shipped
    # each line carries the preset's description
    for line in proc.stdout.decode().splitlines():
        assert len(line.split(maxsplit=1)) == 2, f"no description on {line!r}"


# --- 3. error paths: exit 2, a clear message, nothing written ------------------------------------


def _error_cases() -> list:
    cases = [
        ("unknown-preset", ["--preset", "no_such_preset", "--out", "run.duckdb"], ["unknown preset", "no_such_preset"]),
        ("preset-path-traversal", ["--preset", "../presets/eu_shop", "--out", "run.duckdb"], ["unknown preset"]),
        ("set-unknown-field", ["--set", "consent.nope=1", "--out", "run.duckdb"], ["unknown scenario field", "consent.nope"]),
        ("set-unknown-top", ["--set", "nosuch=1", "--out", "run.duckdb"], ["unknown scenario field", "nosuch"]),
        ("set-bad-literal", ["--set", "consent.banner=nope", "--out", "run.duckdb"], ["consent.banner", "nope"]),
        ("set-bad-int", ["--set", "traffic.visitors=abc", "--out", "run.duckdb"], ["traffic.visitors", "abc"]),
        ("set-out-of-bounds", ["--set", "traffic.days=0", "--out", "run.duckdb"], ["traffic.days"]),
        ("shortcut-out-of-bounds", ["--visitors", "5", "--out", "run.duckdb"], ["traffic.visitors"]),
        ("set-without-equals", ["--set", "consent.banner", "--out", "run.duckdb"], ["FIELD=VALUE", "consent.banner"]),
        ("missing-folder-duckdb", ["--out", "missing/run.duckdb"], ["missing", "does not exist"]),
        ("missing-folder-jsonl", ["--out", "missing/hits.jsonl"], ["missing", "does not exist"]),
        ("missing-folder-parquet", ["--out", "missing/deeper/runs"], ["missing", "does not exist"]),
        ("unsupported-suffix", ["--out", "out.csv"], ["unsupported output", "out.csv"]),
        ("bad-toml", ["--scenario", "{bad_toml}", "--out", "run.duckdb"], ["bad.toml", "not valid TOML"]),
        ("bad-json", ["--scenario", "{bad_json}", "--out", "run.duckdb"], ["bad.json", "not valid JSON"]),
        ("scenario-unknown-field", ["--scenario", "{unknown_toml}", "--out", "run.duckdb"], ["consent.colour"]),
        ("scenario-missing-file", ["--scenario", "{missing_file}", "--out", "run.duckdb"], ["cannot read scenario file", "nowhere.toml"]),
        # issue 12: these gave a traceback, wrote year-10000 timestamps or wrote a run into the current folder
        ("start-date-past-9999", ["--set", "traffic.start_date=9999-12-30", "--out", "run.duckdb"],
         ["traffic.start_date", "traffic.days", "9999"]),
        ("start-date-past-9999-jsonl", ["--set", "traffic.start_date=9999-12-30", "--out", "hits.jsonl"],
         ["traffic.start_date", "traffic.days", "9999"]),
        ("start-date-plus-days-past-9999", ["--set", "traffic.start_date=9999-12-01", "--days", "31", "--out", "runs"],
         ["traffic.start_date", "traffic.days", "latest traffic.start_date for 31 days is 9999-11-30"]),
        ("empty-out", ["--out", ""], ["--out is empty"]),
        ("blank-out", ["--out", "  "], ["--out is empty"]),
    ]
    if os.geteuid() != 0:  # root can write into a 0o555 folder, so the case only means something for other users
        cases.append(("read-only-folder", ["--out", "run.duckdb"], ["not writable"]))
    return [pytest.param(args, needles, id=name) for name, args, needles in cases]


@pytest.mark.slow
@pytest.mark.parametrize(("args", "needles"), _error_cases())
def test_error_exits_2_with_message_and_writes_nothing(tmp_path, request, args, needles):
    files = tmp_path / "inputs"
    files.mkdir()
    (files / "bad.toml").write_text("[consent\nbanner = no_reject\n")
    (files / "bad.json").write_text('{"consent": {"banner": "no_reject",}')
    (files / "unknown.toml").write_text('[consent]\ncolour = "red"\n')
    paths = {"bad_toml": files / "bad.toml", "bad_json": files / "bad.json", "unknown_toml": files / "unknown.toml",
             "missing_file": files / "nowhere.toml"}
    args = [a.format(**paths) for a in args]
    out = tmp_path / "out"
    out.mkdir()
    read_only = request.node.callspec.id == "read-only-folder"
    if read_only:
        out.chmod(0o555)
    try:
        # relative --out paths land in `out`, the folder that must stay empty
        proc = cli("generate", "--quiet", *args, cwd=out)
    finally:
        out.chmod(0o755)
    err = proc.stderr.decode()
    assert proc.returncode == 2, f"exit {proc.returncode}, stderr:\n{err}"
    assert "Traceback" not in err, err
    assert "error:" in err
    for needle in needles:
        assert needle in err, f"{needle!r} not in stderr:\n{err}"
    assert proc.stdout == b""
    assert list(out.iterdir()) == [], f"left behind: {[p.name for p in out.iterdir()]}"
    assert sorted(p.name for p in files.iterdir()) == ["bad.json", "bad.toml", "unknown.toml"]


@pytest.mark.parametrize("out", ["/proc/x.duckdb", "/proc/runs", "/proc/hits.jsonl", "/proc/self/x.duckdb", "/sys/x.duckdb",
                                 "/nonexistent-dir/x.duckdb", "/nonexistent-dir/runs"])
def test_error_unwritable_output_is_one_line_and_exit_2(tmp_path, out):
    """Special file systems pass os.access (and root passes it everywhere): the probe file decides."""
    proc = cli("generate", "--quiet", "--visitors", "200", "--days", "1", "--out", out, cwd=tmp_path)
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert "not writable" in err or "does not exist" in err
    assert list(tmp_path.iterdir()) == []


def test_start_date_at_the_limit_still_runs(tmp_path):
    """The last day a run may start on: its sessions spill into 9999-12-31, never into year 10000."""
    out = tmp_path / "hits.jsonl"
    ok(cli("generate", "--quiet", "--visitors", "300", "--days", "2", "--set", "traffic.start_date=9999-12-29", "--out", str(out)))
    stamps = re.findall(rb'"ts":"(\d+)-', out.read_bytes())
    assert stamps and set(stamps) == {b"9999"}


def test_error_out_is_an_existing_folder_named_duckdb(tmp_path):
    (tmp_path / "run.duckdb").mkdir()
    proc = cli("generate", "--quiet", *SMALL_ARGS, "--out", "run.duckdb", cwd=tmp_path)
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "run.duckdb" in err and "not a file" in err
    assert [p.name for p in tmp_path.iterdir()] == ["run.duckdb"]
    assert list((tmp_path / "run.duckdb").iterdir()) == []


def test_error_usage_without_out_exits_2(tmp_path):
    proc = cli("generate", "--visitors", "100", cwd=tmp_path)
    assert proc.returncode == 2
    assert "--out" in proc.stderr.decode()
    assert list(tmp_path.iterdir()) == []


# --- small reference run: one .duckdb shared by the Parquet and JSONL tests ---------------------


@pytest.fixture(scope="module")
def small_duckdb(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("small")
    err = ok(cli("generate", "--quiet", *SMALL_ARGS, "--out", str(d / "small.duckdb")))
    return {"path": d / "small.duckdb", "stderr": err, "run_id": summary_run_id(err)}


# --- 4. Parquet run folder ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_parquet(tmp_path_factory) -> dict:
    """The small command again, into a folder that does not exist yet (the sink creates it)."""
    root = tmp_path_factory.mktemp("parquet") / "runs"
    err = ok(cli("generate", "--quiet", *SMALL_ARGS, "--out", str(root)))
    return {"root": root, "stderr": err, "run_id": summary_run_id(err)}


@pytest.mark.slow
def test_parquet_folder_layout_and_import(tmp_path, small_parquet, small_duckdb):
    root, err, run_id = small_parquet["root"], small_parquet["stderr"], small_parquet["run_id"]
    assert run_id == small_duckdb["run_id"]  # same scenario, same run id, whatever the sink
    assert [p.name for p in root.iterdir()] == [run_id], "expected only the run folder (no .tmp-* leftovers)"
    run_dir = root / run_id
    assert str(run_dir) in err  # the summary names the run folder
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(store.TABLES)
    for t in store.TABLES:
        parts = list((run_dir / t).iterdir())
        assert parts, f"{t} has no partitions"
        for part in parts:
            assert re.fullmatch(r"date=\d{4}-\d{2}-\d{2}", part.name), f"{t}/{part.name}"
            files = list(part.iterdir())
            assert files and all(f.suffix == ".parquet" and f.is_file() for f in files), f"{t}/{part.name}: {files}"
    leftovers = [p for p in root.parent.rglob("*") if ".tmp-" in p.name]
    assert leftovers == []
    assert [p.name for p in root.parent.iterdir()] == ["runs"]

    con = store.connect(tmp_path / "imported.duckdb")
    try:
        assert store.import_parquet(con, run_dir) == run_id
        reported = summary_rows(err)
        truth = store.query(con, "SELECT count(*) AS n FROM truth_events WHERE run_id = ?", [run_id])["n"][0]
        assert truth == reported["truth_events"] == summary_truth(err)
        for t in store.DATA_TABLES:
            n = store.query(con, f'SELECT count(*) AS n FROM "{t}"')["n"][0]
            assert n == reported[t], f"{t}: imported {n}, summary said {reported[t]}"
        runs = store.list_runs(con)
        assert runs["run_id"].to_list() == [run_id]
        assert runs["truth_events"][0] == truth
    finally:
        con.close()


@pytest.mark.slow
@pytest.mark.parametrize("table", store.TABLES)
def test_parquet_run_equals_duckdb_run_of_same_command(tmp_path, small_parquet, small_duckdb, table):
    """The Parquet sink and the DuckDB sink hold the same rows for the same command (separate processes)."""
    con = store.connect(tmp_path / "imported.duckdb")
    try:
        store.import_parquet(con, small_parquet["root"] / small_parquet["run_id"])
        exclude = ("created_at",) if table == "runs" else ()
        cols = ", ".join(f'"{c}"' for c in schema.dtypes(table) if c not in exclude)
        imported = store.query(con, f'SELECT {cols} FROM "{table}" ORDER BY ALL')
    finally:
        con.close()
    assert imported.height > 0
    assert_frame_equal(imported, read_table(small_duckdb["path"], table, exclude), check_exact=True)


# --- 5. JSON lines -----------------------------------------------------------------------------

HIT_KEYS = {"event_id", "event_type", "ts", "url", "ip", "user_agent", "analytics_storage"}


@pytest.mark.slow
def test_jsonl_file_and_stdout(tmp_path, small_duckdb):
    target = tmp_path / "hits.jsonl"
    err = ok(cli("generate", "--quiet", *SMALL_ARGS, "--out", str(target)))
    assert [p.name for p in tmp_path.iterdir()] == ["hits.jsonl"]
    raw = target.read_bytes()
    lines = raw.decode().splitlines()
    truth_rows = scalar(small_duckdb["path"], "SELECT count(*) FROM truth_events")
    assert len(lines) == truth_rows == summary_truth(err)
    hits = [json.loads(line) for line in lines]
    for h in hits:
        assert isinstance(h, dict)
        assert h.keys() >= HIT_KEYS, f"missing {HIT_KEYS - h.keys()}"
        assert isinstance(h["analytics_storage"], bool)
    # one hit per truth event, no duplicates
    truth_ids = set(read_table(small_duckdb["path"], "truth_events")["event_id"].to_list())
    assert [h["event_id"] for h in hits if h["event_id"] not in truth_ids] == []
    assert len({h["event_id"] for h in hits}) == len(hits)
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z", h["ts"]) for h in hits[:100])

    proc = cli("generate", "--quiet", *SMALL_ARGS, "--out", "-", cwd=tmp_path)
    ok(proc)
    assert proc.stdout == raw
    assert [p.name for p in tmp_path.iterdir()] == ["hits.jsonl"]  # stdout mode writes no file


# --- 6. scenario files and shortcuts ------------------------------------------------------------


def _run_scenario(tmp_path: Path, name: str, text: str, *extra: str) -> tuple[Path, dict]:
    scen = tmp_path / name
    scen.write_text(text)
    out = tmp_path / f"{scen.stem}-{scen.suffix[1:]}.duckdb"
    ok(cli("generate", "--quiet", "--scenario", str(scen), *extra, "--out", str(out)))
    return out, json.loads(read_table(out, "runs")["scenario_json"][0])


def test_scenario_toml_applied_and_shortcuts_override(tmp_path):
    text = '[consent]\nmode = "basic"\nbanner = "no_reject"\n[traffic]\nvisitors = 50000\ndays = 30\n'
    out, scen = _run_scenario(tmp_path, "basic.toml", text, "--set", "traffic.visitors=3000",
                              "--visitors", "1500", "--days", "2", "--seed", "5")
    assert scen["consent"]["mode"] == "basic"
    assert scen["consent"]["banner"] == "no_reject"
    assert scen["traffic"]["visitors"] == 1500  # shortcut beats --set and the file
    assert scen["traffic"]["days"] == 2
    assert scen["seed"] == 5
    assert scen["site"]["kind"] == "shop"  # untouched fields come from the default preset
    assert scalar(out, "SELECT count(DISTINCT person_id) FROM visitors") == 1500
    assert scalar(out, "SELECT count(*) FROM fullstack_events") > 0
    # Consent Mode basic: nothing is sent before consent, so no cookieless pings
    assert scalar(out, "SELECT count(*) FROM fullstack_events WHERE is_ping") == 0
    assert scalar(out, "SELECT count(DISTINCT date) FROM visitors") == 2


@pytest.mark.slow
def test_scenario_json_applied_on_top_of_preset(tmp_path):
    text = json.dumps({"consent": {"mode": "basic"}, "traffic": {"days": 9}, "rails": {"server_side_proxy": True}})
    out, scen = _run_scenario(tmp_path, "basic.json", text, "--preset", "us_shop", "--visitors", "1200", "--days", "2")
    assert scen["consent"]["mode"] == "basic"
    assert scen["rails"]["server_side_proxy"] is True
    assert scen["traffic"]["days"] == 2
    assert scen["traffic"]["visitors"] == 1200
    # the preset's own settings survive where the file says nothing (deep merge, not replace)
    assert scen["consent"]["banner"] == "no_banner"
    assert scen["traffic"]["region_mix"]["us"] == pytest.approx(0.80)
    assert scalar(out, "SELECT count(DISTINCT person_id) FROM visitors") == 1200
    assert scalar(out, "SELECT count(*) FROM fullstack_events WHERE is_ping") == 0


# --- retention from the command line ------------------------------------------------------------


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulators", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_purge_dry_run_reports_then_apply_deletes_atomically(tmp_path):
    db = tmp_path / "r.duckdb"
    runs = tmp_path / "runs"
    for out in (db, runs):
        assert _run_cli("generate", "--visitors", "600", "--days", "3", "--seed", "4", "--out", str(out), "--quiet").returncode == 0
    run_dir = next(p for p in runs.iterdir() if not p.name.startswith("."))
    now = "2031-01-01"  # past everything but NONE-level rows and the consent log's two years
    for path in (db, run_dir):
        dry = _run_cli("purge", str(path), "--now", now)
        assert dry.returncode == 0, dry.stderr
        assert "dry run" in dry.stderr and "CRITICAL" in dry.stdout
        before = store.connect(db, read_only=True) if path == db else None
        if before is not None:
            n_before = store.query(before, "SELECT count(*) AS n FROM visitors")["n"][0]
            before.close()
            assert n_before > 0  # the dry run deleted nothing
        done = _run_cli("purge", str(path), "--now", now, "--apply")
        assert done.returncode == 0, done.stderr
        assert "deleted" in done.stderr
    con = store.connect(db, read_only=True)
    try:
        assert store.query(con, "SELECT count(*) AS n FROM visitors")["n"][0] == 0  # first_seen + 90 days < now
        runs_row = store.query(con, "SELECT * FROM runs")
        assert runs_row["visitors"][0] == 0 and runs_row["truth_events"][0] == 0
    finally:
        con.close()
    tables = store.read_parquet_run(run_dir)
    assert tables["visitors"].height == 0 and tables["truth_events"].height == 0
    assert not [p for p in runs.iterdir() if p.name.startswith(".tmp")]


@pytest.mark.parametrize("args", [["nowhere.duckdb", "--now", "2030-01-01"], [".", "--now", "someday"], ["notes.txt", "--now", "2030-01-01"]])
def test_purge_refuses_bad_input_with_exit_2(args, tmp_path):
    (tmp_path / "notes.txt").write_text("not a store")
    done = _run_cli("purge", str(tmp_path / args[0]), *args[1:])
    assert done.returncode == 2 and "error" in done.stderr and "Traceback" not in done.stderr


# --- signals and leftovers (issue 12): a run stopped mid-write leaves no temporary output --------

BIG_ARGS = ["--visitors", "1000000", "--days", "7", "--seed", "3"]  # minutes of work: always stopped mid-write
OUTS = {"parquet": "runs", "duckdb": "run.duckdb", "jsonl": "hits.jsonl"}


def temporaries(folder: Path) -> list[Path]:
    """Temporary outputs of any kind under folder (hidden .tmp- names, at any depth). os.walk, not
    rglob: it skips folders a running writer renames or removes meanwhile."""
    return sorted(Path(d, n) for d, dirs, files in os.walk(folder) for n in (*dirs, *files) if ".tmp-" in n)


def _bytes_under(path: Path) -> int:
    total = 0
    for f in [path] if not path.is_dir() else [Path(d, n) for d, _, files in os.walk(path) for n in files]:
        with contextlib.suppress(FileNotFoundError):  # renamed into place meanwhile
            total += f.stat().st_size
    return total


def wait_mid_write(proc: subprocess.Popen, folder: Path, timeout: float = 180) -> None:
    """Wait until the run has written data under a temporary name (at least 64 KB): then it is mid-write."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited early with {proc.returncode}: {proc.stderr.read().decode() if proc.stderr else ''}")
        if sum(_bytes_under(t) for t in temporaries(folder) if ".tmp-" not in t.parent.name) >= 64 * 1024:
            return
        time.sleep(0.05)
    raise AssertionError(f"no temporary output with data under {folder} after {timeout} s")


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "sig"), [
    pytest.param(kind, sig, id=f"{kind}-{sig.name}")
    for kind, sig in [("parquet", signal.SIGTERM), ("duckdb", signal.SIGTERM), ("jsonl", signal.SIGTERM),
                      ("parquet", signal.SIGHUP), ("duckdb", signal.SIGHUP)]
])
def test_signal_mid_run_removes_the_temporary_output(tmp_path, kind, sig):
    """SIGTERM and SIGHUP are handled like Ctrl-C: the temporary output is removed, exit 128 + signal."""
    proc = popen("generate", "--quiet", *BIG_ARGS, "--out", OUTS[kind], cwd=tmp_path)
    try:
        wait_mid_write(proc, tmp_path)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = err.decode()
    assert proc.returncode == 128 + sig, text
    assert f"interrupted by {signal.Signals(sig).name}" in text and "Traceback" not in text, text
    assert temporaries(tmp_path) == []
    # nothing published: the Parquet runs folder (created at the start) stays empty
    assert [p.name for p in tmp_path.rglob("*")] == (["runs"] if kind == "parquet" else [])


@pytest.mark.slow
def test_an_ignored_sighup_stays_ignored(tmp_path):
    """Under nohup (SIGHUP ignored) the run goes on; SIGTERM still stops it cleanly."""
    proc = popen("generate", "--quiet", *BIG_ARGS, "--out", "run.duckdb", cwd=tmp_path,
                 preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    try:
        wait_mid_write(proc, tmp_path)
        proc.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        assert proc.poll() is None, "SIGHUP stopped a run that was started with SIGHUP ignored"
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []


def _age(path: Path, seconds: float) -> None:
    """Set the modification time of path and everything under it `seconds` into the past."""
    when = time.time() - seconds
    for p in [path, *(path.rglob("*") if path.is_dir() else [])]:
        os.utime(p, (when, when))


def _young_and_foreign(folder: Path, kind: str) -> tuple[Path, list[Path]]:
    """A fresh temporary output of the same kind (another run writing it) and names that only look
    like temporaries (not ours): the clean-up must leave all of them."""
    if kind == "parquet":
        young = folder / ".tmp-0123456789abcdef-01234567"
        young.mkdir()
        (young / "part.parquet").write_bytes(b"being written")
        foreign = [folder / ".tmp-notes", folder / "0123456789abcdef.tmp-01234567", folder / ".old-0123456789abcdef-01234567"]
        for f in foreign:
            f.mkdir()
    else:
        suffix = "duckdb" if kind == "duckdb" else "jsonl"
        young = folder / f".other.{suffix}.tmp-89abcdef"
        young.write_bytes(b"being written")
        foreign = [folder / f"other.{suffix}.tmp-89abcdef", folder / f".other.{suffix}.tmp-zz", folder / ".notes.txt.tmp-89abcdef"]
        for f in foreign:
            f.write_bytes(b"not a temporary output of this kind")
    for f in foreign:
        _age(f, 3 * 3600)
    return young, foreign


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["parquet", "duckdb", "jsonl"])
def test_after_sigkill_the_next_run_removes_stale_temporaries_of_its_kind(tmp_path, kind):
    """SIGKILL leaves the temporary output (nothing can run); the next run into the same place
    removes it once it is older than the configured age, says so, and touches nothing else."""
    out = OUTS[kind]
    proc = popen("generate", "--quiet", *BIG_ARGS, "--out", out, cwd=tmp_path)
    try:
        wait_mid_write(proc, tmp_path)
    finally:
        proc.kill()
        proc.communicate(timeout=60)
    folder = tmp_path / "runs" if kind == "parquet" else tmp_path
    killed = [p for p in folder.iterdir() if ".tmp-" in p.name]
    assert killed, "SIGKILL left nothing to clean up?"
    young, foreign = _young_and_foreign(folder, kind)

    # Younger than the age (default an hour): another run may be writing it, so it stays.
    err = ok(cli("generate", "--quiet", *SMALL_ARGS, "--out", out, cwd=tmp_path))
    assert "removed stale" not in err
    assert all(p.exists() for p in killed)

    for p in killed:
        _age(p, 2 * 3600)
    err = ok(cli("generate", "--quiet", *SMALL_ARGS, "--out", out, cwd=tmp_path))
    for p in killed:
        assert not p.exists(), f"{p.name} not removed:\n{err}"
        if not p.name.endswith(".wal"):
            assert re.search(rf"removed stale temporary output \S*{re.escape(p.name)} \(untouched for 2\.0 h\)", err), err
    assert young.exists() and all(f.exists() for f in foreign)

    # The age is configurable: $DRCL_STALE_TMP_S, or --stale-after (which wins).
    env = {**ENV, "DRCL_STALE_TMP_S": "3600"}
    err = ok(cli("generate", "--quiet", *SMALL_ARGS, "--out", out, "--stale-after", "0", cwd=tmp_path, env=env))
    assert not young.exists() and young.name in err
    assert all(f.exists() for f in foreign)
    assert [p for p in temporaries(tmp_path) if p not in foreign] == []


def test_stale_age_setting_is_checked(tmp_path):
    proc = cli("generate", "--quiet", *SMALL_ARGS, "--out", "run.duckdb", cwd=tmp_path, env={**ENV, "DRCL_STALE_TMP_S": "soon"})
    assert proc.returncode == 2 and b"DRCL_STALE_TMP_S" in proc.stderr and b"Traceback" not in proc.stderr
    proc = cli("generate", "--quiet", *SMALL_ARGS, "--out", "run.duckdb", "--stale-after", "-1", cwd=tmp_path)
    assert proc.returncode == 2 and b"--stale-after" in proc.stderr
    assert list(tmp_path.iterdir()) == []
