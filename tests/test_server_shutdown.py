"""The app server stopped mid-build: `streamlit run app.py` in a real process, a presenter's build of
a large run under way in the browser, then SIGTERM to the server. The build's temporary run folder
(data/runs/.tmp-*) must be gone when the server has exited, and no run published.

Streamlit runs scripts in daemon threads and turns SIGTERM into a graceful stop; what removes the
folder is simulators.sinks' exit hook (writers told to stop, leftovers removed). The second test
checks that hook without a browser: a build in a daemon thread of a plain Python process that exits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import streamlit_authenticator as stauth
from browser_helpers import CHROMIUM, CHROMIUM_ARGS, ROOT, TIMEOUT_MS, log_in, open_page, secrets_toml, streamlit_process
from playwright.sync_api import expect, sync_playwright

PASSWORD = "shutdown-test-password"
HASH_KEY = "5e" * 32


def temporaries(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.name.startswith(".tmp-")) if root.exists() else []


def wait_for_data(root: Path, proc: subprocess.Popen, log: Path | None = None, timeout: float = 180) -> Path:
    """Wait until a temporary run folder under root holds Parquet files (the build is writing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited early with {proc.returncode}" + (f":\n{log.read_text(errors='replace')}" if log else ""))
        for tmp in temporaries(root):
            if any(tmp.rglob("*.parquet")):
                return tmp
        time.sleep(0.05)
    raise AssertionError(f"no temporary run folder with data under {root} after {timeout} s")


@pytest.mark.slow
@pytest.mark.browser
def test_sigterm_to_the_server_during_a_build_leaves_no_temporary_folder(tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(secrets_toml(stauth.Hasher.hash(PASSWORD), "shutdown-test-cookie-key-" + "0" * 24))
    runs, log = tmp_path / "runs", tmp_path / "server.log"
    env = {"DRCL_HASH_KEY": HASH_KEY, "DRCL_RUNS_DIR": str(runs)}
    with streamlit_process(secrets, env, log) as (base, server), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            open_page(page, base + "/runs", ready="[data-testid='stForm']")
            log_in(page, PASSWORD)
            expect(page.get_by_role("button", name="Build run")).to_be_visible()
            # The page's default size (1,000,000 visitors, 7 days) takes long enough to be stopped mid-write.
            page.get_by_role("button", name="Build run").click()
            tmp = wait_for_data(runs, server, log)
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
        finally:
            browser.close()
    assert not tmp.exists(), f"{tmp} left behind; server log:\n{log.read_text(errors='replace')}"
    assert temporaries(runs) == []
    assert [p.name for p in runs.iterdir()] == [], "a stopped build must publish nothing"


BUILD_IN_A_DAEMON_THREAD = textwrap.dedent("""
    import signal, sys, threading
    from engine.scenario import apply_overrides, load_preset
    from ui.services import runs

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # like Streamlit: SIGTERM ends the main loop
    scenario = apply_overrides(load_preset("eu_shop"), {"traffic.visitors": 1_000_000})
    threading.Thread(target=runs.build, args=(scenario, lambda v, e: None), daemon=True).start()
    stop.wait()
    print("main thread done", flush=True)
""")


@pytest.mark.slow
def test_a_process_exiting_during_a_build_removes_its_temporary_folder(tmp_path):
    runs = tmp_path / "runs"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DRCL_HASH_KEY": HASH_KEY, "DRCL_RUNS_DIR": str(runs)}
    proc = subprocess.Popen([sys.executable, "-c", BUILD_IN_A_DAEMON_THREAD], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        tmp = wait_for_data(runs, proc)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err.decode()
    assert b"main thread done" in out
    assert not tmp.exists() and temporaries(runs) == [], err.decode()
    assert [p.name for p in runs.iterdir()] == []
