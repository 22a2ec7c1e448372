"""A lesson on screen: "← Back" / "Next →" above every page of the lesson, and (for presenters) the
sidebar's lesson picker and the editor that saves a reordered lesson as a new lesson file."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import lessons, url_state
from ui.components import auth
from ui.present import presenting
from ui.words import num, t

_PICK, _PAGES, _NAME, _TITLE, _MINUTES, _OVERWRITE = (
    "lesson.pick", "lesson.edit_pages", "lesson.save_name", "lesson.save_title", "lesson.save_minutes", "lesson.overwrite")
_SAVED = "lesson.saved"


def go(page: str) -> None:
    """Show a page, keeping every query parameter (the scenario's, the lesson, the pin, presenter mode)."""
    st.switch_page(lessons.page_path(page), query_params=url_state.all_params())


def lesson_bar(page: str, following: bool = False) -> None:
    """Record the page shown; with a lesson in the URL, draw its step and the Back/Next buttons (a learner
    `following` a room sees the step only: the presenter moves the room)."""
    st.session_state[lessons.PAGE_KEY] = page
    found = lessons.active()
    if found is None:
        return
    _, lesson = found
    pages = lesson.pages
    bar = st.container(key="lesson-bar", horizontal=True, vertical_alignment="center")
    if following:
        if page in pages:
            bar.markdown(t("lesson.step", step=num(pages.index(page) + 1), steps=num(len(pages)), title=lesson.title))
        return
    if page not in pages:
        bar.caption(t("lesson.off_lesson", title=lesson.title))
        if bar.button(t("lesson.return", page=lessons.page_title(pages[0])), key="lesson.return"):
            go(pages[0])
        return
    i = pages.index(page)
    # Buttons first: on a phone the step's words wrap below them, not between them.
    if bar.button(t("lesson.back"), key="lesson.back", disabled=i == 0):
        go(pages[i - 1])
    if bar.button(t("lesson.next"), key="lesson.next", disabled=i == len(pages) - 1, type="primary"):
        go(pages[i + 1])
    bar.markdown(t("lesson.step", step=num(i + 1), steps=num(len(pages)), title=lesson.title))
    note = lesson.steps[i].note
    if note and auth.is_presenter():
        st.info(t("lesson.note", note=note), icon=":material/record_voice_over:")


def lesson_picker(container: Any) -> None:
    """The lesson picker, where a presenter finds it: in the sidebar when logged in or presenting."""
    if not (auth.is_presenter() or presenting()):
        return
    available = lessons.list_lessons()
    box = container.expander(t("lesson.heading"), expanded=lessons.active() is None and presenting())
    found = lessons.active()
    if found is not None:
        box.markdown(t("lesson.running", title=found[1].title))
        if box.button(t("lesson.end"), key="lesson.end"):
            url_state.set_sticky(lessons.LESSON_PARAM, None)
            st.rerun()
    if not available:
        box.caption(t("lesson.none"))
        return
    names = list(available)
    if (saved := st.session_state.get(_SAVED)) in available:
        st.session_state[_PICK] = saved  # before the picker is drawn: show the lesson just saved
    box.selectbox(t("lesson.pick"), names, key=_PICK,
                  index=names.index(found[0]) if found and found[0] in names else 0,
                  format_func=lambda n: t("lesson.option", title=available[n].title, minutes=num(available[n].minutes)))
    if box.button(t("lesson.start"), key="lesson.start"):
        name = st.session_state[_PICK]
        url_state.set_sticky(lessons.LESSON_PARAM, name)
        go(available[name].pages[0])
    if auth.is_presenter():
        _editor(box, st.session_state[_PICK], available[st.session_state[_PICK]])


def _editor(box: Any, name: str, lesson: lessons.Lesson) -> None:
    """Reorder or skip steps and save the result under a name of its own (presenters only)."""
    box.divider()
    box.markdown(t("lesson.edit_heading"))
    if st.session_state.get(f"{_PAGES}.of") != name:  # a new lesson picked: start from its steps
        st.session_state[f"{_PAGES}.of"] = name
        st.session_state[_PAGES] = lesson.pages
        st.session_state[_TITLE] = lesson.title
        st.session_state[_MINUTES] = lesson.minutes
        st.session_state[_NAME] = f"{name}-mine"
    box.multiselect(t("lesson.edit_steps"), lessons.lesson_pages(), key=_PAGES, format_func=lessons.page_title,
                    help=t("lesson.edit_steps_help"))
    box.text_input(t("lesson.save_title"), key=_TITLE, max_chars=80)
    box.number_input(t("lesson.save_minutes"), min_value=1, max_value=240, step=1, key=_MINUTES)
    box.text_input(t("lesson.save_name"), key=_NAME, max_chars=40, help=t("lesson.save_name_help"))
    target = st.session_state[_NAME].strip()
    exists = lessons.NAME_RE.fullmatch(target) is not None and (lessons.lessons_dir() / f"{target}.toml").exists()
    if exists:
        shipped = (lessons.shipped_dir() / f"{target}.toml").exists()
        box.checkbox(t("lesson.overwrite_shipped" if shipped else "lesson.overwrite", name=target), key=_OVERWRITE)
    if box.button(t("lesson.save"), key="lesson.save"):
        try:
            new = lessons.reordered(lesson, list(st.session_state[_PAGES]), title=st.session_state[_TITLE].strip(),
                                    minutes=int(st.session_state[_MINUTES]))
            overwrite = exists and bool(st.session_state.get(_OVERWRITE))
            if exists and not overwrite:
                raise lessons.LessonError(t("lesson.exists", name=target))
            lessons.save_lesson(target, new, overwrite=overwrite)
        except lessons.LessonError as err:
            box.error(t("lesson.not_saved", reason=str(err)))
        else:
            st.session_state[_SAVED] = target
            st.session_state.pop(f"{_PAGES}.of", None)
            st.rerun()
    if saved := st.session_state.pop(_SAVED, None):
        box.success(t("lesson.saved", name=saved))
