"""Lessons: an ordered walk through the app's pages, one small TOML file each in `datasets/lessons/`.

A lesson file has a title, its length in minutes and an ordered list of steps; a step is a page of the
app (the file name of `app_pages/<page>.py`) with an optional one-line note for the presenter. The
current lesson travels in the URL (`?lesson=<name>`), so a shared link keeps it; the current step is
the page being shown. Presenters save reordered lessons here (atomically; an existing file is only
replaced when they say so).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Annotated, Any

import streamlit as st
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine.datasets import DATASETS_DIR
from ui import url_state
from ui.words import catalogue, t

ROOT = Path(__file__).resolve().parent.parent
PAGES_DIR = ROOT / "app_pages"
LESSONS_ENV = "DRCL_LESSONS_DIR"
LESSON_PARAM = "lesson"
PAGE_KEY = "lesson.page_shown"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
DEFAULT_ORDER = ("overview", "consent_impact", "funnels", "live", "privacy", "data_rights", "copy_tests")
# A page can be a lesson step when it has a title in the catalogue (frame.page.<page>) and a file.
_PAGE_TITLE = "frame.page."


class LessonError(ValueError):
    """A lesson file that cannot be used; the message says which file and what is wrong."""


def lesson_pages() -> list[str]:
    """Pages a lesson may show, in the app's menu order of the catalogue."""
    return [key.removeprefix(_PAGE_TITLE) for key in catalogue() if key.startswith(_PAGE_TITLE)
            and (PAGES_DIR / f"{key.removeprefix(_PAGE_TITLE)}.py").is_file()]


def page_title(page: str) -> str:
    return catalogue()[_PAGE_TITLE + page]


def page_path(page: str) -> str:
    """What st.switch_page takes for a step's page."""
    return f"app_pages/{page}.py"


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    page: str
    note: Annotated[str, Field(max_length=200)] = ""

    @field_validator("page")
    @classmethod
    def _known_page(cls, page: str) -> str:
        if page not in lesson_pages():
            raise ValueError(f"{page!r} is not a page of the app (pages: {', '.join(lesson_pages())})")
        return page

    @field_validator("note")
    @classmethod
    def _one_line(cls, note: str) -> str:
        if "\n" in note or "\r" in note:
            raise ValueError("a presenter note is one line")
        return note.strip()


class Lesson(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    title: Annotated[str, Field(min_length=1, max_length=80)]
    minutes: Annotated[int, Field(ge=1, le=240)]
    steps: Annotated[tuple[Step, ...], Field(min_length=1, max_length=len(DEFAULT_ORDER) * 3)]

    @field_validator("steps")
    @classmethod
    def _each_page_once(cls, steps: tuple[Step, ...]) -> tuple[Step, ...]:
        pages = [s.page for s in steps]
        if twice := sorted({p for p in pages if pages.count(p) > 1}):
            raise ValueError(f"each page is one step; {', '.join(twice)} appear(s) more than once")
        return steps

    @property
    def pages(self) -> list[str]:
        return [s.page for s in self.steps]


def shipped_dir() -> Path:
    return DATASETS_DIR / "lessons"


def lessons_dir() -> Path:
    """Where lessons are read and saved: DRCL_LESSONS_DIR, else datasets/lessons/."""
    return Path(os.environ.get(LESSONS_ENV) or shipped_dir())


def check_name(name: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise LessonError(t("lesson.bad_name", name=name))
    return name


def _describe(err: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'lesson'}: {e['msg'].removeprefix('Value error, ')}"
                     for e in err.errors())


def parse_lesson(text: str, source: str) -> Lesson:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise LessonError(f"lesson {source} is not valid TOML: {err}") from None
    try:
        return Lesson.model_validate(data)
    except ValidationError as err:
        raise LessonError(f"lesson {source} is invalid: {_describe(err)}") from None


def load_lesson(name: str, folder: Path | None = None) -> Lesson:
    path = (folder or lessons_dir()) / f"{check_name(name)}.toml"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LessonError(f"there is no lesson {name!r}") from None
    return parse_lesson(text, path.name)


def list_lessons(folder: Path | None = None) -> dict[str, Lesson]:
    """Every valid lesson by name (a broken file is left out; `load_lesson` says why)."""
    out = {}
    for path in sorted((folder or lessons_dir()).glob("*.toml")):
        if NAME_RE.fullmatch(path.stem):
            try:
                out[path.stem] = parse_lesson(path.read_text(encoding="utf-8"), path.name)
            except (LessonError, OSError):
                continue
    return out


def _toml_str(text: str) -> str:
    # A JSON string is a valid TOML basic string for everything json.dumps writes (ensure_ascii).
    return json.dumps(text)


def to_toml(lesson: Lesson) -> str:
    lines = [f"title = {_toml_str(lesson.title)}", f"minutes = {lesson.minutes}"]
    for step in lesson.steps:
        lines += ["", "[[steps]]", f"page = {_toml_str(step.page)}"]
        if step.note:
            lines.append(f"note = {_toml_str(step.note)}")
    return "\n".join(lines) + "\n"


def save_lesson(name: str, lesson: Lesson, *, overwrite: bool = False, folder: Path | None = None) -> Path:
    """Write `<name>.toml` atomically (temp file + rename); an existing lesson only with `overwrite`."""
    folder = folder or lessons_dir()
    path = folder / f"{check_name(name)}.toml"
    text = to_toml(lesson)
    if parse_lesson(text, path.name) != lesson:  # pragma: no cover - to_toml and the model disagree
        raise LessonError(f"lesson {name!r} would not read back as written")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails if the name exists: no check-then-write race
            except FileExistsError:
                raise LessonError(f"a lesson {name!r} exists already") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def reordered(lesson: Lesson, pages: list[str], *, title: str | None = None, minutes: int | None = None) -> Lesson:
    """The lesson with these pages in this order (skipped pages left out); notes follow their page."""
    notes = {s.page: s.note for s in lesson.steps}
    data: dict[str, Any] = {"title": title if title is not None else lesson.title,
                            "minutes": minutes if minutes is not None else lesson.minutes,
                            "steps": [{"page": p, "note": notes.get(p, "")} for p in pages]}
    try:
        return Lesson.model_validate(data)
    except ValidationError as err:  # what the save form lets a presenter get wrong, in one sentence each
        fields = dict.fromkeys(str(e["loc"][0]) if e["loc"] else "lesson" for e in err.errors())
        raise LessonError(" ".join(t(f"lesson.invalid_{f}") if f in ("title", "minutes", "steps") else _describe(err)
                                   for f in fields)) from None


def active() -> tuple[str, Lesson] | None:
    """The lesson in the URL (`?lesson=<name>`), if it names a valid lesson."""
    name = url_state.sticky(LESSON_PARAM)
    if not name:
        return None
    try:
        return name, load_lesson(name)
    except LessonError:
        return None


def current() -> tuple[str, int] | None:
    """(lesson name, step index from 0) when a valid lesson is in the URL and the page shown is one of
    its steps; None otherwise. The page shown is recorded by the frame (`app.py`) on every run."""
    found = active()
    page = st.session_state.get(PAGE_KEY)
    if found is None or page not in found[1].pages:
        return None
    return found[0], found[1].pages.index(page)
