"""The one catalogue of words: every key a source file asks for exists, and placeholders are filled."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from ui import words

ROOT = Path(__file__).resolve().parent.parent


def _asked_keys() -> set[tuple[str, str]]:
    """(file, key) for every literal `t("...")` call in the UI and the pages."""
    out = set()
    for path in sorted([*ROOT.joinpath("ui").rglob("*.py"), *ROOT.joinpath("app_pages").rglob("*.py"), ROOT / "app.py"]):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "t" and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                out.add((str(path.relative_to(ROOT)), node.args[0].value))
    return out


def test_every_key_asked_for_exists():
    missing = sorted((f, k) for f, k in _asked_keys() if k not in words.catalogue())
    assert not missing, missing


def test_every_text_is_a_valid_format_string():
    for key, text in words.catalogue().items():
        list(string.Formatter().parse(text))  # raises on an unbalanced brace
        assert text.strip(), key


def test_t_fills_placeholders_and_rejects_unknown_keys():
    assert words.t("common.show_data") == "Show data"
    with pytest.raises(KeyError):
        words.t("common.no_such_text")


def test_number_formats():
    assert words.num(20000) == "20,000"
    assert words.pct(0.364) == "36%"
    assert words.pct(0.3651, 1) == "36.5%"
    assert words.signed(861) == "+861"
    assert words.signed(-23) == "−23"
    assert words.signed(0) == "0"
