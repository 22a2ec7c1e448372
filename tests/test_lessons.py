"""Lessons: files validate at load, Back / Next walk the pages in the lesson's order with the scenario's
parameters, a presenter saves a reordered lesson atomically, and presenter mode shows only the lesson knobs."""

from __future__ import annotations

import shutil

import pytest
import streamlit_authenticator as stauth
from apptest_helpers import open_advanced
from conftest import SMALL
from streamlit.testing.v1 import AppTest

from engine.scenario import field_paths
from ui import lessons
from ui.components.scenario_sidebar import lesson_knob

COOKIE_KEY = "test-cookie-key-0123456789abcdef0123"
SHIPPED = sorted(p.stem for p in lessons.shipped_dir().glob("*.toml"))


@pytest.fixture(scope="module")
def password_hash() -> str:
    return stauth.Hasher.hash("a-test-password-for-presenters")


@pytest.fixture
def lesson_dir(tmp_path, monkeypatch):
    """A lessons folder of this test's own, starting with the shipped lessons."""
    folder = tmp_path / "lessons"
    shutil.copytree(lessons.shipped_dir(), folder)
    monkeypatch.setenv(lessons.LESSONS_ENV, str(folder))
    return folder


def app(params: dict[str, str] | None = None, presenter_hash: str | None = None) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=120)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    if presenter_hash is not None:
        at.secrets["auth"] = {
            "cookie": {"name": "drcl_test", "key": COOKIE_KEY, "expiry_days": 1},
            "credentials": {"usernames": {"presenter": {"name": "P", "email": "p@example.com", "password": presenter_hash}}},
            "login_sleep_time": 0,
        }
        at.session_state["authentication_status"] = True
        at.session_state["username"] = "presenter"
    at.run()
    assert not at.exception
    return at


def param(at: AppTest, key: str) -> str:
    value = at.query_params[key]
    return value[-1] if isinstance(value, list) else value


def shown_page(at: AppTest) -> str:
    return at.session_state[lessons.PAGE_KEY]


def step_text(at: AppTest) -> str:
    return next(m.value for m in at.markdown if "Step" in m.value)


def test_both_shipped_lessons_validate():
    assert SHIPPED == ["consent_talk", "privacy_workshop"]
    talk, workshop = (lessons.load_lesson(n, lessons.shipped_dir()) for n in SHIPPED)
    assert talk.minutes == 10 and workshop.minutes == 45
    assert workshop.pages == list(lessons.DEFAULT_ORDER)
    # The short talk keeps the default order, with pages skipped.
    assert talk.pages == [p for p in lessons.DEFAULT_ORDER if p in talk.pages]
    assert all(s.note for s in talk.steps + workshop.steps)


@pytest.mark.parametrize(("text", "reason"), [
    ('title = "x"\nminutes = 5\n[[steps]]\npage = "nowhere"\n', "'nowhere' is not a page of the app"),
    ('title = "x"\nminutes = 5\n[[steps]]\npage = "funnels"\n[[steps]]\npage = "funnels"\n', "funnels appear"),
    ('minutes = 5\n[[steps]]\npage = "funnels"\n', "title: Field required"),
    ('title = "x"\nminutes = 0\n[[steps]]\npage = "funnels"\n', "minutes: Input should be greater than or equal to 1"),
    ('title = "x"\nminutes = 5\nsteps = []\n', "steps: "),
    ('title = "x"\nminutes = 5\n[[steps]]\npage = "funnels"\nnote = "one\\ntwo"\n', "a presenter note is one line"),
    ('title = "x"\nminutes = 5\n[[steps]]\npage = "funnels"\ncolour = "red"\n', "colour: Extra inputs are not permitted"),
    ('title = "x\nminutes = 5\n', "is not valid TOML"),
])
def test_a_bad_lesson_file_gives_a_clear_error(lesson_dir, text, reason):
    (lesson_dir / "broken.toml").write_text(text)
    with pytest.raises(lessons.LessonError) as err:
        lessons.load_lesson("broken")
    assert "broken.toml" in str(err.value) and reason in str(err.value)
    assert "broken" not in lessons.list_lessons()  # the picker leaves it out
    assert set(SHIPPED) <= set(lessons.list_lessons())


@pytest.mark.parametrize("name", ["../etc/passwd", "Big", "", "a b", "x" * 41])
def test_lesson_names_are_checked(name):
    with pytest.raises(lessons.LessonError, match="is not a lesson name"):
        lessons.check_name(name)


