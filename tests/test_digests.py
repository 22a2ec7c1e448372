"""Pinned table digests of small runs: the in-process pipeline, the CLI (DuckDB file and Parquet run) and
the app's cache layer must all give these exact tables. A refactoring that changes a single value fails
here. If a change is meant to alter stored data (a new column, another hash), update the pins in the same
commit and say why in its message.

The digests depend on the fixed test hash key set in conftest.py.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from engine import store
from engine.scenario import Scenario, apply_overrides, load_preset
from simulators.run import build_run

DATA_TABLES = ("visitors", "truth_events", "consent_log", "baseline_events", "fullstack_events")

SCENARIOS: dict[str, tuple[str, dict]] = {
    "eu_shop": ("eu_shop", {"traffic.visitors": 3000, "traffic.days": 10, "seed": 11}),
    "eu_shop_basic": ("eu_shop", {"traffic.visitors": 3000, "traffic.days": 10, "seed": 11, "consent.mode": "basic"}),
    "us_content_variants": (
        "content_site",
        {
            "traffic.visitors": 2500, "traffic.days": 9, "seed": 5, "consent.banner": "no_reject",
            "masking.store_truncated_ip": True, "masking.key_rotation": "fixed", "rails.baseline_salt": "fixed",
            "rails.server_side_proxy": True,
        },
    ),
}

# sha256 (first 16 hex digits) of each table sorted by all its columns and written as CSV.
PINNED: dict[str, dict[str, str]] = {
    "eu_shop": {
        "visitors": "fd2844fc567bbe66",
        "truth_events": "f2ffc56700e27a4c",
        "consent_log": "4d4254897316ed13",
        "baseline_events": "e419cb9363937df6",
        "fullstack_events": "b75b04f07042f4cf",
    },
    "eu_shop_basic": {
        "visitors": "fd2844fc567bbe66",
        "truth_events": "f2ffc56700e27a4c",
        "consent_log": "4d4254897316ed13",
        "baseline_events": "e419cb9363937df6",
        "fullstack_events": "107fe267448bcf88",
    },
    "us_content_variants": {
        "visitors": "6361d4af285cb665",
        "truth_events": "c5c7d41efe911469",
        "consent_log": "665ecdf473305b5b",
        "baseline_events": "df5f9c63c1836a9f",
        "fullstack_events": "c181e63b4403174a",
    },
}


# The visitors digests before the general-audience fingerprint population became the default: the
# volunteers' population must reproduce them exactly (only screen, WebGL, fonts, canvas and plugins differ).
VOLUNTEERS_VISITORS = {"eu_shop": "c20980ff72432648", "us_content_variants": "b4ddd11944c54a06"}


@pytest.mark.parametrize("name", sorted(VOLUNTEERS_VISITORS))
def test_volunteers_population_reproduces_the_old_visitors(name):
    tables = build_run(apply_overrides(scenario_of(name), {"traffic.fingerprint_population": "volunteers"}))
    assert digests(tables) == PINNED[name] | {"visitors": VOLUNTEERS_VISITORS[name]}


def scenario_of(name: str) -> Scenario:
    preset, over = SCENARIOS[name]
    return apply_overrides(load_preset(preset), over)


def digest(frame: pl.DataFrame) -> str:
    cols = sorted(c for c in frame.columns if c != "run_id")
    body = frame.select(cols).sort(cols, nulls_last=True).write_csv()
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def digests(tables: dict[str, pl.DataFrame]) -> dict[str, str]:
    return {t: digest(tables[t]) for t in DATA_TABLES}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_in_process_run_matches_pins(name):
    assert digests(build_run(scenario_of(name))) == PINNED[name]


@pytest.mark.slow
def test_cli_outputs_match_pins(tmp_path: Path):
    name = "eu_shop"
    scenario = scenario_of(name)
    preset, over = SCENARIOS[name]
    sets = [a for k, v in over.items() for a in ("--set", f"{k}={v}")]
    db = tmp_path / "run.duckdb"
    for out in (db, tmp_path / "runs"):
        subprocess.run([sys.executable, "-m", "simulators", "generate", "--preset", preset, *sets, "--out", str(out), "--quiet"],
                       check=True, capture_output=True, text=True, timeout=300)
    con = store.connect(db, read_only=True)
    from_db = {t: store.load_table(con, t, scenario.run_id) for t in DATA_TABLES}
    con.close()
    assert digests(from_db) == PINNED[name]
    assert digests(store.read_parquet_run(tmp_path / "runs" / scenario.run_id)) == PINNED[name]


@pytest.mark.parametrize("name", ["eu_shop", "eu_shop_basic"])
def test_app_cache_layer_matches_pins(name, tmp_path, monkeypatch):
    """The app's cached path (which derives basic mode from the advanced run) gives the same tables.
    An empty runs folder, so the app computes the run instead of reading a CLI-built one."""
    monkeypatch.setenv("DRCL_RUNS_DIR", str(tmp_path))
    from ui.services import simulation

    assert digests(simulation.run(scenario_of(name))) == PINNED[name]
