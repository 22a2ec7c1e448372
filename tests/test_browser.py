"""Browser smoke test: the real app (`streamlit run`) in Debian's chromium, driven by Playwright.

Opens every page, logs in as presenter on Runs and builds a small run there, changes the banner
design in the sidebar and checks that the full stack moves while the truth does not, that the
scenario is in the URL and that the URL alone reproduces it in a fresh browser. Screenshots of
each page land in tests/artifacts/ (git-ignored). chromium is installed by `make browser`.
"""

from __future__ import annotations

import re

import pytest
import streamlit_authenticator as stauth
from browser_helpers import (
    ROOT,
    TIMEOUT_MS,
    as_number,
    choose,
    chromium,
    metrics,
    open_page,
    rerun_after,
    secrets_toml,
    streamlit_server,
    wait_idle,
)
from playwright.sync_api import Browser, Page, expect

from ui import knob_words, words
from ui.words import t

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "tests" / "artifacts"
PASSWORD = "browser-test-password"
# The pages other than Overview and Runs may be placeholders: only generic checks for them.
PAGES = ["dashboard", "consent_impact", "funnels", "attribution", "live", "data_rights", "data_quality", "privacy", "identity", "profiles", "copy_tests"]
BANNER = "Banner"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    secrets = tmp / "secrets.toml"
    secrets.write_text(secrets_toml(stauth.Hasher.hash(PASSWORD), "browser-test-cookie-key-" + "0" * 24))
    runs = tmp / "runs"
    env = {"DRCL_HASH_KEY": "5e" * 32, "DRCL_RUNS_DIR": str(runs)}
    with streamlit_server(secrets, env, tmp / "server.log") as base:
        yield base, runs




def new_page(browser: Browser) -> Page:
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


def assert_clean(page: Page, title: bool = True) -> None:
    errors = page.locator("[data-testid='stException']")
    assert errors.count() == 0, f"{page.url}: {errors.first.inner_text()[:2000]}"
    # app.py's error boundary shows an error id instead of an exception element.
    caught = page.get_by_text("Something went wrong on this page")
    assert caught.count() == 0, f"{page.url}: {caught.first.inner_text()}"
    if title:
        assert page.locator("h1").first.inner_text().strip(), "the page title did not render"


