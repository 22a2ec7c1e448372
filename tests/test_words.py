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


def _code_strings() -> tuple[set[str], set[str]]:
    """Every string constant in the UI code, and every f-string's leading constant (a dynamic key's prefix)."""
    constants, prefixes = set(), set()
    for path in sorted([*ROOT.joinpath("ui").rglob("*.py"), *ROOT.joinpath("app_pages").rglob("*.py"), ROOT / "app.py"]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                constants.add(node.value)
            elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
                prefixes.add(str(node.values[0].value))
    return constants, {p for p in prefixes if "." in p}


def test_no_unused_keys():
    """A key nobody asks for is a text nobody sees, but a translator still has to translate it."""
    constants, prefixes = _code_strings()
    unused = sorted(k for k in words.catalogue() if k not in constants and not any(k.startswith(p) for p in prefixes))
    assert not unused, unused


def test_german_has_every_english_key_translated_and_current():
    from ui.words.__main__ import _check

    todo = _check()
    assert not todo, f"{len(todo)} German texts need a translator (python -m ui.words sync): {todo[:20]}"


def test_german_keys_are_english_keys_or_scenario_fields():
    from engine.scenario import iter_fields

    english, german = words.catalogue("en"), words.catalogue("de")
    fields = {f"scenario.{path}" for path, info in iter_fields() if info.description}
    stray = sorted(k for k in german if k not in english and k not in fields)
    assert not stray, stray
    assert not fields - set(german), f"Scenario fields without a German help text: {sorted(fields - set(german))[:20]}"


def test_german_keeps_the_placeholders():
    english, german = words.catalogue("en"), words.catalogue("de")
    for key, text in german.items():
        if key in english:
            names = {f for _, f, _, _ in string.Formatter().parse(text) if f}
            assert names == {f for _, f, _, _ in string.Formatter().parse(english[key]) if f}, key


def test_language_switches_texts_and_number_formats():
    import datetime as dt

    with words.speaking("de"):
        assert words.language() == "de"
        assert words.num(20000) == "20.000"
        assert words.pct(0.643, 1) == "64,3\xa0%"
        assert words.signed(-1234) == "−1.234"
        assert words.day(dt.datetime(2026, 11, 2)) == "2. Nov. 2026"
        assert words.t("frame.page.overview") == words.catalogue("de")["frame.page.overview"]
    assert words.language() == "en"
    assert words.day(dt.date(2026, 11, 2)) == "Nov 2, 2026"
    assert words.num(1e16) == "10,000,000,000,000,000"
    with pytest.raises(ValueError), words.speaking("fr"):
        pass


@pytest.mark.parametrize(("raw", "code"), [("de", "de"), ("de-DE", "de"), ("DE_at", "de"), ("en-GB", "en"),
                                           ("fr-FR", None), ("", None), (None, None), ("de;q=0.9", None)])
def test_parse_language(raw, code):
    assert words.parse_language(raw) == code


def test_a_long_or_blank_ended_english_text_stays_current_after_a_write(tmp_path):
    """`write_po` wraps long comments and drops trailing blanks: a translation of an unchanged English text
    must still count as current, and one of a changed English text must not."""
    from ui.words.__main__ import made_from, new_catalog, read, source_comment, write

    english = {"a.long": "A sentence long enough that the comment carrying it wraps onto a second and a third line "
                         "of the file.\nWith a line break.", "a.blank": " and "}
    path = tmp_path / "a.po"
    out = new_catalog("de", "a")
    for key, text in english.items():
        out.add(key, "übersetzt", auto_comments=[source_comment(text)])
    write(path, out)
    back = read(path, "de")
    assert len(back["a.long"].auto_comments) > 1  # the case that once read as "its English changed"
    assert all(made_from(back[key], text) for key, text in english.items())
    assert not made_from(back["a.long"], english["a.long"].replace("third", "fourth"))
