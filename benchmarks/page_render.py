"""Per-page render cost on a warm cache: CPU milliseconds per rerun of each lesson page.

A room's learners share one computed run (ui.cache); what each session still pays on every step is
drawing the page itself: building charts, serialising chart data and tables, the sidebar. This
script renders each page of the lesson order in one process with AppTest, once to warm every
cache, then `--renders` more times, and prints the process CPU (all threads) per render and the
wall time per render. With `--profile PAGE` it also writes a cProfile of that page's warm renders
(`--profile-out`, default /tmp/page_render.prof) and prints the top functions by cumulative time.

To compare before/after in one run: `--baseline-ref REF` renders the same pages from the files of
REF (`git archive` into a temporary directory) in a subprocess first, then this tree, and prints
the ratio per page.

    PYTHONPATH=. .venv/bin/python -m benchmarks.page_render [--renders 10] [--pages overview privacy]
        [--present] [--baseline-ref HEAD~1] [--profile privacy]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)  # run by path (the baseline's process): the app's modules, not this folder's, come first
os.environ.setdefault("DRCL_HASH_KEY", "5e" * 32)
os.environ.setdefault("DRCL_RUNS_DIR", tempfile.mkdtemp(prefix="drcl-bench-runs-"))

# The lesson order (issue 10): the pages a room follows.
PAGES = ["overview", "consent_impact", "funnels", "live", "privacy", "data_rights", "copy_tests"]


def _check(at: object, page: str) -> None:
    """Stop on an exception or on the error boundary's message (it catches the page's exceptions)."""
    if at.exception or at.error:  # type: ignore[attr-defined]
        raise SystemExit(f"{page}: the app failed: {(at.exception or at.error)[0].value}")  # type: ignore[attr-defined]


def measure(root: Path, pages: list[str], renders: int, present: bool, profile: str | None,
            profile_out: Path) -> dict[str, dict[str, float]]:
    """{page: {cpu_ms, wall_ms, cold_s}}: a fresh session per page, one warming run, then `renders` reruns."""
    from streamlit.testing.v1 import AppTest

    out: dict[str, dict[str, float]] = {}
    for page in pages:
        at = AppTest.from_file(str(root / "app.py"), default_timeout=900)
        if present:
            at.query_params["present"] = "1"
        at.switch_page(f"app_pages/{page}.py")
        start = time.perf_counter()
        at.run()
        cold = time.perf_counter() - start
        _check(at, page)
        at.run()  # a second warm run: per-session lazies (widgets' state, first-use imports) out of the figures
        prof = cProfile.Profile() if page == profile else None
        if prof:
            # AppTest runs the script in a thread of its own: the profiler starts in every new thread.
            threading.setprofile(lambda *_, prof=prof: prof.enable())
        cpu, wall = [], []
        for _ in range(renders):
            c0, w0 = time.process_time(), time.perf_counter()
            at.run()
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
            _check(at, page)
        out[page] = {"cpu_ms": 1000 * statistics.median(cpu), "wall_ms": 1000 * statistics.median(wall), "cold_s": cold}
        if prof:
            threading.setprofile(None)
            prof.dump_stats(str(profile_out))
            stats = pstats.Stats(str(profile_out), stream=sys.stderr)
            stats.sort_stats("cumulative").print_stats(45)
            stats.sort_stats("tottime").print_stats(30)
    return out


def baseline(ref: str, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """The same measurement on the files of `ref` (git archive into a temporary directory; the repository
    is only read), in its own process (its own modules and caches)."""
    with tempfile.TemporaryDirectory(prefix="drcl-page-render-") as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", ref], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        # This script (REF may predate it) measuring REF's app: its modules first on the path.
        cmd = [sys.executable, str(Path(__file__).resolve()), "--json", "--root", tmp, "--renders", str(args.renders),
               "--pages", *args.pages] + (["--present"] if args.present else [])
        res = subprocess.run(cmd, cwd=tmp, env={**os.environ, "PYTHONPATH": tmp}, check=True,
                             capture_output=True, text=True)
        return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--renders", type=int, default=10)
    ap.add_argument("--pages", nargs="*", default=PAGES)
    ap.add_argument("--present", action="store_true", help="presenter mode (?present=1)")
    ap.add_argument("--baseline-ref", default=None, help="git ref to measure first, in its own worktree and process")
    ap.add_argument("--profile", default=None, help="a page to profile (cProfile of its warm renders)")
    ap.add_argument("--profile-out", type=Path, default=Path("/tmp/page_render.prof"))
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = ap.parse_args()
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    if args.json:
        print(json.dumps(measure(args.root, args.pages, args.renders, args.present, None, args.profile_out)))
        return
    before = baseline(args.baseline_ref, args) if args.baseline_ref else None
    after = measure(ROOT, args.pages, args.renders, args.present, args.profile, args.profile_out)
    print(f"page_render: AppTest, warm cache, median of {args.renders} renders per page, "
          f"{'presenter mode' if args.present else 'normal mode'}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    if before:
        print(f"{'page':<16}{'before CPU ms':>14}{'after CPU ms':>14}{'ratio':>8}{'before wall':>13}{'after wall':>12}")
        for page, a in after.items():
            b = before[page]
            print(f"{page:<16}{b['cpu_ms']:>14.0f}{a['cpu_ms']:>14.0f}{b['cpu_ms'] / a['cpu_ms']:>7.2f}x"
                  f"{b['wall_ms']:>12.0f}ms{a['wall_ms']:>10.0f}ms")
        tb, ta = sum(b["cpu_ms"] for b in before.values()), sum(a["cpu_ms"] for a in after.values())
        print(f"{'all pages':<16}{tb:>14.0f}{ta:>14.0f}{tb / ta:>7.2f}x")
    else:
        print(f"{'page':<16}{'CPU ms/render':>14}{'wall ms':>10}{'cold s':>9}")
        for page, a in after.items():
            print(f"{page:<16}{a['cpu_ms']:>14.0f}{a['wall_ms']:>10.0f}{a['cold_s']:>9.1f}")
        print(f"{'all pages':<16}{sum(a['cpu_ms'] for a in after.values()):>14.0f}")


if __name__ == "__main__":
    main()
