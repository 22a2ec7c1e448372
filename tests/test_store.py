"""Tests of engine.store on real DuckDB files: writes, atomicity, Parquet, schema coverage, retention."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

os.environ.setdefault("DRCL_HASH_KEY", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from engine import retention, schema, store
from engine.scenario import apply_overrides, load_preset
from simulators.run import build_run

DAY = dt.timedelta(days=1)


# --- fixtures -----------------------------------------------------------------------------------


def _run(overrides: dict) -> tuple:
    scenario = apply_overrides(load_preset("eu_shop"), overrides)
    tables = build_run(scenario)
    return scenario, {**tables, "runs": store.run_row(scenario, {t: f.height for t, f in tables.items()}, "test")}


@pytest.fixture(scope="module")
def run_a():
    """eu_shop, small: 2,000 visitors over 3 days (all six frames, runs row included)."""
    return _run({"traffic.visitors": 2000, "traffic.days": 3})


@pytest.fixture(scope="module")
def run_b():
    """A second, different run for multi-run stores."""
    return _run({"traffic.visitors": 1000, "traffic.days": 2, "seed": 5})


def _store(tmp_path, name: str = "store.duckdb", *runs) -> duckdb.DuckDBPyConnection:
    con = store.connect(tmp_path / name)
    for scenario, frames in runs:
        store.write_tables(con, scenario.run_id, frames)
    return con


@pytest.fixture
def con_a(tmp_path, run_a):
    con = _store(tmp_path, "a.duckdb", run_a)
    yield con
    con.close()


def count(con, table: str, run_id: str | None = None) -> int:
    if run_id is None:
        return int(store.query(con, f'SELECT count(*) AS n FROM "{table}"')["n"][0])
    return int(store.query(con, f'SELECT count(*) AS n FROM "{table}" WHERE run_id = ?', [run_id])["n"][0])


def _utc(frame: pl.DataFrame) -> pl.DataFrame:
    """Datetimes in one spelling of UTC (DuckDB hands back its session zone, e.g. Etc/UTC)."""
    return frame.with_columns(pl.col(pl.Datetime).dt.convert_time_zone("UTC"))


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns, nulls_last=True)


def _all_rows(con, table: str) -> pl.DataFrame:
    return _utc(store.query(con, f'SELECT * FROM "{table}" ORDER BY ALL'))


# --- 1. write / load roundtrip ------------------------------------------------------------------


@pytest.mark.parametrize("table", store.TABLES)
def test_write_load_roundtrip(con_a, run_a, table):
    scenario, frames = run_a
    expected = store.conform(table, frames[table], scenario.run_id)
    assert expected.height > 0
    loaded = store.load_table(con_a, table, scenario.run_id)
    assert loaded.columns == [c for c in schema.dtypes(table) if c != "run_id"]
    for col, dtype in loaded.schema.items():
        want = schema.dtypes(table)[col]
        if isinstance(want, pl.Datetime):
            assert isinstance(dtype, pl.Datetime) and dtype.time_unit == "us" and dtype.time_zone in {"UTC", "Etc/UTC"}, (col, dtype)
        else:
            assert dtype == want, (col, dtype, want)
    assert_frame_equal(_sorted(_utc(loaded)), _sorted(expected.drop("run_id")), check_exact=True)


def test_load_table_columns_and_errors(con_a, run_a):
    scenario, frames = run_a
    part = store.load_table(con_a, "truth_events", scenario.run_id, ["event_id", "url"])
    assert part.columns == ["event_id", "url"]
    assert sorted(part["event_id"].to_list()) == sorted(frames["truth_events"]["event_id"].to_list())
    assert store.load_table(con_a, "truth_events", "0" * 16).height == 0
    with pytest.raises(store.StoreError, match="unknown table"):
        store.load_table(con_a, "nope", scenario.run_id)
    with pytest.raises(store.StoreError, match="no_such_col"):
        store.load_table(con_a, "visitors", scenario.run_id, ["visitor_id", "no_such_col"])


def test_list_runs_and_has_run(tmp_path, run_a, run_b):
    con = _store(tmp_path, "runs.duckdb", run_a)
    try:
        (sa, fa), (sb, fb) = run_a, run_b
        assert store.has_run(con, sa.run_id)
        assert not store.has_run(con, sb.run_id)
        store.write_tables(con, sb.run_id, fb)
        assert store.has_run(con, sb.run_id)
        runs = store.list_runs(con)
        # newest first: run_b's runs row was created after run_a's
        assert fb["runs"]["created_at"][0] > fa["runs"]["created_at"][0]
        assert runs["run_id"].to_list() == [sb.run_id, sa.run_id]
        row = runs.filter(pl.col("run_id") == sa.run_id).row(0, named=True)
        for t in store.DATA_TABLES:
            assert row[t] == fa[t].height == count(con, t, sa.run_id)
        assert row["traffic_key"] == sa.traffic_key
        assert store.scenario_of(con, sa.run_id) == sa.model_dump(mode="json")
    finally:
        con.close()


# --- 2. atomic writes ---------------------------------------------------------------------------


def test_write_tables_is_all_or_nothing(tmp_path, run_a):
    scenario, frames = run_a
    rid = scenario.run_id
    con = _store(tmp_path, "atomic.duckdb")
    try:
        store.write_tables(con, rid, {"visitors": frames["visitors"]})  # committed before the bad call
        bad = frames["consent_log"].drop("anonymous_id")
        with pytest.raises(store.StoreError, match=r"consent_log.*anonymous_id"):
            store.write_tables(con, rid, {
                "visitors": frames["visitors"],
                "truth_events": frames["truth_events"],
                "consent_log": bad,
            })
        assert count(con, "visitors", rid) == frames["visitors"].height  # not doubled
        for t in ("runs", "truth_events", "consent_log", "baseline_events", "fullstack_events"):
            assert count(con, t, rid) == 0, f"{t} kept rows of a failed write"

        with pytest.raises(store.StoreError, match="unknown table"):
            store.write_tables(con, rid, {"truth_events": frames["truth_events"], "nope": frames["truth_events"]})
        assert count(con, "truth_events", rid) == 0

        # a value that cannot take the column's type: an error, and the earlier table is rolled back
        wrong_type = frames["fullstack_events"].with_columns(event_id=pl.lit("not a number"))
        with pytest.raises((pl.exceptions.PolarsError, store.StoreError)):
            store.write_tables(con, rid, {"baseline_events": frames["baseline_events"], "fullstack_events": wrong_type})
        assert count(con, "baseline_events", rid) == 0
        assert count(con, "fullstack_events", rid) == 0

        # the connection has no transaction left open: a good write still lands, and is durable
        store.write_tables(con, rid, {"truth_events": frames["truth_events"]})
    finally:
        con.close()
    ro = store.connect(tmp_path / "atomic.duckdb", read_only=True)
    try:
        assert count(ro, "truth_events", rid) == frames["truth_events"].height
        assert count(ro, "visitors", rid) == frames["visitors"].height
        assert count(ro, "consent_log", rid) == 0
    finally:
        ro.close()


# --- 3. Parquet export / import -----------------------------------------------------------------


def test_export_import_roundtrip(tmp_path, con_a, run_a):
    scenario, frames = run_a
    rid = scenario.run_id
    root = tmp_path / "parquet"
    run_dir = store.export_parquet(con_a, rid, root)
    assert run_dir == root / rid
    assert [p.name for p in root.iterdir()] == [rid], "a .tmp-* folder was left behind"
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(store.TABLES)
    for t in store.TABLES:
        assert any((run_dir / t).glob("date=*/*.parquet")), f"{t} has no Parquet files"

    fresh = store.connect(tmp_path / "fresh.duckdb")
    try:
        assert store.import_parquet(fresh, run_dir) == rid
        for t in store.TABLES:
            assert count(fresh, t) == frames[t].height
            assert_frame_equal(_all_rows(fresh, t), _all_rows(con_a, t), check_exact=True)
        # importing again replaces the run, it does not append a second copy
        store.import_parquet(fresh, run_dir)
        for t in store.TABLES:
            assert count(fresh, t) == frames[t].height
    finally:
        fresh.close()

    # exporting again replaces the folder, still without temporary leftovers
    store.export_parquet(con_a, rid, root)
    assert [p.name for p in root.iterdir()] == [rid]
    assert store.parquet_runs(root)[0]["run_id"] == rid


def test_import_rejects_folders_that_are_not_runs(tmp_path, con_a, run_a):
    rid = run_a[0].run_id
    before = {t: count(con_a, t) for t in store.TABLES}

    not_an_id = tmp_path / "not-a-run"
    not_an_id.mkdir()
    with pytest.raises(store.StoreError, match="not a run id"):
        store.import_parquet(con_a, not_an_id)

    empty = tmp_path / "x" / "0123456789abcdef"
    empty.mkdir(parents=True)
    with pytest.raises(store.StoreError, match="not a run folder"):
        store.import_parquet(con_a, empty)

    # the run's own id with unreadable Parquet: a StoreError, and the stored run is not touched
    junk = tmp_path / "junk" / rid
    (junk / "runs" / "date=2026-11-02").mkdir(parents=True)
    (junk / "runs" / "date=2026-11-02" / "part-00000.parquet").write_bytes(b"this is not parquet")
    with pytest.raises(store.StoreError, match="cannot import"):
        store.import_parquet(con_a, junk)
    assert {t: count(con_a, t) for t in store.TABLES} == before


def test_export_unknown_run_raises(tmp_path, con_a):
    root = tmp_path / "parquet"
    with pytest.raises(store.StoreError, match="no run 0123456789abcdef"):
        store.export_parquet(con_a, "0123456789abcdef", root)
    with pytest.raises(store.StoreError, match="not a run id"):
        store.export_parquet(con_a, "../../etc", root)
    assert not root.exists()


# --- 4. every stored column is classified -------------------------------------------------------


def test_every_column_is_classified_both_ways(tmp_path):
    con = store.connect(tmp_path / "fresh.duckdb")
    try:
        cols = store.query(
            con,
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' "
            "ORDER BY table_name, ordinal_position",
        )
    finally:
        con.close()
    stored = {t: cols.filter(pl.col("table_name") == t)["column_name"].to_list() for t in cols["table_name"].unique()}
    assert set(stored) == set(store.TABLES) == set(schema.TABLES)
    for t, names in stored.items():
        assert not (set(names) - set(schema.TABLES[t])), f"{t}: stored but unclassified"
        assert not (set(schema.TABLES[t]) - set(names)), f"{t}: classified but not stored"
        assert names == list(schema.dtypes(t)), f"{t}: DDL column order differs from SCHEMAS"
    # the retention clock of every table is a stored timestamp column
    for t, clock in schema.RETENTION_CLOCK.items():
        row = cols.filter((pl.col("table_name") == t) & (pl.col("column_name") == clock))
        assert row.height == 1 and row["data_type"][0].startswith("TIMESTAMP"), (t, clock)


# --- 5. retention -------------------------------------------------------------------------------


def _levels(table: str, frame: pl.DataFrame) -> pl.Series:
    """Oracle: each row's PII level = highest level among its non-null classified columns (with the floor)."""
    floor = int(schema.RETENTION_FLOOR.get(table, schema.Level.NONE))
    exprs = [pl.when(pl.col(c).is_not_null()).then(int(col.level)).otherwise(0) for c, col in schema.TABLES[table].items()]
    return frame.select(pl.max_horizontal(pl.lit(floor), *exprs).alias("level"))["level"]


