"""The session's language: from the URL, kept across pages, refused politely, and personal in a room."""

from __future__ import annotations

import pytest
from test_rooms import page_of, presenter, session

from ui import words
from ui.language import LANG_PARAM
from ui.rooms import live

SMALL = {"traffic.visitors": "3000", "traffic.days": "7"}


@pytest.fixture
def rooms_db(tmp_path, monkeypatch):
    monkeypatch.setenv("DRCL_ROOMS_DB", str(tmp_path / "rooms.sqlite"))
    monkeypatch.setenv("DRCL_RUNS_DIR", str(tmp_path / "runs"))


def title(at) -> str:
    return at.title[0].value


def test_the_url_language_holds_across_pages_and_a_wrong_one_is_refused_in_words(rooms_db):
    at = session(**SMALL, lang="de").run()
    assert not at.exception
    assert at.session_state[words.SESSION_KEY] == "de"
    with words.speaking("de"):
        assert title(at) == words.t("overview.title")
    at.switch_page("app_pages/funnels.py").run()  # a page change drops the URL's parameters: lang comes back
    assert at.query_params[LANG_PARAM] == ["de"] or at.query_params[LANG_PARAM] == "de"
    assert at.session_state[words.SESSION_KEY] == "de"

    wrong = session(**SMALL, lang="<b>xx</b>").run()
    assert not wrong.exception
    assert wrong.session_state[words.SESSION_KEY] == "en"
    shown = [c.value for c in wrong.sidebar.caption]
    assert words.t("frame.language_unknown") in shown
    assert not any("<b>" in c for c in shown)  # what came in the URL is not echoed


def test_a_learner_keeps_their_language_in_an_english_room(rooms_db):
    host = presenter()
    code = host.session_state[live.HOSTING]
    learner = session(room=code, lang="de").run()
    assert not learner.exception
    host.switch_page("app_pages/funnels.py").run()
    learner.run()  # the room moved: the learner follows to Funnels
    assert not learner.exception and page_of(learner) == "funnels.py"
    assert learner.session_state[words.SESSION_KEY] == "de"
    assert LANG_PARAM not in live.store().get(code).state.params  # the presenter's language is not sent
    with words.speaking("de"):
        assert title(learner) == words.t("funnels.title")


def _settling() -> None:
    import streamlit as st

    from ui import words

    seen = []
    for lang in ("de", "en", "de"):
        words.settle(lang)
        seen.append((words.language(), st.session_state[words.SESSION_KEY]))
    st.session_state["seen"] = seen


def test_the_settled_language_is_the_one_texts_read_and_follows_a_switch():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_settling).run()
    assert not at.exception
    assert at.session_state["seen"] == [("de", "de"), ("en", "en"), ("de", "de")]
    other = AppTest.from_function(_reading).run()
    assert other.session_state["lang"] == "en"  # another session starts from its own, not this one's


def _reading() -> None:
    import streamlit as st

    from ui import words

    st.session_state["lang"] = words.language()
