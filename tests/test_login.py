"""Presenter login on the Runs page, driven through streamlit-authenticator's own form in AppTest.

AppTest can drive the form: `login()` draws st.form("presenter-login") with two text inputs and a
submit button, and checks the password in the same run. Its cookie (extra-streamlit-components'
CookieManager, a custom component) is only drawn, never read back, in AppTest: st.context.cookies
is empty there, so re-authentication by cookie is covered by the browser test instead.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import streamlit_authenticator as stauth
from streamlit.testing.v1 import AppTest

from ui.components.auth import EXAMPLE_COOKIE_KEY

PASSWORD = "a-test-password-for-presenters"
# 32+ bytes: PyJWT warns about shorter HMAC keys (and pytest turns warnings into errors).
COOKIE_KEY = "test-cookie-key-0123456789abcdef0123"
ROOT = Path(__file__).resolve().parents[1]
RUNS_PAGE = "app_pages/runs.py"
LOGIN_FORM = "presenter-login"
EXAMPLE_WARNING = "example cookie key"


@pytest.fixture(scope="module")
def password_hash() -> str:
    return stauth.Hasher.hash(PASSWORD)


def auth_secrets(password_hash: str, cookie_key: str = COOKIE_KEY) -> dict:
    return {
        "cookie": {"name": "drcl_test", "key": cookie_key, "expiry_days": 1},
        "credentials": {"usernames": {"presenter": {"name": "Presenter", "email": "p@example.com", "password": password_hash}}},
        "login_sleep_time": 0,
    }


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DRCL_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path / "runs"


def runs_page(secrets: dict | None) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=120)
    if secrets is not None:
        at.secrets["auth"] = secrets
    else:
        at.secrets["unrelated"] = {"x": 1}  # some secrets, none for auth (ignores a developer's own file)
    at.run()
    at.switch_page(RUNS_PAGE).run()
    assert not at.exception
    return at


def runs_ui_shown(at: AppTest) -> bool:
    return any(b.key == "runs.build" for b in at.button) or any(t.value == "Runs" for t in at.title)


def login_form_shown(at: AppTest) -> bool:
    return any(getattr(b, "form_id", None) == LOGIN_FORM for b in at.button)


def log_in(at: AppTest, username: str, password: str) -> AppTest:
    inputs = {ti.label: ti for ti in at.text_input if ti.form_id == LOGIN_FORM}
    inputs["Username"].input(username)
    inputs["Password"].input(password)
    next(b for b in at.button if b.form_id == LOGIN_FORM and b.label == "Login").click()
    at.run()
    assert not at.exception
    return at


def test_runs_page_is_locked_without_login(password_hash, runs_dir):
    at = runs_page(auth_secrets(password_hash))
    assert login_form_shown(at)
    assert not runs_ui_shown(at)
    assert not [w for w in at.main if (getattr(w, "key", None) or "").startswith("runs.")]
    assert any("for presenters" in i.value for i in at.info)
    assert not at.error and not at.warning


@pytest.mark.slow
def test_presenter_login_unlocks_runs(password_hash, runs_dir):
    at = log_in(runs_page(auth_secrets(password_hash)), "presenter", PASSWORD)
    assert at.session_state["authentication_status"] is True
    assert runs_ui_shown(at)
    assert not at.error
    at.run()  # the next run no longer draws the login form, and offers a log-out button
    assert not login_form_shown(at)
    assert runs_ui_shown(at)
    logout = at.sidebar.button(key="presenter-logout")
    logout.click().run()
    at.run()
    assert not runs_ui_shown(at)
    assert login_form_shown(at)


@pytest.mark.parametrize(("username", "password"), [("presenter", "not the password"), ("somebody", PASSWORD)])
def test_wrong_credentials_show_an_error_and_keep_the_page_locked(password_hash, runs_dir, username, password):
    at = log_in(runs_page(auth_secrets(password_hash)), username, password)
    assert [e.value for e in at.error] == ["Username or password is incorrect."]
    assert not runs_ui_shown(at)
    assert login_form_shown(at)


def test_session_flag_alone_unlocks_the_page(password_hash, runs_dir):
    """What the page relies on: streamlit-authenticator's session flag (set by a cookie login, too)."""
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.secrets["auth"] = auth_secrets(password_hash)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "presenter"
    at.session_state["name"] = "Presenter"
    at.run()
    at.switch_page(RUNS_PAGE).run()
    assert not at.exception
    assert runs_ui_shown(at) and not login_form_shown(at)


@pytest.mark.slow
def test_example_secrets_warn(password_hash, runs_dir):
    example = tomllib.loads((ROOT / ".streamlit" / "secrets.toml.example").read_text())["auth"]
    assert example["cookie"]["key"] == EXAMPLE_COOKIE_KEY
    warned = runs_page({**example, "login_sleep_time": 0})
    assert any(EXAMPLE_WARNING in w.value for w in warned.warning)
    # Own cookie key but the example password: still warned.
    example_password = {**auth_secrets(example["credentials"]["usernames"]["presenter"]["password"])}
    assert any(EXAMPLE_WARNING in w.value for w in runs_page(example_password).warning)
    # Own key and own password: no warning.
    assert not runs_page(auth_secrets(password_hash)).warning


def test_login_not_configured(runs_dir):
    at = runs_page(None)
    assert any("not configured" in e.value for e in at.error)
    assert not login_form_shown(at) and not runs_ui_shown(at)