def _expected(table: str, frame: pl.DataFrame, now: dt.datetime) -> pl.DataFrame:
    """Oracle: rows and rows past retention per level, computed in polars from the classification."""
    clock = frame[schema.RETENTION_CLOCK[table]]
    f = pl.DataFrame({"level": _levels(table, frame), "clock": clock})
    days = {int(lv): d for lv, d in schema.RETENTION_DAYS.items()}
    f = f.with_columns(
        expired=pl.struct("level", "clock").map_elements(
            lambda r: days[r["level"]] is not None and r["clock"] is not None and r["clock"] < now - dt.timedelta(days=days[r["level"]]),
            return_dtype=pl.Boolean,
        )
    )
    return f.group_by("level").agg(rows=pl.len(), expired=pl.col("expired").sum()).sort("level")


def _stored(con, table: str, rid: str) -> pl.DataFrame:
    return _utc(store.load_table(con, table, rid, list(schema.dtypes(table))))


def _report_for(report: pl.DataFrame, table: str) -> pl.DataFrame:
    return report.filter(pl.col("table") == table).select(
        pl.col("level").cast(pl.Int64), pl.col("rows").cast(pl.Int64), pl.col("expired").cast(pl.Int64)
    ).sort("level")


def _bounds(frames: dict) -> tuple[dt.datetime, dt.datetime]:
    ts = frames["truth_events"]["ts"]
    return ts.min(), ts.max()


