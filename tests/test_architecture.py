"""The layout's rules, read from the source (docs/architecture.md states them): the direction of
imports, the one pipeline, and the one schema registry."""

from __future__ import annotations

import ast
import importlib
import tomllib
from pathlib import Path

import polars as pl
import pytest

from engine import hits, pipeline, schema

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "simulators", "collector", "ui", "app_pages", "benchmarks")


def _sources(*folders: str) -> list[Path]:
    return sorted(p for f in folders for p in (ROOT / f).rglob("*.py") if ".venv" not in p.parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


def _top(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


@pytest.mark.parametrize("path", _sources("engine"), ids=lambda p: str(p.relative_to(ROOT)))
def test_engine_is_a_library(path):
    """engine/ never imports Streamlit, the UI, the simulators or the collector, and holds no server code."""
    banned = {"streamlit", "ui", "app_pages", "simulators", "collector", "uvicorn", "starlette", "multiprocessing", "signal"}
    assert not (_top(_imports(path)) & banned), path


@pytest.mark.parametrize("path", _sources("simulators", "collector"), ids=lambda p: str(p.relative_to(ROOT)))
def test_simulators_and_collector_never_import_the_ui(path):
    assert not (_top(_imports(path)) & {"streamlit", "ui", "app_pages"}), path


@pytest.mark.parametrize("path", _sources("app_pages"), ids=lambda p: str(p.relative_to(ROOT)))
def test_pages_never_import_each_other(path):
    assert not any(n.startswith("app_pages") for n in _imports(path)), path


def _calls(path: Path) -> set[str]:
    """Names of called functions (`f(...)` and `x.f(...)`) in a file."""
    tree = ast.parse(path.read_text(), str(path))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name):
                out.add(f.id)
            elif isinstance(f, ast.Attribute):
                base = f.value.id if isinstance(f.value, ast.Name) else ""
                out.add(f"{base}.{f.attr}" if base else f.attr)
    return out


def test_decisions_and_hits_are_built_only_in_the_pipeline():
    """The consent decision function and the hit builder have one caller outside the tests: engine/pipeline.py."""
    guarded = {"decide", "consent.decide", "hits.consent_free", "hits.with_consent", "with_consent"}
    callers = {str(p.relative_to(ROOT)) for p in _sources(*PACKAGES) if _calls(p) & guarded}
    assert callers == {"engine/pipeline.py"}


def test_browser_hits_follow_the_hit_registry(base_scenario, base_traffic):
    whole = pipeline.browser_hits(base_scenario, base_traffic)
    assert whole.columns == list(schema.HIT_COLUMNS)
    assert {c: whole.schema[c] for c in whole.columns} == {c: f.dtype for c, f in schema.HITS.items()}
    free = hits.consent_free(base_scenario, base_traffic)
    assert free.columns == list(schema.CONSENT_FREE_HIT_COLUMNS)
    # the consent-free part really is free of consent: whole hits agree with it column by column
    assert whole.select(free.columns).equals(free)


def test_run_tables_follow_the_registry(base_tables):
    assert set(base_tables) == set(schema.DATA_TABLES)
    for t, frame in base_tables.items():
        assert frame.columns == list(schema.columns(t, run_id=False)), t
        assert dict(frame.schema) == schema.dtypes(t, run_id=False), t


def test_registry_entries_are_complete():
    for t, cols in schema.TABLES.items():
        assert next(iter(cols)) == "run_id", t
        for c, col in cols.items():
            assert col.action in schema.ACTIONS, (t, c)
            assert isinstance(col.level, schema.Level), (t, c)
        assert schema.RETENTION_CLOCK[t] in cols, t
        empty = schema.empty(t, run_id=True)
        assert empty.height == 0 and dict(empty.schema) == schema.dtypes(t)
    # derived DDL names every column once, in order
    ddl = schema.ddl("consent_log")
    positions = [ddl.index(f'"{c}"') for c in schema.columns("consent_log")]
    assert positions == sorted(positions)
    assert isinstance(schema.TABLES["visitors"]["email"].dtype, pl.String) and schema.TABLES["visitors"]["email"].level == schema.Level.CRITICAL


def test_the_wire_format_is_shared_from_engine() -> None:
    for path in ("simulators/http_sink.py", "collector/ingest.py", "collector/app.py"):
        tree = ast.parse((ROOT / path).read_text())
        assert any(isinstance(n, ast.ImportFrom) and n.module == "engine" and "wire" in {a.name for a in n.names}
                   for n in ast.walk(tree)), path


def test_console_scripts_point_at_the_command_line_mains() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert set(scripts) == {"drcl-simulate", "drcl-collector"}
    for target in scripts.values():
        module, func = target.split(":")
        assert callable(getattr(importlib.import_module(module), func)), target
