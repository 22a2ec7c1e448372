"""The Runs page (presenters only) and its shared state in ui/services/runs.py.

Page tests run as a logged-in presenter (the login itself is tested in test_login.py) against a
temporary data/runs (DRCL_RUNS_DIR), so they never touch the repository's runs.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time

import polars as pl
import pytest
from apptest_helpers import first_text, open_data, outside_expanders
from conftest import small
from polars.testing import assert_frame_equal
from streamlit.testing.v1 import AppTest

from engine import metrics, store
from engine.scenario import Scenario
from simulators.run import run_to_sink
from simulators.sinks import ParquetSink
from ui.services import runs
from ui.words import num, t

PAGE = "app_pages/runs.py"
BUILD_VISITORS, BUILD_DAYS = 1_500, 2
SECRETS = {
    "cookie": {"name": "drcl_test", "key": "test-cookie-key-0123456789abcdef0123", "expiry_days": 1},
    "credentials": {"usernames": {"presenter": {"name": "P", "email": "p@example.com",
                                                "password": "$2b$04$" + "a" * 53}}},
    "login_sleep_time": 0,
}


# --- ui/services/runs: pure parts ------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["../etc", "0123456789ABCDEF", "0123456789abcde", "0123456789abcdef/..", "", ".tmp-x"])
def test_run_folder_refuses_anything_but_a_run_id(tmp_path, bad):
    with pytest.raises(store.StoreError):
        runs.run_folder(tmp_path, bad)


def test_run_folder_refuses_a_symlink_out_of_the_root(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    root = tmp_path / "runs"
    root.mkdir()
    (root / "0123456789abcdef").symlink_to(outside, target_is_directory=True)
    with pytest.raises(store.StoreError):
        runs.run_folder(root, "0123456789abcdef")
    assert runs.run_folder(root, "fedcba9876543210") == (root / "fedcba9876543210").resolve()


def test_registry_is_bounded_and_refuses_a_second_build_of_the_same_run():
    reg = runs.Registry(size=3)
    ids = [f"{i:016x}" for i in range(5)]
    for run_id in ids:
        assert reg.start(run_id)
        assert not reg.start(run_id)  # a concurrent build of the same run
        reg.finish(run_id, {"scenario_json": "{}"})
    assert list(reg.snapshot()) == ids[-3:]
    assert reg.start(ids[0])  # finished builds can be built again
    reg.finish(ids[0], None)  # a failed build is not registered
    assert ids[0] not in reg.snapshot() and not reg.building
    reg.forget(ids[-1])
    assert list(reg.snapshot()) == ids[-3:-1]


def test_runs_table_merges_disk_duckdb_and_registry():
    a, b, c = small(), small({"seed": 7}), small({"consent.banner": "no_reject"})
    now = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    disk = [{"path": None, "run_id": a.run_id, "scenario_json": a.canonical_json(), "created_at": now, "visitors": 11,
             "truth_events": 12, "baseline_events": 13, "fullstack_events": 14, "consent_log": 15}]
    imported = store.run_row(a, {"visitors": 11}, "cli").vstack(store.run_row(b, {"visitors": 21}, "cli"))
    built = {c.run_id: {"scenario_json": c.canonical_json(), "created_at": now, "visitors": 31}}
    table = runs.runs_table(disk, imported, built)
    rows = {r["run_id"]: r for r in table.iter_rows(named=True)}
    assert set(rows) == {a.run_id, b.run_id, c.run_id}
    assert (rows[a.run_id]["in_data_runs"], rows[a.run_id]["imported"], rows[a.run_id]["built_here"]) == (True, True, False)
    assert (rows[b.run_id]["in_data_runs"], rows[b.run_id]["imported"], rows[b.run_id]["built_here"]) == (False, True, False)
    assert (rows[c.run_id]["in_data_runs"], rows[c.run_id]["imported"], rows[c.run_id]["built_here"]) == (False, False, True)
    assert [rows[k]["visitors"] for k in (a.run_id, b.run_id, c.run_id)] == [11, 21, 31]
    # in words: no option codes in the listing
    assert "No reject button" in rows[c.run_id]["scenario"] and "no_reject" not in rows[c.run_id]["scenario"]
    assert f"{num(a.traffic.visitors)} visitors" in rows[a.run_id]["scenario"]
    empty = runs.runs_table([], store.list_runs(store.connect()), {})
    assert empty.height == 0 and "scenario" in empty.columns


def test_kpi_columns_are_enough_for_the_kpi_table(base_scenario, base_tables):
    """The page loads only KPI_COLUMNS from DuckDB: the KPIs must equal those of the full tables."""
    con = store.connect()
    store.write_tables(con, base_scenario.run_id,
                       {**base_tables, "runs": store.run_row(base_scenario, {t: f.height for t, f in base_tables.items()}, "test")})
    loaded = runs.load_kpi_tables(con, base_scenario.run_id)
    assert_frame_equal(metrics.kpi_table(loaded, base_scenario), metrics.kpi_table(base_tables, base_scenario))


# --- the page --------------------------------------------------------------------------------------


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    monkeypatch.setenv("DRCL_RUNS_DIR", str(root))
    return root


def presenter_page(present: bool = False) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=120)
    if present:
        at.query_params["present"] = "1"
    at.secrets["auth"] = SECRETS
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "presenter"
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def listing(at: AppTest) -> pl.DataFrame:
    return pl.from_pandas(open_data(at).dataframe[0].value)


def run_dirs(root) -> list[str]:
    return sorted(d.name for d in root.iterdir() if not d.name.startswith(".")) if root.exists() else []


def test_build_import_view_and_delete(runs_dir):
    at = presenter_page()
    assert not at.main.dataframe and any("No runs yet" in i.value for i in at.info)
    # The build follows the sidebar's scenario (banner here) with the page's own size.
    at.sidebar.selectbox(key="consent.banner").set_value("no_reject").run()
    at.number_input(key="runs.visitors").set_value(BUILD_VISITORS)
    at.number_input(key="runs.days").set_value(BUILD_DAYS)
    at.button(key="runs.build").click().run()
    assert not at.exception
    assert at.status and "built" in at.status[0].label and at.status[0].state == "complete"
    [run_id] = run_dirs(runs_dir)
    [on_disk] = store.parquet_runs(runs_dir)
    scenario = Scenario.model_validate_json(on_disk["scenario_json"])
    assert (scenario.traffic.visitors, scenario.traffic.days, scenario.consent.banner) == (BUILD_VISITORS, BUILD_DAYS, "no_reject")
    # The visitors table holds one row per browser: the scenario's people, plus their second devices.
    browsers = pl.read_parquet(runs_dir / run_id / "visitors" / "*" / "*.parquet", hive_partitioning=False)
    assert browsers["person_id"].n_unique() == BUILD_VISITORS and on_disk["visitors"] == browsers.height >= BUILD_VISITORS

    row = listing(at).row(0, named=True)
    assert row["run_id"] == run_id and row["in_data_runs"] and row["built_here"] and not row["imported"]
    assert {k: row[k] for k in runs.COUNT_COLUMNS} == {k: on_disk[k] for k in runs.COUNT_COLUMNS}

    # Import: the run's own KPIs, from the app's DuckDB.
    assert at.button(key="runs.import").disabled
    at.selectbox(key="runs.import_id").set_value(run_id).run()
    at.button(key="runs.import").click().run()
    assert not at.exception and any(run_id in s.value for s in at.success)
    assert listing(at).row(0, named=True)["imported"]
    # one row per rail, the measures in words and the reader's number format
    kpi = {r["Rail"]: r for r in pl.from_pandas(open_data(at).dataframe[1].value).iter_rows(named=True)}
    assert kpi["Truth"]["Visitors"] == num(BUILD_VISITORS)
    full = kpi["Full stack"]["Visitors"]
    assert int(full.replace(",", "")) < BUILD_VISITORS and kpi["Full stack"]["Bounce rate"].endswith("%")
    said = next(m.value for m in at.markdown if m.value.startswith(f"Run {run_id}:"))
    assert f"counted **{full}** visitors of the truth's **{num(BUILD_VISITORS)}**" in said

    # Delete: refused without the confirmation, done with it.
    at.selectbox(key="runs.delete_id").set_value(run_id).run()
    assert at.button(key="runs.delete").disabled  # AppTest, like a browser, cannot click it
    at.checkbox(key="runs.confirm_delete").check().run()
    assert not at.button(key="runs.delete").disabled
    at.button(key="runs.delete").click().run()
    assert not at.exception and any("deleted" in s.value for s in at.success)
    assert run_dirs(runs_dir) == []
    assert not store.has_run(runs.duck(), run_id)
    assert run_id not in runs.registry().snapshot()
    assert not at.checkbox(key="runs.confirm_delete").value
    assert not at.main.dataframe


def test_cli_runs_are_listed_and_unreadable_folders_skipped(runs_dir):
    cli = small({"traffic.visitors": 800, "traffic.days": 1, "seed": 3})
    summary = run_to_sink(cli, ParquetSink(runs_dir))
    (runs_dir / "not-a-run").mkdir()
    (runs_dir / "0123456789abcdef").mkdir()  # a run id without a runs/ table
    at = presenter_page()
    table = listing(at).filter(pl.col("in_data_runs"))  # (runs built by other tests stay in the registry)
    assert table["run_id"].to_list() == [cli.run_id]
    row = table.row(0, named=True)
    assert row["in_data_runs"] and not row["built_here"] and not row["imported"]
    assert row["truth_events"] == summary.truth_events
    assert "800 visitors" in row["scenario"]
    assert at.selectbox(key="runs.import_id").options == [f"{cli.run_id} · {row['scenario']}"]
    # The page leads with what is there, counted from the same listing.
    everything = listing(at)
    assert first_text(at).startswith(f"**{everything.height}** run{'s are' if everything.height > 1 else ' is'} available")
    assert f"**{everything['in_data_runs'].sum()}** as " in first_text(at)
    assert f"cannot be used as runs: **{num(len(runs.listing()[1]))}**" in first_text(at) and runs.listing()[1]


def test_presenter_mode_keeps_the_tables_one_click_away(runs_dir):
    cli = small({"traffic.visitors": 800, "traffic.days": 1, "seed": 3})
    run_to_sink(cli, ParquetSink(runs_dir))
    runs.import_run(cli.run_id)
    at = presenter_page(present=True)
    at.selectbox(key="runs.view_id").set_value(cli.run_id).run()
    assert not at.exception
    assert outside_expanders(at, "dataframe", "download_button", "caption") == []
    open_data(at)
    assert outside_expanders(at, "dataframe", "download_button", "caption") == []
    assert len(at.main.dataframe) == 2 and at.get("download_button")  # the listing and the KPIs, in "Show data"
    runs.delete(cli.run_id)


# --- bad runs on disk (issue 12): refused with the reason, the page keeps working ------------------


def _cli_run(runs_dir, **overrides) -> Scenario:
    scenario = small({"traffic.visitors": 800, "traffic.days": 1, "seed": 5, **overrides})
    run_to_sink(scenario, ParquetSink(runs_dir))
    return scenario


def _break_scenario(run_dir) -> None:
    """The runs row's scenario_json made invalid (what a hand-edited or foreign folder may hold)."""
    [f] = (run_dir / "runs").glob("*/*.parquet")
    frame = pl.read_parquet(f, hive_partitioning=False)
    data = json.loads(frame["scenario_json"][0])
    data["traffic"]["visitors"] = -5
    frame.with_columns(scenario_json=pl.lit(json.dumps(data))).write_parquet(f)