def test_retention_nothing_expires_a_day_after_the_run(con_a, run_a):
    scenario, frames = run_a
    rid = scenario.run_id
    last = max(frames[t]["ts"].max() for t in ("truth_events", "baseline_events", "fullstack_events"))
    now = last + DAY
    report = store.retention_report(con_a, rid, now)
    assert set(report["table"].unique()) == set(store.DATA_TABLES)
    for t in store.DATA_TABLES:
        assert report.filter(pl.col("table") == t)["rows"].sum() == frames[t].height
    for t in ("fullstack_events", "baseline_events"):
        assert report.filter(pl.col("table") == t)["expired"].sum() == 0
    deleted = store.purge_expired(con_a, now, rid)
    assert set(deleted) == set(store.DATA_TABLES)
    for t in store.DATA_TABLES:
        assert deleted[t] == report.filter(pl.col("table") == t)["expired"].sum()
    assert deleted["fullstack_events"] == deleted["baseline_events"] == 0
    assert count(con_a, "fullstack_events", rid) == frames["fullstack_events"].height
    assert count(con_a, "baseline_events", rid) == frames["baseline_events"].height


def test_retention_report_matches_the_classification(con_a, run_a):
    """At several `now`s the report equals an independent polars computation, per table and level."""
    scenario, frames = run_a
    rid = scenario.run_id
    first, last = _bounds(frames)
    for now in (last + DAY, first + 40 * DAY, first + 100 * DAY, first + 800 * DAY):
        report = store.retention_report(con_a, rid, now)
        for t in store.DATA_TABLES:
            want = _expected(t, _stored(con_a, t, rid), now)
            assert _report_for(report, t).to_dicts() == want.to_dicts(), (t, now)
        names = dict(zip(report["level"].to_list(), report["level_name"].to_list(), strict=True))
        assert all(schema.Level(lv).name == name for lv, name in names.items())
        assert all(
            schema.RETENTION_DAYS[schema.Level(lv)] == d
            for lv, d in zip(report["level"].to_list(), report["retention_days"].to_list(), strict=True)
        )