@pytest.mark.parametrize(("change", "key"), [({"title": ""}, "lesson.invalid_title"), ({"minutes": 0}, "lesson.invalid_minutes"),
                                             ({"pages": []}, "lesson.invalid_steps")])
def test_an_edit_the_save_form_refuses_says_why_in_words(change, key):
    """What the save form can get wrong comes back as one sentence from the catalogue, not pydantic's text."""
    from ui.words import t

    lesson = lessons.load_lesson(SHIPPED[0])
    pages = change.pop("pages", lesson.pages)
    with pytest.raises(lessons.LessonError) as err:
        lessons.reordered(lesson, pages, **change)
    assert str(err.value) == t(key)


def test_next_and_back_follow_the_lesson_and_keep_the_scenario(lesson_dir):
    talk = lessons.load_lesson("consent_talk")
    at = app({"lesson": "consent_talk", "consent.banner": "no_reject", "traffic.visitors": "3000"})
    assert shown_page(at) == talk.pages[0]
    assert step_text(at).startswith(f"**Step 1 of {len(talk.pages)}**")
    assert at.button(key="lesson.back").disabled
    at.button(key="lesson.next").click().run()
    assert not at.exception
    assert shown_page(at) == talk.pages[1]
    assert step_text(at).startswith(f"**Step 2 of {len(talk.pages)}**")
    # The scenario and the lesson travelled with the page.
    assert param(at, "lesson") == "consent_talk"
    assert at.session_state["scenario"].consent.banner == "no_reject"
    assert at.session_state["scenario"].traffic.visitors == 3000
    at.button(key="lesson.back").click().run()
    assert shown_page(at) == talk.pages[0]
    assert at.session_state["scenario"].consent.banner == "no_reject"


def test_no_lesson_no_bar_and_an_unknown_lesson_is_ignored(lesson_dir):
    at = app({"lesson": "no_such_lesson"})
    assert not [b for b in at.button if b.key in ("lesson.next", "lesson.back")]
    assert shown_page(at) == "overview"


def test_a_presenter_saves_a_reordered_lesson_atomically(lesson_dir, password_hash):
    at = app(presenter_hash=password_hash)
    at.sidebar.selectbox(key="lesson.pick").set_value("privacy_workshop").run()
    order = ["funnels", "overview", "privacy"]  # reordered, four steps skipped
    at.sidebar.multiselect(key="lesson.edit_pages").set_value(order).run()
    at.sidebar.text_input(key="lesson.save_name").set_value("short-workshop").run()
    at.sidebar.text_input(key="lesson.save_title").set_value("Short workshop").run()
    at.sidebar.button(key="lesson.save").click().run()
    assert not at.exception and not at.sidebar.error
    saved = lessons.load_lesson("short-workshop")
    assert saved.pages == order and saved.title == "Short workshop" and saved.minutes == 45
    workshop = lessons.load_lesson("privacy_workshop")
    assert [s.note for s in saved.steps] == [workshop.steps[workshop.pages.index(p)].note for p in order]
    assert sorted(p.name for p in lesson_dir.iterdir()) == ["consent_talk.toml", "privacy_workshop.toml",
                                                          "short-workshop.toml"]  # no temp file left
    assert at.session_state["lesson.pick"] == "short-workshop"


def test_a_shipped_lesson_is_replaced_only_when_the_presenter_says_so(lesson_dir, password_hash):
    before = (lesson_dir / "consent_talk.toml").read_text()
    at = app(presenter_hash=password_hash)
    at.sidebar.selectbox(key="lesson.pick").set_value("consent_talk").run()
    at.sidebar.multiselect(key="lesson.edit_pages").set_value(["funnels"]).run()
    at.sidebar.text_input(key="lesson.save_name").set_value("consent_talk").run()
    at.sidebar.button(key="lesson.save").click().run()
    assert "exists already" in at.sidebar.error[0].value
    assert (lesson_dir / "consent_talk.toml").read_text() == before
    at.sidebar.checkbox(key="lesson.overwrite").check().run()
    at.sidebar.button(key="lesson.save").click().run()
    assert not at.sidebar.error
    assert lessons.load_lesson("consent_talk").pages == ["funnels"]


