"""Presenter login on the Runs page, driven through streamlit-authenticator's own form in AppTest.

AppTest can drive the form: `login()` draws st.form("presenter-login") with two text inputs and a
submit button, and checks the password in the same run. Its cookie (extra-streamlit-components'
CookieManager, a custom component) is only drawn, never read back, in AppTest: st.context.cookies
is empty there, so re-authentication by cookie is covered by the browser tests instead
(tests/test_browser.py, and the forged and stale cookies of tests/test_browser_auth.py); the cookie
check itself is a pure function, tested here.
"""

from __future__ import annotations

import logging
import re
import tomllib
from datetime import datetime, timedelta
from pathlib import Path

import jwt
import pytest
import streamlit_authenticator as stauth
from streamlit.testing.v1 import AppTest

from ui.components import auth
from ui.components.auth import cookie_problem
from ui.presenter_secrets import EXAMPLE_COOKIE_KEY

PASSWORD = "a-test-password-for-presenters"
# 32+ bytes: PyJWT warns about shorter HMAC keys (and pytest turns warnings into errors).
COOKIE_KEY = "test-cookie-key-0123456789abcdef0123"
ROOT = Path(__file__).resolve().parents[1]
RUNS_PAGE = "app_pages/runs.py"
LOGIN_FORM = "presenter-login"
REFUSAL = "Presenter login is off on this server"


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


def test_a_session_of_a_removed_user_is_logged_out(password_hash, runs_dir):
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.secrets["auth"] = auth_secrets(password_hash)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "former-presenter"
    at.run()
    at.switch_page(RUNS_PAGE).run()
    assert not at.exception
    assert login_form_shown(at) and not runs_ui_shown(at)
    assert at.session_state["authentication_status"] is None


def example_secrets() -> dict:
    example = tomllib.loads((ROOT / ".streamlit" / "secrets.toml.example").read_text())["auth"]
    assert example["cookie"]["key"] == EXAMPLE_COOKIE_KEY
    return {**example, "login_sleep_time": 0}


def refused(at: AppTest) -> bool:
    return any(REFUSAL in e.value for e in at.error) and any("make run" in i.value for i in at.info)


@pytest.mark.slow
def test_example_secrets_are_refused(password_hash, runs_dir):
    example = example_secrets()
    at = runs_page(example)
    assert refused(at) and "example secrets" in at.error[0].value
    assert not login_form_shown(at) and not runs_ui_shown(at)
    # Own cookie key but the example password (its hash under the example's salt): still refused.
    example_password = auth_secrets(example["credentials"]["usernames"]["presenter"]["password"])
    assert refused(runs_page(example_password))
    # The example cookie key with an own password: refused too (anyone can forge its cookie).
    assert refused(runs_page(auth_secrets(password_hash, cookie_key=EXAMPLE_COOKIE_KEY)))
    # Own key and own password: the login form, no refusal.
    ok = runs_page(auth_secrets(password_hash))
    assert login_form_shown(ok) and not ok.error


def test_example_secrets_lock_even_a_logged_in_session(runs_dir):
    """What a login with the example password or a cookie forged with the example key would set: it
    opens nothing while the example secrets are configured."""
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.secrets["auth"] = example_secrets()
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "presenter"
    at.run()
    at.switch_page(RUNS_PAGE).run()
    assert not at.exception
    assert refused(at) and not runs_ui_shown(at) and not login_form_shown(at)
    assert not [w for w in at.main if (getattr(w, "key", None) or "").startswith("runs.")]


def test_example_secrets_are_logged_once(runs_dir, caplog, monkeypatch):
    monkeypatch.setattr(auth, "_warned", set())
    caplog.set_level(logging.WARNING, logger="drcl")
    for _ in range(2):  # two sessions on any page: one warning for the server
        at = AppTest.from_file("../app.py", default_timeout=120)
        at.secrets["auth"] = example_secrets()
        at.run()
        assert not at.exception
    warnings = [r for r in caplog.records if r.name == "drcl.auth" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Presenter features are refused" in warnings[0].getMessage()
    assert "the example cookie key" in warnings[0].getMessage()


def test_own_secrets_log_no_warning(password_hash, runs_dir, caplog, monkeypatch):
    monkeypatch.setattr(auth, "_warned", set())
    caplog.set_level(logging.WARNING, logger="drcl")
    runs_page(auth_secrets(password_hash))
    assert not [r for r in caplog.records if r.name.startswith("drcl")]


def test_a_failing_login_ends_at_the_login_form(password_hash, runs_dir, caplog, monkeypatch):
    """Whatever streamlit-authenticator raises (here once, as for a cookie it cannot handle): the
    error is logged with an id, and the page shows the login form with that id, not a traceback."""
    real_login = stauth.Authenticate.login
    calls = {"n": 0}

    def login_raising_once(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise stauth.LoginError("User not authorized")
        return real_login(self, *args, **kwargs)

    monkeypatch.setattr(stauth.Authenticate, "login", login_raising_once)
    caplog.set_level(logging.ERROR, logger="drcl")
    at = runs_page(auth_secrets(password_hash))
    assert login_form_shown(at) and not runs_ui_shown(at)
    shown = re.search(r"error id \*\*([0-9a-f]{8})\*\*", " ".join(e.value for e in at.error))
    assert shown, [e.value for e in at.error]
    logged = [r for r in caplog.records if r.name == "drcl.errors"]
    assert len(logged) == 1 and shown.group(1) in logged[0].getMessage() and logged[0].exc_info
    log_in(at, "presenter", PASSWORD)  # and the form works
    assert runs_ui_shown(at)


def _token(key: str = COOKIE_KEY, algorithm: str = "HS256", **claims: object) -> str:
    payload = {"username": "presenter", "exp_date": (datetime.now() + timedelta(days=1)).timestamp(), **claims}
    return jwt.encode(payload, key, algorithm=algorithm)


@pytest.mark.parametrize(("token", "problem"), [
    (None, None),
    (_token(), None),
    (jwt.encode({"username": "presenter", "exp_date": 4e9}, None, algorithm="none"), "unexpected signing algorithm"),
    (_token(COOKIE_KEY * 2, "HS512"), "unexpected signing algorithm"),
    (_token(username="former-presenter"), "user no longer configured"),
    ("not-a-jwt", "not a JWT"),
    ("", "not a JWT"),
    (_token(EXAMPLE_COOKIE_KEY), "signed with another key"),
    (jwt.encode({"username": "presenter"}, COOKIE_KEY, algorithm="HS256"), "malformed claims"),
    (_token(exp_date="tomorrow"), "malformed claims"),
    (_token(username=["presenter"]), "malformed claims"),
    (_token(exp_date=1.0), "expired"),
    (_token(exp=1), "expired"),  # PyJWT's own expiry claim
    (_token()[:-4] + "AAAA", "signed with another key"),
], ids=lambda v: None if v is None else str(v)[:24])
def test_cookie_problem(token, problem):
    assert cookie_problem(token, COOKIE_KEY, {"presenter"}, datetime.now().timestamp()) == problem


def test_login_not_configured(runs_dir):
    at = runs_page(None)
    assert any("not configured" in e.value for e in at.error)
    assert not login_form_shown(at) and not runs_ui_shown(at)
