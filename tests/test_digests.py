"""Pinned table digests of small runs: the in-process pipeline, the CLI (DuckDB file and Parquet run) and
the app's cache layer must all give these exact tables. A refactoring that changes a single value fails
here. If a change is meant to alter stored data (a new column, another hash), update the pins in the same
commit and say why in its message.

The digests depend on the fixed test hash key set in conftest.py.
"""

from __future__ import annotations

import hashlib
import os
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
# Re-pinned when the user agents' Zipf weights stopped using numpy's power (simulators/pools.py
# zipf_weights): before, a CPU with AVX-512 and one without kept different user agents, so only
# user_agent and the hashes made from it (ua_hash, visitor_hash) changed, checked column by column.
# Every pin below (the historical ones in comments aside) is under the native column HMAC keyed with the
# purpose key's hex spelling (docs/hashing.md): that change altered only the keyed-hash columns, one to one.
PINNED: dict[str, dict[str, str]] = {
    "eu_shop": {
        "visitors": "8950678f47eccd79",
        "truth_events": "daa375aa2f8e1901",
        "consent_log": "550f39b57a8398ee",
        "baseline_events": "1e134505a693593e",
        "fullstack_events": "3b6079dc2b78424d",
    },
    "eu_shop_basic": {
        "visitors": "8950678f47eccd79",
        "truth_events": "daa375aa2f8e1901",
        "consent_log": "550f39b57a8398ee",
        "baseline_events": "1e134505a693593e",
        "fullstack_events": "796ad28c82c149ca",
    },
    "us_content_variants": {
        "visitors": "ed8c7f93fe708ec7",
        "truth_events": "c2b2566787b52d7f",
        "consent_log": "e9e0b9db55dafaa1",
        "baseline_events": "8216358ba978c0ba",
        "fullstack_events": "c05cec52ec9f13f1",
    },
}


# The pins before second devices (cross-device people, datasets/population.toml [cross_device]):
# with no second devices every table must be exactly these, once the new person_id column is left out.
ONE_DEVICE: dict[str, dict[str, str]] = {
    "eu_shop": {
        "visitors": "158e5a6e2dc42c4f",
        "truth_events": "f2ffc56700e27a4c",
        "consent_log": "bc8bc51a2e45e528",
        "baseline_events": "231af7bc5565fe1d",
        "fullstack_events": "6988fea6a03d5f7a",
    },
    "eu_shop_basic": {
        "visitors": "158e5a6e2dc42c4f",
        "truth_events": "f2ffc56700e27a4c",
        "consent_log": "bc8bc51a2e45e528",
        "baseline_events": "231af7bc5565fe1d",
        "fullstack_events": "55247bb9e92c6be6",
    },
    "us_content_variants": {
        "visitors": "9fa939d9fb7b0329",
        "truth_events": "c5c7d41efe911469",
        "consent_log": "7bfb4c2b4cf442ce",
        "baseline_events": "0d9067b86aa1f7fa",
        "fullstack_events": "1cf907fb1e24d5a8",
    },
}


# The full stack's digests (with second devices) before its client clock, receive time and sampling rate
# were recorded: the columns it had then must keep exactly these values (the new columns come from
# streams of their own). Without second devices the same held against the older pins 75d5e4bf173a3b7f,
# 850b19e5197d60c1 and fba5dfce3fdd9203.
FULLSTACK_BEFORE_QUALITY = {"eu_shop": "c70b20bfd8289d05", "eu_shop_basic": "988e650fa7688c42", "us_content_variants": "6d03678fa23dcd74"}
QUALITY_COLUMNS = ("client_ts", "received_at", "sample_rate")


@pytest.mark.parametrize("name", sorted(FULLSTACK_BEFORE_QUALITY))
def test_new_fullstack_columns_leave_the_old_ones_unchanged(name):
    full = build_run(scenario_of(name))["fullstack_events"]
    assert digest(full.drop(QUALITY_COLUMNS)) == FULLSTACK_BEFORE_QUALITY[name]


# The visitors digests before the general-audience fingerprint population became the default: the
# volunteers' population (without second devices) must reproduce them exactly (only screen, WebGL,
# fonts, canvas and plugins differ).
VOLUNTEERS_VISITORS = {"eu_shop": "90628ee5211cbc47", "us_content_variants": "130f01ccd03cc21c"}


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


# --- the same tables on every CPU ------------------------------------------------------------------

def test_zipf_weights_are_correctly_rounded():
    """The weights are the double nearest to (r + 1) ** -s, not numpy's power, whose last bit
    depends on the CPU's SIMD extensions (and is often off by one here)."""
    import decimal

    from simulators.pools import zipf_weights

    for n, s in ((40, 1.1), (25, 0.8), (12, 1.7), (6, 0.45)):
        with decimal.localcontext(prec=60):
            exact = [float(decimal.Decimal(r + 1) ** -decimal.Decimal(repr(s))) for r in range(n)]
        assert zipf_weights(n, s).tolist() == exact


@pytest.mark.slow
def test_tables_do_not_depend_on_numpys_simd_paths():
    """A run with numpy's CPU-specific code paths switched off (baseline x86-64-v2 only) gives the
    pinned tables. On a CPU with AVX2 or AVX-512 this compares two code paths of every numpy
    function the simulator uses; it failed on AVX-512 machines before zipf_weights left numpy."""
    code = (
        "import json, sys; sys.path.insert(0, '.'); import tests.conftest; "
        "from tests.test_digests import digests, scenario_of; from simulators.run import build_run; "
        "print(json.dumps(digests(build_run(scenario_of('us_content_variants')))))"
    )
    env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=Path(__file__).resolve().parent.parent,
                         check=True, capture_output=True, text=True, timeout=300)
    import json

    assert json.loads(out.stdout.strip().splitlines()[-1]) == PINNED["us_content_variants"]