def test_save_lesson_never_overwrites_without_asking(tmp_path):
    talk = lessons.load_lesson("consent_talk", lessons.shipped_dir())
    path = lessons.save_lesson("mine", talk, folder=tmp_path)
    assert lessons.load_lesson("mine", tmp_path) == talk
    shorter = lessons.reordered(talk, talk.pages[:1])
    with pytest.raises(lessons.LessonError, match="exists already"):
        lessons.save_lesson("mine", shorter, folder=tmp_path)
    assert lessons.load_lesson("mine", tmp_path) == talk
    lessons.save_lesson("mine", shorter, overwrite=True, folder=tmp_path)
    assert lessons.load_lesson("mine", tmp_path) == shorter
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_learners_get_no_lesson_editor(lesson_dir):
    at = app()
    assert not at.sidebar.multiselect and not [s for s in at.sidebar.selectbox if s.key == "lesson.pick"]


def test_presenter_mode_shows_only_the_lesson_knobs_and_keeps_the_others(lesson_dir):
    at = app({"present": "1", "consent.honour_gpc": "false", "traffic.visitors": "5000", "consent.banner": "no_reject"})
    keys = {w.key for kind in ("selectbox", "number_input", "slider", "checkbox", "toggle", "date_input", "text_input")
            for w in getattr(at.sidebar, kind)}
    knobs = keys & set(field_paths())
    assert knobs == {p for p in field_paths() if lesson_knob(p)}
    assert {"consent.banner", "consent.mode", "consent.decision_share", "rails.server_side_proxy"} <= knobs
    scenario = at.session_state["scenario"]
    assert (scenario.consent.honour_gpc, scenario.traffic.visitors, scenario.consent.banner) == (False, 5000, "no_reject")
    at.sidebar.slider(key="consent.decision_share").set_value(0.8).run()
    scenario = at.session_state["scenario"]
    assert (scenario.consent.honour_gpc, scenario.traffic.visitors, scenario.consent.decision_share) == (False, 5000, 0.8)
    # The undrawn knobs stay in the URL, in the form the bound widgets read back.
    assert param(at, "consent.honour_gpc") == "false" and param(at, "traffic.visitors") == "5000"
    assert param(at, "consent.decision_share") == "0.8" and param(at, "present") == "1"


def test_the_presenter_toggle_switches_presenter_mode_and_keeps_every_knob(lesson_dir, password_hash):
    at = open_advanced(app({"traffic.visitors": "4000"}, presenter_hash=password_hash))
    at.sidebar.checkbox(key="consent.honour_gpc").uncheck().run()
    at.sidebar.toggle(key="present.toggle").set_value(True).run()
    assert not at.exception and param(at, "present") == "1"
    assert not [c for c in at.sidebar.checkbox if c.key == "consent.honour_gpc"]
    assert param(at, "consent.honour_gpc") == "false" and param(at, "traffic.visitors") == "4000"
    at.sidebar.selectbox(key="consent.banner").set_value("no_banner").run()
    assert (at.session_state["scenario"].consent.honour_gpc, at.session_state["scenario"].traffic.visitors) == (False, 4000)
    at.sidebar.toggle(key="present.toggle").set_value(False).run()
    assert not at.exception and "present" not in at.query_params
    assert at.sidebar.checkbox(key="consent.honour_gpc").value is False
    scenario = at.session_state["scenario"]
    assert (scenario.consent.honour_gpc, scenario.traffic.visitors, scenario.consent.banner) == (False, 4000, "no_banner")


def test_every_page_of_the_app_can_be_a_lesson_step():
    """Every page app.py registers has a title in the catalogue, so a lesson may show it."""
    import ast

    tree = ast.parse((lessons.ROOT / "app.py").read_text())
    table = next(n.value for n in ast.walk(tree) if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "PAGES")
    registered = {name for name, _ in ast.literal_eval(table)}
    assert all((lessons.ROOT / "app_pages" / f"{name}.py").exists() for name in registered)
    assert registered and set(lessons.lesson_pages()) == registered
    assert set(lessons.DEFAULT_ORDER) <= registered


def test_presenter_mode_makes_every_big_number_at_least_48_px():
    """The fixed presenter-mode CSS is drawn on a page without big rail numbers of its own, only when presenting."""
    from ui.present import PRESENT_CSS

    assert "font-size: 3rem" in PRESENT_CSS  # 48 px at the browser's 16 px root size
    for present, expected in (("1", True), (None, False)):
        at = AppTest.from_file("../app.py", default_timeout=120)
        for k, v in {**{k: str(v) for k, v in SMALL.items()}, **({"present": present} if present else {})}.items():
            at.query_params[k] = v
        at.run()
        at.switch_page("app_pages/identity.py").run()
        assert not at.exception
        assert any(PRESENT_CSS in h.proto.body for h in at.get("html")) is expected
