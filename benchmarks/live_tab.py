"""What one open Live telemetry tab costs the server: its CPU while the stream runs, against the same
tab paused, measured on a real server with Debian's chromium (target: at most 2% of a core).

Run: .venv/bin/python benchmarks/live_tab.py [seconds]
"""

from __future__ import annotations

import sys
import time

from playwright.sync_api import sync_playwright

from benchmarks.harness import CHROMIUM, CHROMIUM_ARGS, IDLE, streamlit_server

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0


def main() -> None:
    with streamlit_server() as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(f"{server.url}/live")
        page.wait_for_selector(IDLE, timeout=120_000)
        page.get_by_role("heading", name="Live telemetry").wait_for(timeout=120_000)
        results = {}
        for state in ("streaming", "paused"):
            button = page.get_by_role("button", name="Resume" if state == "streaming" else "Pause")
            if button.is_enabled():
                button.click()
            time.sleep(3)  # let the click's rerun finish before measuring
            cpu0, t0 = server.cpu_seconds(), time.monotonic()
            time.sleep(SECONDS)
            results[state] = (server.cpu_seconds() - cpu0) / (time.monotonic() - t0) * 100
        browser.close()
        print(f"one open Live telemetry tab, server CPU over {SECONDS:.0f} s (% of one core):")
        for state, pct in results.items():
            print(f"  {state:<10} {pct:5.1f} %")
        print(f"  streaming costs {results['streaming'] - results['paused']:.1f} points more than paused; target: streaming <= 2 %")


if __name__ == "__main__":
    main()
