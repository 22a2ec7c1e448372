"""Keep the German catalogue in step with the English one: `python -m ui.words sync` (or `check`).

`sync` gives every English key a German entry (new ones empty), copies the English text into the German
entry's comment, and marks a translation fuzzy when the English it was made from has changed; German
entries whose key left the English catalogue go. The `scenario` area (the German help texts of the
`Scenario` fields) has no English file and is left as it is. `check` prints what still needs a translator
and exits 1 if anything does.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from ui.words import _ROOT, po_files

SOURCE, TARGET = "en", "de"
_STAMP = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)  # fixed, so a sync without changes changes no file
_PREFIX = "en: "


def read(path: Path, language: str) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=language)


def write(path: Path, catalog: Catalog) -> None:
    """Atomically: a half-written catalogue would take the whole app down."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".po.tmp")
    with tmp.open("wb") as fh:
        write_po(fh, catalog, width=0, sort_output=False, omit_header=False)
    tmp.replace(path)


def source_comment(english: str) -> str:
    return _PREFIX + english.replace("\n", "\\n")


def made_from(message, english: str) -> bool:
    """Whether a German entry's comment is this English text. `write_po` wraps a long comment over several
    lines and drops trailing blanks, so the comment's words are compared, not its lines."""
    return " ".join(" ".join(message.auto_comments).split()) == " ".join(source_comment(english).split())


def new_catalog(language: str, area: str) -> Catalog:
    return Catalog(locale=language, domain=area, project="Dual-Rail Consent Lab", version="1",
                   header_comment=f"# {area}: texts of the Dual-Rail Consent Lab ({language}). Keys are ids; see ui/words.",
                   fuzzy=False, creation_date=_STAMP, revision_date=_STAMP)


def sync() -> list[str]:
    """Bring the German files in step; return what still needs a translator (key: reason)."""
    todo: list[str] = []
    for en_path in po_files(SOURCE):
        english = read(en_path, SOURCE)
        de_path = _ROOT / TARGET / "LC_MESSAGES" / en_path.name
        old = read(de_path, TARGET) if de_path.exists() else new_catalog(TARGET, en_path.stem)
        out = new_catalog(TARGET, en_path.stem)
        for message in english:
            if not message.id:
                continue
            comment = source_comment(str(message.string))
            before = old.get(message.id)
            german = str(before.string) if before is not None and before.string else ""
            fuzzy = bool(before is not None and (before.fuzzy or (german and not made_from(before, str(message.string)))))
            out.add(message.id, german, auto_comments=[comment], flags=["fuzzy"] if fuzzy else [])
            if not german:
                todo.append(f"{message.id}: untranslated")
            elif fuzzy:
                todo.append(f"{message.id}: fuzzy (its English changed)")
        write(de_path, out)
    return todo


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    if command not in {"sync", "check"}:
        print(__doc__)
        return 2
    todo = sync() if command == "sync" else _check()
    for line in todo:
        print(line)
    print(f"{len(todo)} German texts need a translator", file=sys.stderr)
    return 1 if todo else 0


def _check() -> list[str]:
    todo: list[str] = []
    for en_path in po_files(SOURCE):
        de_path = _ROOT / TARGET / "LC_MESSAGES" / en_path.name
        german = read(de_path, TARGET) if de_path.exists() else new_catalog(TARGET, en_path.stem)
        for message in read(en_path, SOURCE):
            if not message.id:
                continue
            theirs = german.get(message.id)
            if theirs is None or not theirs.string:
                todo.append(f"{message.id}: untranslated")
            elif theirs.fuzzy or not made_from(theirs, str(message.string)):
                todo.append(f"{message.id}: fuzzy (its English changed)")
    return todo


if __name__ == "__main__":
    sys.exit(main(sys.argv))