def test_retention_high_level_expires_after_30_days(con_a, run_a):
    scenario, frames = run_a
    rid = scenario.run_id
    first, last = _bounds(frames)
    assert last < first + 10 * DAY  # the run is short, so 40 days after it starts HIGH (30 d) has expired, MEDIUM (90 d) not
    report = store.retention_report(con_a, rid, first + 40 * DAY)
    fs = frames["fullstack_events"]
    n_user = fs.filter(pl.col("user_id").is_not_null()).height
    assert n_user > 0
    assert report.filter(pl.col("table") == "fullstack_events")["expired"].sum() == n_user
    # every truth event carries its raw URL (HIGH); every visitor a raw IP (HIGH) or e-mail (CRITICAL)
    assert report.filter(pl.col("table") == "truth_events")["expired"].sum() == frames["truth_events"].height
    assert report.filter(pl.col("table") == "visitors")["expired"].sum() == frames["visitors"].height


def test_retention_purge_after_100_days_keeps_only_low_and_none(con_a, run_a):
    scenario, frames = run_a
    rid = scenario.run_id
    first, _ = _bounds(frames)
    now = first + 100 * DAY
    before = store.retention_report(con_a, rid, now)
    held = {t: _levels(t, _stored(con_a, t, rid)) for t in store.DATA_TABLES}
    for t in store.DATA_TABLES:
        rep = before.filter(pl.col("table") == t)
        expired = rep["expired"].sum()
        medium_up = int((held[t] >= int(schema.Level.MEDIUM)).sum())
        assert expired == medium_up, f"{t}: {expired} expired, {medium_up} rows at MEDIUM or above"
        assert rep.filter(pl.col("level") < int(schema.Level.MEDIUM))["expired"].sum() == 0
    fs = frames["fullstack_events"]
    hashed = fs.filter(pl.any_horizontal([pl.col(c).is_not_null() for c in ("device_id", "session_id", "ua_hash", "user_id", "gclid", "ip_truncated")]))
    assert before.filter(pl.col("table") == "fullstack_events")["expired"].sum() == hashed.height
    assert 0 < hashed.height < fs.height  # both kinds present, so the purge below is a real test

    deleted = store.purge_expired(con_a, now, rid)
    for t in store.DATA_TABLES:
        assert deleted[t] == before.filter(pl.col("table") == t)["expired"].sum(), t
        assert count(con_a, t, rid) == int((held[t] < int(schema.Level.MEDIUM)).sum()), t

    after = store.retention_report(con_a, rid, now)
    assert after["expired"].sum() == 0
    assert after.is_empty() or after["level"].max() < int(schema.Level.MEDIUM)
    kept = _stored(con_a, "fullstack_events", rid)
    assert kept.height == fs.height - hashed.height
    assert kept.filter(pl.col("device_id").is_not_null() | pl.col("user_id").is_not_null() | pl.col("ua_hash").is_not_null()).height == 0
    # a second purge at the same time finds nothing more
    assert sum(store.purge_expired(con_a, now, rid).values()) == 0


