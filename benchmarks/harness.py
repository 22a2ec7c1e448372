"""Shared by the server benchmarks and the tests: a real `streamlit run app.py` on a free loopback
port, a real collector process (`python -m collector --port 0`), and a server's own CPU and memory
read from /proc (psutil), so the figures are the server's, not the browser's or the benchmark's."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
_LISTENING = re.compile(rb"listening on (http://\S+/api/v1/events)")


@dataclass
class Server:
    url: str
    proc: psutil.Process

    def cpu_seconds(self) -> float:
        t = self.proc.cpu_times()
        return t.user + t.system

    def rss_mb(self) -> float:
        return self.proc.memory_info().rss / 1e6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def streamlit_server(env: dict[str, str] | None = None, log: Path | None = None) -> Iterator[Server]:
    """Start the app (headless, loopback, its own process group) and stop it afterwards."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    out = open(log or os.devnull, "wb")  # noqa: SIM115 - closed below, after the process
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the app server did not start (exit {proc.poll()})")
            time.sleep(0.3)
        yield Server(url, psutil.Process(proc.pid))
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        out.close()


class Collector:
    """A collector process on 127.0.0.1 (its own process group), healthy before the constructor returns.

    `with Collector(db, "--rate-limit", "0") as c:` stops it gracefully at the end of the block."""

    def __init__(self, db: Path, *args: str, env: dict[str, str] | None = None, log_to_terminal: bool = False) -> None:
        """`log_to_terminal`: the collector's log goes to this process's stderr instead of a pipe (a long
        benchmark must not fill a pipe nobody reads)."""
        self.db = db
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "collector", "--db", str(db), "--port", "0", *args],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=None if log_to_terminal else subprocess.PIPE,
            start_new_session=True,  # its own process group: kill() takes the writer process down too
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        m = _LISTENING.search(line)
        if not m:
            self.proc.kill()
            raise RuntimeError(f"collector did not start: {line!r} {self._stderr_tail()}")
        self.events_url = m.group(1).decode()
        self.base = self.events_url.removesuffix("/events")
        self.port = int(self.base.split(":")[2].split("/")[0])
        deadline = time.monotonic() + 60
        while True:  # the socket listens at once; wait until the app has opened its database
            try:
                if httpx.get(self.base + "/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.kill()
                raise RuntimeError(f"collector not healthy: {self._stderr_tail()}")
            time.sleep(0.1)
        self.ps = psutil.Process(self.proc.pid)

    def __enter__(self) -> Collector:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.stop()

    def rss_mb(self) -> float:
        """The HTTP process's resident memory (MiB)."""
        return float(self.ps.memory_info().rss) / 2**20

    def _stderr_tail(self) -> str:
        return self.proc.stderr.read().decode()[-2000:] if self.proc.stderr is not None else "(log on the terminal)"

    def _close_pipes(self) -> None:
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM and wait: a graceful stop answers what is queued and closes the database."""
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._close_pipes()

    def kill_http_only(self) -> None:
        """SIGKILL to the HTTP process alone: its writer process is orphaned and must exit by itself."""
        self.proc.kill()
        self.proc.wait(timeout=30)
        self._close_pipes()

    def kill(self) -> None:
        """SIGKILL to the HTTP process and its writer process at once: no cleanup at all, as in a
        power cut (the writer may be in the middle of a commit)."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        _wait_group_gone(self.proc.pid)  # the writer too: until it has exited it holds the DuckDB file's lock
        self._close_pipes()


def _wait_group_gone(pgid: int, timeout: float = 30.0) -> None:
    """Wait until no live (non-zombie) process of the process group is left (Linux /proc)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = False
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone while we looked
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive = True
                break
        if not alive:
            return
        time.sleep(0.05)