def test_a_run_with_an_invalid_scenario_is_listed_as_unusable_with_the_reason(runs_dir):
    """Before: the run was listed, "imported" and then the page raised on its scenario."""
    good, bad = _cli_run(runs_dir), _cli_run(runs_dir, seed=6)
    _break_scenario(runs_dir / bad.run_id)
    at = presenter_page()
    assert not at.exception
    [warning] = [w.value for w in at.warning if bad.run_id in w.value]
    assert "traffic.visitors" in warning and "not a valid scenario" in warning
    on_disk = listing(at).filter(pl.col("in_data_runs"))["run_id"].to_list()
    assert good.run_id in on_disk and bad.run_id not in on_disk
    assert not any(bad.run_id in o for o in at.selectbox(key="runs.import_id").options)
    with pytest.raises(store.StoreError, match=r"traffic\.visitors"):
        runs.import_run(bad.run_id)
    assert not store.has_run(runs.duck(), bad.run_id)

    # ... and it can be deleted from the page.
    at.selectbox(key="runs.delete_id").set_value(bad.run_id).run()
    at.checkbox(key="runs.confirm_delete").check().run()
    at.button(key="runs.delete").click().run()
    assert not at.exception and not (runs_dir / bad.run_id).exists()
    assert not [w for w in at.warning if bad.run_id in w.value]