def test_purge_is_limited_to_its_run(tmp_path, run_a, run_b):
    con = _store(tmp_path, "two.duckdb", run_a, run_b)
    try:
        (sa, fa), (sb, fb) = run_a, run_b
        now = max(_bounds(fa)[1], _bounds(fb)[1]) + 1000 * DAY
        deleted = store.purge_expired(con, now, sa.run_id)
        assert sum(deleted.values()) > 0
        for t in store.DATA_TABLES:
            assert count(con, t, sb.run_id) == fb[t].height
        # without a run id, every run is purged
        store.purge_expired(con, now)
        assert count(con, "truth_events", sb.run_id) == 0
    finally:
        con.close()


def test_consent_log_never_below_low(con_a, run_a):
    scenario, frames = run_a
    rid = scenario.run_id
    report = store.retention_report(con_a, rid, _bounds(frames)[1] + DAY)
    levels = report.filter(pl.col("table") == "consent_log")["level"].to_list()
    assert levels and min(levels) >= int(schema.Level.LOW)

    # a row whose only non-null columns are NONE-level: LOW in the consent log, NONE elsewhere
    none_cols = {t: [c for c, col in schema.TABLES[t].items() if col.level == schema.Level.NONE and c != "run_id"]
                 for t in ("consent_log", "fullstack_events")}
    rid2 = "00000000000000ff"
    for t, cols in none_cols.items():
        src = frames[t].head(1)
        row = src.select([pl.col(c) if c in cols else pl.lit(None, dtype=schema.dtypes(t)[c]).alias(c)
                          for c in schema.dtypes(t) if c != "run_id"])
        store.write_tables(con_a, rid2, {t: row})
        level = store.query(con_a, f'SELECT {retention.row_level_sql(t)} AS level FROM "{t}" WHERE run_id = ?', [rid2])["level"]
        want = schema.Level.LOW if t == "consent_log" else schema.Level.NONE
        assert level.to_list() == [int(want)], t
    # the floored consent row is reported at LOW with LOW's retention
    rep = store.retention_report(con_a, rid2, _bounds(frames)[1] + DAY).filter(pl.col("table") == "consent_log")
    assert rep["level_name"].to_list() == ["LOW"]
    assert rep["retention_days"].to_list() == [schema.RETENTION_DAYS[schema.Level.LOW]]


# --- 6. delete_run ------------------------------------------------------------------------------


def test_delete_run_removes_one_run_everywhere(tmp_path, run_a, run_b):
    con = _store(tmp_path, "two.duckdb", run_a, run_b)
    try:
        (sa, fa), (sb, fb) = run_a, run_b
        keep_before = {t: _all_rows(con, t).filter(pl.col("run_id") == sb.run_id) for t in store.TABLES}
        for t in store.TABLES:
            assert count(con, t, sa.run_id) == fa[t].height > 0
        store.delete_run(con, sa.run_id)
        assert not store.has_run(con, sa.run_id)
        assert store.has_run(con, sb.run_id)
        for t in store.TABLES:
            assert count(con, t, sa.run_id) == 0, t
            assert count(con, t) == fb[t].height, t
            assert_frame_equal(_all_rows(con, t), keep_before[t], check_exact=True)
        assert store.list_runs(con)["run_id"].to_list() == [sb.run_id]
        # deleting an unknown run is a no-op
        store.delete_run(con, "0123456789abcdef")
        assert count(con, "truth_events") == fb["truth_events"].height
    finally:
        con.close()


def test_read_parquet_run_gives_the_tables_back(tmp_path, con_a, run_a):
    scenario, frames = run_a
    run_dir = store.export_parquet(con_a, scenario.run_id, tmp_path / "pq")
    back = store.read_parquet_run(run_dir)
    assert set(back) == set(store.DATA_TABLES)
    for t in store.DATA_TABLES:
        want = _sorted(_utc(store.conform(t, frames[t], scenario.run_id).drop("run_id")))
        assert _sorted(_utc(back[t])).equals(want), t


