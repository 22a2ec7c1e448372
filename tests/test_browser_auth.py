"""Presenter access against a real server (`streamlit run`) in Debian's chromium: login cookies that
are forged, stale or malformed, and a deployment still configured with the example secrets.

The cookie is what streamlit-authenticator reads from the browser (st.context.cookies), so these
faults only exist in a real server: AppTest has no cookies. Each case puts one cookie into a fresh
browser context, opens the Runs page and expects the login form (or, with example secrets, the
refusal), no traceback and no presenter UI. A valid cookie is the control: it must unlock the page,
or the cases would pass without the cookie ever being read. Screenshots land in tests/artifacts/.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tomllib
from datetime import datetime, timedelta

import jwt
import pytest
import streamlit_authenticator as stauth
from browser_helpers import (
    ROOT,
    TIMEOUT_MS,
    chromium,
    open_page,
    rerun_after,
    secrets_toml,
    streamlit_server,
)
from playwright.sync_api import Browser, Page, expect

from ui.presenter_secrets import EXAMPLE_COOKIE_KEY, PASSWORD_ENV

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = ROOT / "tests" / "artifacts"
PASSWORD = "browser-auth-test-password"
COOKIE_KEY = "browser-auth-cookie-key-" + "1" * 40  # 64 bytes: PyJWT warns below that for HS512
COOKIE = "drcl_browser_test"  # the name secrets_toml() configures
LOGIN_FORM = "[data-testid='stForm']"
# What a traceback or a file path in the page would look like.
LEAKS = ("Traceback", 'File "', "site-packages", str(ROOT))


def _future() -> float:
    return (datetime.now() + timedelta(days=1)).timestamp()


def _token(key: str, algorithm: str = "HS256", **claims: object) -> str:
    return jwt.encode({"username": "presenter", "exp_date": _future(), **claims}, key, algorithm=algorithm)


def _unsigned() -> str:
    return jwt.encode({"username": "presenter", "exp_date": _future()}, None, algorithm="none")


# The faults of issue 12, plus neighbours that reach the same code: a payload the authenticator
# indexes without checking, and a cookie whose own expiry has passed.
BAD_COOKIES = {
    "alg-none": _unsigned,
    "alg-hs512": lambda: _token(COOKIE_KEY, "HS512"),
    "user-gone": lambda: _token(COOKIE_KEY, username="former-presenter"),
    "garbage": lambda: "not-a-jwt-at-all",
    "forged-example-key": lambda: _token(EXAMPLE_COOKIE_KEY),
    "no-expiry": lambda: jwt.encode({"username": "presenter"}, COOKIE_KEY, algorithm="HS256"),
    "expired": lambda: _token(COOKIE_KEY, exp_date=(datetime.now() - timedelta(days=1)).timestamp()),
}




@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser-auth")
    secrets = tmp / "secrets.toml"
    secrets.write_text(secrets_toml(stauth.Hasher.hash(PASSWORD), COOKIE_KEY))
    log = tmp / "server.log"
    with streamlit_server(secrets, {"DRCL_RUNS_DIR": str(tmp / "runs")}, log) as base:
        yield base, log


@pytest.fixture(scope="module")
def example_server(tmp_path_factory):
    """A deployment copied from the example: the committed secrets.toml.example, unchanged."""
    tmp = tmp_path_factory.mktemp("browser-example")
    log = tmp / "server.log"
    example = tmp / "secrets.toml"  # Streamlit only reads secrets from files named *.toml
    example.write_text((ROOT / ".streamlit" / "secrets.toml.example").read_text())
    with streamlit_server(example, {"DRCL_RUNS_DIR": str(tmp / "runs")}, log) as base:
        yield base, log


def page_with_cookie(browser: Browser, base: str, name: str, value: str | None) -> Page:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    if value is not None:
        context.add_cookies([{"name": name, "value": value, "url": base}])
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


def assert_no_leak(page: Page) -> None:
    expect(page.locator("[data-testid='stException']")).to_have_count(0)
    text = page.locator("[data-testid='stApp']").inner_text()
    assert not [leak for leak in LEAKS if leak in text], text[:2000]


def shot(page: Page, name: str) -> None:
    path = ARTIFACTS / f"{name}.png"
    path.unlink(missing_ok=True)
    page.screenshot(path=str(path), full_page=True)


def test_a_valid_cookie_unlocks_the_runs_page(server, browser):
    """The control: the test's cookies do reach the authenticator."""
    base, _ = server
    page = page_with_cookie(browser, base, COOKIE, _token(COOKIE_KEY))
    open_page(page, base + "/runs", ready="[data-testid='stApp'] h1, " + LOGIN_FORM)
    expect(page.get_by_role("button", name="Build run")).to_be_visible()
    assert_no_leak(page)
    page.context.close()