def test_an_import_that_fails_its_checks_shows_the_reason_and_loads_nothing(runs_dir, monkeypatch):
    """The folder changes between the listing and the click (or is too big): the reason, no exception."""
    broken, big = _cli_run(runs_dir), _cli_run(runs_dir, seed=7)
    at = presenter_page()
    at.selectbox(key="runs.import_id").set_value(broken.run_id).run()
    _break_scenario(runs_dir / broken.run_id)
    at.button(key="runs.import").click().run()
    assert not at.exception
    assert any(broken.run_id in e.value for e in at.error)
    assert any("traffic.visitors" in c.value for c in at.code)
    assert not store.has_run(runs.duck(), broken.run_id)

    # Too many rows for the budget: refused from the Parquet footers, before anything is loaded.
    monkeypatch.setenv("DRCL_IMPORT_MAX_ROWS", "1000")
    at.selectbox(key="runs.import_id").set_value(big.run_id).run()
    at.button(key="runs.import").click().run()
    assert not at.exception
    assert any(big.run_id in e.value for e in at.error)
    assert any("above the limit of 1,000 rows per table" in c.value for c in at.code)
    assert not store.has_run(runs.duck(), big.run_id)
    assert not listing(at).filter(pl.col("run_id") == big.run_id)["imported"].any()