# --- 7. imports that can't hurt (issue 12): checked before anything is loaded -------------------


def _runs_file(run_dir: Path) -> Path:
    [f] = sorted((run_dir / "runs").glob("*/*.parquet"))
    return f


def _edit_runs_row(run_dir, edit) -> None:
    f = _runs_file(run_dir)
    edit(pl.read_parquet(f, hive_partitioning=False)).write_parquet(f)


def _other_scenario_json(scenario, **traffic) -> str:
    data = json.loads(scenario.canonical_json())
    data["traffic"].update(traffic)
    return json.dumps(data)


BAD_RUNS_ROWS = {
    "not-json": (lambda s, f: f.with_columns(scenario_json=pl.lit("{not json")), "not a valid scenario"),
    "invalid-field": (lambda s, f: f.with_columns(scenario_json=pl.lit(_other_scenario_json(s, visitors=-5))),
                      "traffic.visitors"),
    "past-year-9999": (lambda s, f: f.with_columns(scenario_json=pl.lit(_other_scenario_json(s, start_date="9999-12-30"))),
                       "traffic.start_date"),
    "another-runs-scenario": (lambda s, f: f.with_columns(scenario_json=pl.lit(_other_scenario_json(s, visitors=1234))),
                              "not of"),
    "another-run-id": (lambda s, f: f.with_columns(run_id=pl.lit("0123456789abcdef")), "for run '0123456789abcdef'"),
    "two-rows": (lambda s, f: pl.concat([f, f]), "2 rows"),
    "no-count-column": (lambda s, f: f.drop("truth_events"), "lacks the columns ['truth_events']"),
    "no-scenario": (lambda s, f: f.with_columns(scenario_json=pl.lit(None, pl.String)), "no scenario_json"),
}


@pytest.mark.parametrize("case", BAD_RUNS_ROWS)
def test_a_run_with_a_bad_runs_row_is_refused_before_loading(tmp_path, con_a, run_a, case):
    """Before: import_parquet loaded any runs row ("imported"), and the Runs page broke on it."""
    scenario, _ = run_a
    edit, reason = BAD_RUNS_ROWS[case]
    root = tmp_path / "pq"
    run_dir = store.export_parquet(con_a, scenario.run_id, root)
    _edit_runs_row(run_dir, lambda f: edit(scenario, f))
    fresh = store.connect()
    with pytest.raises(store.StoreError, match="cannot import") as err:
        store.import_parquet(fresh, run_dir)
    assert reason in str(err.value)
    assert {t: count(fresh, t) for t in store.TABLES} == dict.fromkeys(store.TABLES, 0)
    with pytest.raises(store.StoreError, match=re.escape(reason)):
        store.read_parquet_run(run_dir)
    # the listing leaves it out and says why, instead of handing the page a row it cannot show
    problems: dict[str, str] = {}
    assert store.parquet_runs(root, problems) == []
    assert reason in problems[scenario.run_id]


def test_a_data_file_without_its_tables_columns_is_refused(tmp_path, con_a, run_a):
    scenario, _ = run_a
    run_dir = store.export_parquet(con_a, scenario.run_id, tmp_path / "pq")
    f = sorted((run_dir / "consent_log").glob("*/*.parquet"))[0]
    pl.read_parquet(f, hive_partitioning=False).drop("granted").write_parquet(f)  # would load as nulls
    with pytest.raises(store.StoreError, match=r"consent_log: .* lacks the columns \['granted'\]"):
        store.import_parquet(store.connect(), run_dir)