def cookie_gone(page: Page, name: str, timeout_s: float = 15) -> bool:
    """Whether the browser dropped the cookie (the app deletes a bad one through its cookie component)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if name not in {c["name"] for c in page.context.cookies()}:
            return True
        page.wait_for_timeout(250)
    return False


@pytest.mark.parametrize("case", list(BAD_COOKIES))
def test_a_bad_cookie_leads_to_the_login_form(server, browser, case):
    base, _ = server
    page = page_with_cookie(browser, base, COOKIE, BAD_COOKIES[case]())
    open_page(page, base + "/runs", ready=LOGIN_FORM)
    expect(page.get_by_role("textbox", name="Password", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Build run")).to_have_count(0)
    assert_no_leak(page)
    assert cookie_gone(page, COOKIE), "the bad cookie was not deleted"
    shot(page, f"runs-bad-cookie-{case}")
    if case == "user-gone":
        # The session is not stuck: the presenter logs in with the password after the bad cookie.
        page.get_by_role("textbox", name="Username", exact=True).fill("presenter")
        page.get_by_role("textbox", name="Password", exact=True).fill(PASSWORD)
        rerun_after(page, lambda: page.get_by_role("button", name="Login").click())
        expect(page.get_by_role("button", name="Build run")).to_be_visible()
        assert_no_leak(page)
    page.context.close()


def test_bad_cookies_are_logged_without_their_content(server):
    """Runs after the cases above (file order): the log names each problem, never a token or a traceback."""
    _, log = server
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[-3000:]
    for problem in ("unexpected signing algorithm", "user no longer configured", "not a JWT", "signed with another key",
                    "malformed claims", "expired"):
        assert f"Ignoring a presenter cookie: {problem}" in text, problem
    assert "eyJ" not in text and "not-a-jwt" not in text  # a JWT starts with the base64 of '{"'


def test_example_secrets_refuse_presenters(example_server, browser):
    """Copied from the example: no login form but a clear message, a cookie forged with the example key
    opens nothing, and the server log warns once (not once per page view)."""
    base, log = example_server
    example = tomllib.loads((ROOT / ".streamlit" / "secrets.toml.example").read_text())["auth"]
    for view in range(2):
        page = page_with_cookie(browser, base, example["cookie"]["name"], _token(EXAMPLE_COOKIE_KEY))
        open_page(page, base + "/runs", ready="[data-testid='stAlert']")
        expect(page.get_by_text("configured with the example secrets")).to_be_visible()
        expect(page.locator(LOGIN_FORM)).to_have_count(0)
        expect(page.get_by_role("button", name="Build run")).to_have_count(0)
        expect(page.get_by_role("heading", name="Runs", exact=True)).to_have_count(0)
        assert_no_leak(page)
        if view == 0:
            shot(page, "runs-example-secrets")
        page.context.close()
    text = log.read_text(errors="replace")
    assert text.count("WARNING drcl.auth: Presenter features are refused") == 1, text[-3000:]
    assert "the example cookie key" in text and "the example password for user presenter" in text


def test_secrets_made_like_make_run_let_the_presenter_in(tmp_path, browser):
    """End to end: `python -m ui.presenter_secrets` (make run's step) with DRCL_PRESENTER_PASSWORD, then a
    real server with that file; the password logs in, the example password does not."""
    secrets = tmp_path / "secrets.toml"
    made = subprocess.run([sys.executable, "-m", "ui.presenter_secrets", str(secrets)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, PASSWORD_ENV: PASSWORD})
    assert made.returncode == 0, made.stderr
    with streamlit_server(secrets, {"DRCL_RUNS_DIR": str(tmp_path / "runs")}, tmp_path / "server.log") as base:
        page = page_with_cookie(browser, base, COOKIE, None)
        open_page(page, base + "/runs", ready=LOGIN_FORM)
        for password in ("change-me", PASSWORD):
            page.get_by_role("textbox", name="Username", exact=True).fill("presenter")
            page.get_by_role("textbox", name="Password", exact=True).fill(password)
            rerun_after(page, lambda: page.get_by_role("button", name="Login").click())
            if password == "change-me":
                expect(page.get_by_text("Username or password is incorrect.")).to_be_visible()
        expect(page.get_by_role("button", name="Build run")).to_be_visible()
        assert_no_leak(page)
        shot(page, "runs-presenter-logged-in")
        page.context.close()


@pytest.fixture(scope="module")
def browser():
    with chromium(ARTIFACTS) as b:
        yield b
