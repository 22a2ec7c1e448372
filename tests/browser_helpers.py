"""Helpers for the browser smoke test: a Streamlit server in a subprocess, Debian's chromium via
Playwright, and generic reads of what Streamlit draws (data-testid selectors only)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
RUNNING = "[data-testid='stApp'][data-test-script-state='running']"
TIMEOUT_MS = 90_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def secrets_toml(password_hash: str, cookie_key: str) -> str:
    """A presenter-only [auth] section, the shape of .streamlit/secrets.toml.example."""
    return (
        "[auth]\nlogin_sleep_time = 0\n\n"
        f'[auth.cookie]\nname = "drcl_browser_test"\nkey = "{cookie_key}"\nexpiry_days = 1\n\n'
        '[auth.credentials.usernames.presenter]\nname = "Presenter"\nemail = "presenter@example.com"\n'
        f'password = "{password_hash}"\n'
    )


@contextlib.contextmanager
def streamlit_server(secrets_file: Path, env: dict[str, str], log: Path) -> Iterator[str]:
    """`streamlit run app.py` on a free port with the given secrets file; yields the base URL and
    always stops the server (its whole process group) afterwards."""
    with streamlit_process(secrets_file, env, log) as (base, _):
        yield base


@contextlib.contextmanager
def streamlit_process(secrets_file: Path, env: dict[str, str], log: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """As streamlit_server, yielding the server process too (to signal it)."""
    port = free_port()
    cmd = [
        sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
        "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", "--secrets.files", str(secrets_file),
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_healthy(base, proc, log)
            yield base, proc
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)


def _wait_healthy(base: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"streamlit not healthy after {timeout} s:\n{log.read_text(errors='replace')}")


def wait_idle(page: Page) -> None:
    """Wait until the script run is over (the app root says notRunning)."""
    page.wait_for_selector(IDLE, timeout=TIMEOUT_MS)


def rerun_after(page: Page, action) -> None:
    """Do something that triggers a rerun, and wait for that rerun to start (briefly) and finish."""
    action()
    with contextlib.suppress(Exception):
        page.wait_for_selector(RUNNING, timeout=3_000)
    wait_idle(page)


def log_in(page: Page, password: str, user: str = "presenter") -> None:
    """Fill the presenter login form on the page shown and submit it."""
    page.get_by_role("textbox", name="Username", exact=True).fill(user)
    page.get_by_role("textbox", name="Password", exact=True).fill(password)
    rerun_after(page, lambda: page.get_by_role("button", name="Login").click())


def open_page(page: Page, url: str, ready: str = "h1") -> None:
    """Open a URL and wait for its script run to end and for `ready` (default: the page title)."""
    page.goto(url)
    wait_idle(page)
    page.locator(ready).first.wait_for(timeout=TIMEOUT_MS)


def metrics(page: Page, want: tuple[str, ...] = ()) -> dict[str, str]:
    """st.metric values by label; first waits for each label in `want` to show its value (a page
    streams its elements in, and the first metric can be drawn before the last)."""
    for label in want:
        page.locator("[data-testid='stMetric']").filter(has_text=label).locator(
            "[data-testid='stMetricValue']").wait_for(timeout=TIMEOUT_MS)
    out = {}
    for m in page.locator("[data-testid='stMetric']").all():
        label = m.locator("[data-testid='stMetricLabel']").inner_text().strip()
        out[label] = m.locator("[data-testid='stMetricValue']").inner_text().strip()
    return out


def as_number(text: str) -> float:
    return float(text.replace(",", "").replace("%", "").strip())


def choose(page: Page, label: str, option: str) -> None:
    """Pick an option in the selectbox with this label (Streamlit draws it as a combobox)."""
    box = page.get_by_role("combobox", name=label, exact=True)
    # Scrolled into view first: a click that scrolls the sidebar opens the menu and closes it again.
    box.scroll_into_view_if_needed()
    box.click()
    page.get_by_role("option", name=option, exact=True).click()


@contextlib.contextmanager
def chromium(artifacts: Path) -> Iterator[Browser]:
    """Debian's chromium through Playwright (a module-scoped fixture in the browser tests)."""
    artifacts.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
