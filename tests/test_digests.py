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
# Every pin below (the historical ones in comments aside) is under the native column HMAC keyed with the
# purpose key's hex spelling (docs/hashing.md): that change altered only the keyed-hash columns, one to one.
PINNED: dict[str, dict[str, str]] = {
    "eu_shop": {
        "visitors": "5c84560777c3f7e9",
        "truth_events": "daa375aa2f8e1901",
        "consent_log": "118f6463f6bf161a",
        "baseline_events": "fa90ac827906b6a2",
        "fullstack_events": "b0abe510be7e7e2b",
    },
    "eu_shop_basic": {
        "visitors": "5c84560777c3f7e9",
        "truth_events": "daa375aa2f8e1901",
        "consent_log": "118f6463f6bf161a",
        "baseline_events": "fa90ac827906b6a2",
        "fullstack_events": "d1e4b5fd5b5bf908",
    },
    "us_content_variants": {
        "visitors": "38d2a16bc855e537",
        "truth_events": "c2b2566787b52d7f",
        "consent_log": "f4d0612ca0b73b3c",
        "baseline_events": "8023edb0f6145c4d",
        "fullstack_events": "069b3dfd0b5daf47",
    },
}


# The pins before second devices (cross-device people, datasets/population.toml [cross_device]):
# with no second devices every table must be exactly these, once the new person_id column is left out.
ONE_DEVICE: dict[str, dict[str, str]] = {
    "eu_shop": {
        "visitors": "fd2844fc567bbe66",
        "truth_events": "f2ffc56700e27a4c",
        "consent_log": "4d4254897316ed13",
        "baseline_events": "e419cb9363937df6",
        "fullstack_events": "00f47e1c91a09db6",
    },
    "eu_shop_basic": {
        "visitors": "fd2844fc567bbe66",
        "truth_events": "f2ffc56700e27a4c",
        "consent_log": "4d4254897316ed13",
        "baseline_events": "e419cb9363937df6",
        "fullstack_events": "35066e8bb132223e",
    },
    "us_content_variants": {
        "visitors": "6361d4af285cb665",
        "truth_events": "c5c7d41efe911469",
        "consent_log": "665ecdf473305b5b",
        "baseline_events": "df5f9c63c1836a9f",
        "fullstack_events": "385c3a2bda409957",
    },
}


# The full stack's digests (with second devices) before its client clock, receive time and sampling rate
# were recorded: the columns it had then must keep exactly these values (the new columns come from
# streams of their own). Without second devices the same held against the older pins 75d5e4bf173a3b7f,
# 850b19e5197d60c1 and fba5dfce3fdd9203.
FULLSTACK_BEFORE_QUALITY = {"eu_shop": "be12b59105810399", "eu_shop_basic": "ab0730b26115c626", "us_content_variants": "387520efc0896d25"}
QUALITY_COLUMNS = ("client_ts", "received_at", "sample_rate")


@pytest.mark.parametrize("name", sorted(FULLSTACK_BEFORE_QUALITY))
def test_new_fullstack_columns_leave_the_old_ones_unchanged(name):
    full = build_run(scenario_of(name))["fullstack_events"]
    assert digest(full.drop(QUALITY_COLUMNS)) == FULLSTACK_BEFORE_QUALITY[name]


# The visitors digests before the general-audience fingerprint population became the default: the
# volunteers' population (without second devices) must reproduce them exactly (only screen, WebGL,
# fonts, canvas and plugins differ).
VOLUNTEERS_VISITORS = {"eu_shop": "c20980ff72432648", "us_content_variants": "b4ddd11944c54a06"}


def _one_device(monkeypatch: pytest.MonkeyPatch) -> None:
    from simulators import traffic

    pop = dict(traffic._population())
    pop["cross_device"] = pop["cross_device"] | {"second_device_share": 0.0}
    monkeypatch.setattr(traffic, "_population", lambda: pop)


def _without_person(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    for t in ("visitors", "truth_events"):
        assert tables[t]["person_id"].equals(tables[t]["visitor_id"], check_names=False)  # one browser per person
    return {t: f.drop("person_id", strict=False) for t, f in tables.items()}


@pytest.mark.parametrize("name", sorted(VOLUNTEERS_VISITORS))
def test_without_second_devices_the_old_tables_come_back(name, monkeypatch):
    _one_device(monkeypatch)
    assert digests(_without_person(build_run(scenario_of(name)))) == ONE_DEVICE[name]
    volunteers = build_run(apply_overrides(scenario_of(name), {"traffic.fingerprint_population": "volunteers"}))
    assert digests(_without_person(volunteers)) == ONE_DEVICE[name] | {"visitors": VOLUNTEERS_VISITORS[name]}


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