def shot(page: Page, name: str) -> None:
    path = ARTIFACTS / f"{name}.png"
    path.unlink(missing_ok=True)
    page.screenshot(path=str(path), full_page=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# Vega-Lite logs its warnings through console.warn with a "WARN" prefix ("WARN Dropping fit-y ...").
VEGA_WARNING = re.compile(r"^\s*\[?WARN")
# Chromium's own notes that are not the page's fault (no GPU, fonts, a favicon this app does not ship).
NOT_OURS = re.compile(r"favicon|WebGL|GPU|Permissions-Policy|Unrecognized feature|font|web-vitals", re.I)


def console_listener(page: Page) -> list[str]:
    """Console errors and Vega warnings the page logs, as they come."""
    logged: list[str] = []

    def seen(msg) -> None:
        text = msg.text
        if NOT_OURS.search(text):
            return
        if "/_stcore/" in (msg.location or {}).get("url", ""):
            return  # Streamlit's client asks for health/host-config relative to a page's own URL: a 404 it retries at the root
        if msg.type == "error" or (msg.type == "warning" and VEGA_WARNING.search(text)):
            logged.append(f"{msg.type}: {text[:300]}")

    page.on("console", seen)
    page.on("pageerror", lambda exc: logged.append(f"pageerror: {str(exc)[:300]}"))
    return logged


def main_overflow(page: Page) -> tuple[int, int]:
    """Streamlit's main container: the document itself never scrolls, this one does."""
    return tuple(page.evaluate(
        "(() => { const m = document.querySelector(\"[data-testid='stMain']\"); return [m.scrollWidth, m.clientWidth]; })()"))


@pytest.mark.parametrize(("lang", "width", "height"), [("en", 1440, 900), ("de", 1440, 900), ("de", 390, 844)])
def test_every_page_renders(server, browser, lang, width, height):
    """Every page in English and German on a laptop, and in German on a phone: no exception, nothing
    wider than the screen, no console error or Vega warning; a screenshot of each."""
    base, _ = server
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    logged = console_listener(page)
    with words.speaking(lang):
        titles = [t(f"frame.page.{name}") for name in ("overview", *PAGES, "runs", "room")]
    open_page(page, f"{base}/?lang={lang}")
    page.locator("[data-testid='stMetricValue']").first.wait_for()
    assert_clean(page)
    if width >= 1000:  # on a phone the menu is folded away
        # Every page is in sight in the menu: collapsed, it hid the last three behind "View 3 more".
        links = page.locator("[data-testid='stSidebarNav'] [data-testid='stSidebarNavLink']")
        shown = [a.inner_text().splitlines()[-1].strip() for a in links.all() if a.is_visible()]
        assert shown == titles, shown
    with words.speaking(lang):
        assert page.locator("h1").first.inner_text().strip() == t("overview.title")
    failures = []
    for path in ("", *PAGES, "runs", "room"):
        if path:
            open_page(page, f"{base}/{path}?lang={lang}", ready="[data-testid='stMain'] h1, [data-testid='stForm']")
            assert page.url.split("?")[0].rstrip("/").endswith(path)
            assert_clean(page, title=path != "runs")
        scroll, client = main_overflow(page)
        if scroll > client:
            failures.append(f"{path or 'overview'}: main container {scroll} px wide in {client} px")
        shot(page, f"{lang}-{width}-{path or 'overview'}")
    failures += logged
    page.context.close()
    assert not failures, failures


def test_presenter_logs_in_and_builds_a_run(server, browser):
    base, runs = server
    page = new_page(browser)
    open_page(page, base + "/runs", ready="[data-testid='stForm']")  # the login form, nothing else
    expect(page.locator("[data-testid='stException']")).to_have_count(0)
    expect(page.get_by_role("button", name="Build run")).to_have_count(0)
    page.get_by_role("textbox", name="Username", exact=True).fill("presenter")
    page.get_by_role("textbox", name="Password", exact=True).fill("wrong password")
    rerun_after(page, lambda: page.get_by_role("button", name="Login").click())
    expect(page.get_by_text("Username or password is incorrect.")).to_be_visible()
    expect(page.get_by_role("button", name="Build run")).to_have_count(0)

    page.get_by_role("textbox", name="Password", exact=True).fill(PASSWORD)
    rerun_after(page, lambda: page.get_by_role("button", name="Login").click())
    expect(page.get_by_role("button", name="Build run")).to_be_visible()
    assert_clean(page)
    expect(page.get_by_role("heading", name=t("runs.title"), exact=True)).to_be_visible()

    # A small build through the real st.status / st.progress path.
    for label, value in (("Visitors", "1000"), ("Days", "1")):
        box = page.get_by_test_id("stMain").get_by_label(label, exact=True)  # the sidebar has a "Visitors" too
        box.fill(value)
        rerun_after(page, lambda box=box: box.press("Enter"))
    rerun_after(page, lambda: page.get_by_role("button", name="Build run").click())
    expect(page.get_by_text(re.compile(r"Run [0-9a-f]{16} built"))).to_be_visible()
    built = [d.name for d in runs.iterdir() if not d.name.startswith(".")]
    assert len(built) == 1 and (runs / built[0] / "runs").is_dir()
    assert_clean(page)
    shot(page, "runs")

    # The login cookie re-authenticates a new tab of the same browser profile.
    again = page.context.new_page()
    open_page(again, base + "/runs", ready="[data-testid='stApp'] h1, [data-testid='stForm']")
    expect(again.get_by_role("button", name="Build run")).to_be_visible()
    page.context.close()


OVERVIEW_METRICS = ("Truth: visitors", "Privacy baseline: visitors", "Full stack: visitors")


def test_banner_moves_the_full_stack_not_the_truth_and_lives_in_the_url(server, browser):
    base, _ = server
    page = new_page(browser)
    open_page(page, base + "/")
    before = metrics(page, OVERVIEW_METRICS)
    current = page.get_by_role("combobox", name=BANNER, exact=True).input_value()  # the choice's name, not its code
    target = next(o for o in ("no_reject", "reject_first_layer") if knob_words.option(o) != current)

    rerun_after(page, lambda: choose(page, BANNER, knob_words.option(target)))
    page.wait_for_url(re.compile(r"consent\.banner="))
    wait_idle(page)
    expect(page.locator("[data-testid='stMetric']").filter(has_text="Full stack: visitors")
           .locator("[data-testid='stMetricValue']")).not_to_have_text(before["Full stack: visitors"])
    after = metrics(page, OVERVIEW_METRICS)
    assert after["Truth: visitors"] == before["Truth: visitors"]
    assert as_number(after["Full stack: visitors"]) != as_number(before["Full stack: visitors"])
    assert f"consent.banner={target}" in page.url
    assert_clean(page)
    shot(page, "overview-banner-changed")

    fresh = new_page(browser)  # a new context: no cookies, no session, only the URL
    open_page(fresh, page.url)
    assert fresh.get_by_role("combobox", name=BANNER, exact=True).input_value() == knob_words.option(target)
    assert metrics(fresh, OVERVIEW_METRICS) == after
    fresh.context.close()
    page.context.close()


@pytest.fixture(scope="module")
def browser():
    with chromium(ARTIFACTS) as b:
        yield b