def test_a_build_first_removes_stale_temporary_folders_and_says_so(runs_dir):
    """After a SIGKILL nothing cleans up; the next build removes what is older than the configured age."""
    runs_dir.mkdir(parents=True)
    stale, young = runs_dir / ".tmp-0123456789abcdef-01234567", runs_dir / ".tmp-fedcba9876543210-89abcdef"
    foreign = runs_dir / ".tmp-notes"
    for d in (stale, young, foreign):
        (d / "truth_events" / "date=2026-11-02").mkdir(parents=True)
        (d / "truth_events" / "date=2026-11-02" / "part-00000.parquet").write_bytes(b"half a file")
    two_hours_ago = time.time() - 7200
    for d in (stale, foreign):
        for p in [d, *d.rglob("*")]:
            os.utime(p, (two_hours_ago, two_hours_ago))
    at = presenter_page()
    at.number_input(key="runs.visitors").set_value(BUILD_VISITORS)
    at.number_input(key="runs.days").set_value(BUILD_DAYS)
    at.button(key="runs.build").click().run()
    assert not at.exception and at.status[0].state == "complete"
    assert any(stale.name in c.value and "2.0 h" in c.value for c in at.caption)
    assert not stale.exists()
    assert young.exists() and foreign.exists()  # another build may be writing it; not ours


def test_open_in_the_app_shows_the_run_on_the_overview(runs_dir):
    cli = small({"traffic.visitors": 700, "traffic.days": 1, "seed": 8})
    run_to_sink(cli, ParquetSink(runs_dir))
    at = presenter_page()
    # The default build is one a 2-core machine finishes in under a minute (benchmarks/runs_build.py).
    assert at.number_input(key="runs.visitors").value == runs.DEFAULT_BUILD_VISITORS
    assert at.selectbox(key="runs.open_id").value == cli.run_id
    at.button(key="runs.open").click().run()
    assert not at.exception
    assert at.query_params["run"] == cli.run_id
    assert any(cli.run_id in m.value for m in at.sidebar.markdown)  # the Overview, showing the stored run
    assert at.title[0].value == t("overview.title")
