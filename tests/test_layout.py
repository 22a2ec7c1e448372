"""The package layout the docs promise: engine/ is a pure library (no server code), the collector
sits beside it, and the old `python -m engine.collector` name still works for one release."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER_MODULES = {"uvicorn", "starlette", "httptools", "uvloop", "signal", "multiprocessing", "collector"}


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_engine_has_no_server_code() -> None:
    alias = ROOT / "engine" / "collector.py"  # the deprecated forwarder, checked below
    found = {
        str(p.relative_to(ROOT)): sorted(_imported(p) & SERVER_MODULES)
        for p in sorted((ROOT / "engine").rglob("*.py"))
        if p != alias
    }
    assert {k: v for k, v in found.items() if v} == {}


def test_the_wire_format_is_shared_from_engine() -> None:
    for path in ("simulators/http_sink.py", "collector/ingest.py", "collector/app.py"):
        tree = ast.parse((ROOT / path).read_text())
        assert any(isinstance(n, ast.ImportFrom) and n.module == "engine" and "wire" in {a.name for a in n.names}
                   for n in ast.walk(tree)), path


def test_old_module_name_forwards_and_warns() -> None:
    proc = subprocess.run([sys.executable, "-m", "engine.collector", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "python -m collector" in proc.stdout  # the collector's own usage
    assert "deprecated" in proc.stderr and "python -m collector" in proc.stderr


def test_console_scripts_point_at_the_command_line_mains() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert set(scripts) == {"drcl-simulate", "drcl-collector"}
    for target in scripts.values():
        module, func = target.split(":")
        assert callable(getattr(importlib.import_module(module), func)), target