def test_import_budget_reads_row_counts_from_the_footers_not_the_file_size(tmp_path, con_a, run_a, monkeypatch):
    """Before: a small Parquet file that expands to millions of rows was loaded whole (5 GB for 13
    million rows). The budget is checked on the row counts in the files' footers."""
    scenario, frames = run_a
    run_dir = store.export_parquet(con_a, scenario.run_id, tmp_path / "pq")
    legit = sorted((run_dir / "truth_events").glob("*/*.parquet"))[0]
    bomb = legit.with_name("bomb.parquet")
    row = pl.read_parquet(legit, hive_partitioning=False).head(1)
    row.select(pl.all().gather([0] * 300_000)).write_parquet(bomb)  # one row, 300,000 times: compresses to little
    assert bomb.stat().st_size < legit.stat().st_size  # a size limit would let it through
    con = store.connect()
    with pytest.raises(store.StoreError, match=r"truth_events has 3\d\d,\d{3} rows, above the limit of 250,000 rows per table"):
        store.import_parquet(con, run_dir, max_rows=250_000)
    assert count(con, "truth_events") == 0 and count(con, "runs") == 0
    with pytest.raises(store.StoreError, match="above the limit"):
        store.read_parquet_run(run_dir, max_rows=250_000)

    # The default limit comes from DRCL_IMPORT_MAX_ROWS.
    bomb.unlink()
    monkeypatch.setenv("DRCL_IMPORT_MAX_ROWS", str(frames["truth_events"].height - 1))
    with pytest.raises(store.StoreError, match="DRCL_IMPORT_MAX_ROWS"):
        store.import_parquet(con, run_dir)
    monkeypatch.setenv("DRCL_IMPORT_MAX_ROWS", str(frames["truth_events"].height))
    assert store.import_parquet(con, run_dir) == scenario.run_id
    assert count(con, "truth_events") == frames["truth_events"].height
    monkeypatch.setenv("DRCL_IMPORT_MAX_ROWS", "lots")
    with pytest.raises(store.StoreError, match="DRCL_IMPORT_MAX_ROWS must be"):
        store.import_parquet(con, run_dir)


def test_a_runs_folder_with_millions_of_runs_rows_is_not_read_by_the_listing(tmp_path, con_a, run_a):
    """The listing reads each folder's runs row: one folder's runs/ blown up must not be read whole."""
    scenario, _ = run_a
    root = tmp_path / "pq"
    run_dir = store.export_parquet(con_a, scenario.run_id, root)
    f = _runs_file(run_dir)
    pl.read_parquet(f, hive_partitioning=False).select(pl.all().gather([0] * 200_000)).write_parquet(f)
    problems: dict[str, str] = {}
    assert store.parquet_runs(root, problems) == []
    assert "200,000 rows" in problems[scenario.run_id]


# --- stores written by an older version ---------------------------------------------------------

# Columns the registry gained after stores were first written (second devices; the quality columns).
NEWER_COLUMNS = {"visitors": ("person_id",), "truth_events": ("person_id",),
                 "fullstack_events": ("client_ts", "received_at", "sample_rate")}


def test_an_older_store_gains_the_new_columns_and_takes_new_runs(tmp_path, run_a, run_b):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'UTC'")
    scenario_a, frames_a = run_a
    for t in store.TABLES:  # the tables as an older version created them, holding run A
        cols = [c for c in schema.TABLES[t] if c not in NEWER_COLUMNS.get(t, ())]
        con.execute(f'CREATE TABLE "{t}" ({", ".join(f"{chr(34)}{c}{chr(34)} {schema.duck_type(t, c)}" for c in cols)})')
        old = store.conform(t, frames_a[t], scenario_a.run_id).select(cols)  # noqa: F841 (read by DuckDB)
        con.execute(f'INSERT INTO "{t}" SELECT * FROM old')
    con.close()

    con = store.connect(path)  # a writer opening it brings it up to date
    for t, new in NEWER_COLUMNS.items():
        held = {r[0] for r in con.execute(f'DESCRIBE "{t}"').fetchall()}
        assert set(new) <= held
        assert count(con, t, scenario_a.run_id) == frames_a[t].height
        nulls = store.query(con, f'SELECT count(*) AS n FROM "{t}" WHERE "{new[0]}" IS NULL AND run_id = ?', [scenario_a.run_id])
        assert nulls["n"][0] == frames_a[t].height  # the old rows keep their values and lack the new ones
    scenario_b, frames_b = run_b
    store.write_tables(con, scenario_b.run_id, frames_b)  # inserted by name despite the column order
    for t in store.DATA_TABLES:
        got = _utc(store.load_table(con, t, scenario_b.run_id))
        want = _utc(store.conform(t, frames_b[t], scenario_b.run_id)).drop("run_id")
        assert_frame_equal(_sorted(got.select(want.columns)), _sorted(want), check_dtypes=False)
    con.close()
    assert store.connect(path, read_only=True).execute('SELECT count(*) FROM "visitors"').fetchone()[0] == (
        frames_a["visitors"].height + frames_b["visitors"].height)
