"""One server, thirty learners (issue 12): learners driven through Streamlit's own websocket
protocol against a real `streamlit run app.py`, with the server's RSS and the cache's size.

Cases, each on a fresh server with the same cache limit (DRCL_CACHE_MB, `--cache-mb`):
- explorers: N learners (`--learners`, default 10 and 30), each with its own session, open the
  Overview at their own scenario (distinct seed, visitors and days, all inside the learner budget)
  and then change knobs as a learner would in the sidebar (banner, days, seed), with a think time
  between actions (default 45 s ± 50 %: reading the Overview's numbers and charts); learners arrive
  spread over a ramp (default 60 s), as a room does after "open this link". New runs take turns in
  the server's heavy queue, so the percentiles depend on how often the room asks: `--think`.
- room (issue 10): one presenter and N learners (`--learners`) following a live room through a
  10-step lesson (pages and knobs). The presenter's session renders each step and its state goes to
  the room store as the app's `publish_if_presenting` writes it; each learner is a websocket tab at
  `?room=CODE` that re-runs the app's polling fragment on the server's own `auto_rerun` timer, as
  the frontend does. Time = from the presenter's change to the learner's full run that shows the
  step's page and scenario (script_finished); plus server CPU while the room sits idle, per step,
  and RSS.
- attack: the URL from the issue, `?traffic.visitors=200000&traffic.days=90&seed=N` for N = 1..5,
  one after another, on a server that has served one default page; RSS before and after, and the
  scenario the server actually computed (the clamp notes and the Overview's caption).

Time to a rendered page = from sending the rerun request to the server's `script_finished`.
Errors: an exception element in a delta, a `script_finished` other than success, a dropped
connection, or no `script_finished` within TIMEOUT_S. A browser would also load its JS bundle
and lay out the page; `--cases browser` times one headless chromium load beside this client.

    PYTHONPATH=. .venv/bin/python -m benchmarks.classroom [--learners 10,30] [--cache-mb 1500] [--quick]
        [--think 45] [--ramp 60] [--steps 3] [--cases explorers,attack,browser,room] [--server-env NAME=VALUE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import psutil
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.typing import Subprotocol

from benchmarks.harness import Server, streamlit_server
from ui import knob_words
from ui.components.scenario_sidebar import ADVANCED_OPEN
from ui.limits import learner_budget
from ui.words import t

TIMEOUT_S = 120.0
HEARTBEAT_S = 15.0  # what the frontend sends on desktop
TITLE = t("overview.title")  # the Overview's heading: the page has rendered
SUCCESS = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_SUCCESSFULLY")
FRAGMENT_DONE = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_FRAGMENT_RUN_SUCCESSFULLY")
QUEUE_NOTICE = re.compile(r"(\d+) computations? (?:is|are) ahead of you")
CAPTION = re.compile(r"([\d,]+) simulated visitors over (\d+) days")
RUN_ID = re.compile(r"\brun `?([0-9a-f]{16})`?")  # the scenario caption names its run
BANNERS = ("reject_first_layer", "reject_second_layer", "no_reject", "no_banner")
# The learner budget, read from the same environment as the server's; the explorers stay inside it.
_BUDGET = learner_budget()
MAX_VISITORS, MAX_DAYS, MAX_VISITOR_DAYS = _BUDGET.max_visitors, _BUDGET.max_days, _BUDGET.max_visitor_days
# Targets from issue 12.
TARGET_P95_S = 10.0
TARGET_RSS_HEADROOM_MIB = 1024.0
MIB = 2**20
SETTLE_S = 10.0


# --- the client ---------------------------------------------------------------------------------


@dataclass
class Render:
    """What one rerun drew, as far as the benchmark needs it."""

    seconds: float
    error: str | None = None
    texts: list[str] = field(default_factory=list)  # headings, markdown, captions, alerts, in order
    warnings: list[str] = field(default_factory=list)
    queue_ahead_max: int = 0
    queue_wait_s: float = 0.0  # how long the "N computations are ahead of you" box stood

    def run_id(self) -> str | None:
        return next((m.group(1) for t in self.texts if (m := RUN_ID.search(t))), None)

    def caption(self) -> tuple[int, int] | None:
        """(visitors, days) of the scenario the page computed, from the Overview's caption."""
        for text in self.texts:
            if m := CAPTION.search(text):
                return int(m.group(1).replace(",", "")), int(m.group(2))
        return None


@dataclass
class _Widget:
    id: str
    value_type: str  # the WidgetState field the frontend fills for this element
    value: Any  # its current value, as that field holds it
    param: str | None  # the query parameter it is bound to
    default: str | None  # its default as the URL spells it (a default value leaves the URL)

    def state(self, out: Any) -> None:
        out.id = self.id
        if self.value_type.endswith("_array_value"):
            getattr(out, self.value_type).data.extend(self.value)
        else:
            setattr(out, self.value_type, self.value)


def _url_value(value: Any) -> str:
    """A widget value as the frontend writes it into the URL (JavaScript's String(): 20, not 20.0)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).lower() if isinstance(value, bool) else str(value)


def _widget(kind: str, proto: Any) -> _Widget | None:
    """A drawn widget's id and current value (the value the server set, else its default), for the
    widget kinds the sidebar uses; buttons are left out (the frontend sends them only when clicked)."""
    if kind not in ("selectbox", "number_input", "checkbox", "text_input", "slider", "date_input"):
        return None
    value_set = proto.set_value
    if kind == "selectbox":
        value = proto.raw_value if value_set and proto.HasField("raw_value") else proto.options[proto.default]
        return _Widget(proto.id, "string_value", value, None, proto.options[proto.default])
    if kind == "number_input":
        return _Widget(proto.id, "double_value", proto.value if value_set else proto.default, None, _url_value(proto.default))
    if kind == "checkbox":
        return _Widget(proto.id, "bool_value", proto.value if value_set else proto.default, None, _url_value(proto.default))
    if kind == "text_input":
        return _Widget(proto.id, "string_value", proto.value if value_set else proto.default, None, proto.default)
    if kind == "slider" and proto.options:  # a select_slider: the frontend sends the words it shows
        shown = [proto.options[int(i)] for i in (proto.value if value_set else proto.default)]
        return _Widget(proto.id, "string_array_value", shown, None, None)
    if kind == "slider":
        return _Widget(proto.id, "double_array_value", list(proto.value if value_set else proto.default), None, None)
    return _Widget(proto.id, "string_array_value", list(proto.value if value_set else proto.default), None, None)


class Session:
    """One learner's browser tab, without the browser: the websocket the frontend opens, the BackMsgs
    it sends (rerun with the URL's query string, widget changes, heartbeats) and the ForwardMsgs it reads."""

    def __init__(self, base_url: str, timeout_s: float = TIMEOUT_S) -> None:
        self.url = base_url.replace("http://", "ws://", 1) + "/_stcore/stream"
        self.timeout_s = timeout_s
        self.query = ""  # the address bar's query: the server rewrites it (page_info_changed) as widgets bind
        self.widgets: dict[str, _Widget] = {}  # by user key (the dotted scenario path), as last drawn
        self.broken = False
        self.page_hash = ""  # the page the server says this tab shows (new_session), sent with widget changes
        self._ws: Any = None
        self._heartbeat: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Session:
        # The frontend offers "streamlit" plus its XSRF token (a placeholder without the cookie); the
        # server selects the first. No Origin header: the server accepts non-browser clients without one.
        self._ws = await websockets.connect(self.url, subprotocols=[Subprotocol("streamlit"), Subprotocol("PLACEHOLDER_AUTH_TOKEN")],
                                            max_size=None, open_timeout=30)
        self._heartbeat = asyncio.create_task(self._beat())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._heartbeat:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        with contextlib.suppress(Exception):
            await self._ws.close()

    async def _beat(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await asyncio.sleep(HEARTBEAT_S)
                msg = BackMsg()
                msg.app_heartbeat = True
                await self._ws.send(msg.SerializeToString())

    async def open(self, query: str, page: str = "") -> Render:
        """A page load at `/page?query` (the default page, the Overview, if `page` is empty)."""
        self.query = query
        return await self._rerun(ClientState(query_string=query, page_script_hash="", page_name=page))

    async def set(self, key: str, value: Any) -> Render:
        """Change one sidebar widget, as the frontend reports it: every widget's value, the changed one
        new (the server drops the state of widgets a rerun leaves out, and reseeds them from the URL)."""
        if key not in self.widgets and ADVANCED_OPEN in self.widgets:  # under "Advanced": a person opens it first
            opened = await self.set(ADVANCED_OPEN, True)
            if opened.error or key not in self.widgets:
                return opened if opened.error else Render(opened.seconds, error=f"no widget {key!r} under Advanced")
        widget = self.widgets[key]
        widget.value = value
        if widget.param:  # the frontend rewrites the address bar before it sends the rerun
            params = [(k, v) for k, v in parse_qsl(self.query, keep_blank_values=True) if k != widget.param]
            if _url_value(value) != widget.default:
                params.append((widget.param, _url_value(value)))
            self.query = urlencode(params)
        # After its first run the frontend names the page it shows (the hash from new_session).
        state = ClientState(query_string=self.query, page_script_hash=self.page_hash, page_name="")
        for w in self.widgets.values():
            w.state(state.widget_states.widgets.add())
        return await self._rerun(state)

    async def _rerun(self, state: ClientState) -> Render:
        if self.broken:
            return Render(0.0, error="session already broken")
        msg = BackMsg()
        msg.rerun_script.CopyFrom(state)
        start = time.perf_counter()
        render = Render(0.0)
        notice_at: dict[tuple[int, ...], float] = {}
        try:
            async with asyncio.timeout(self.timeout_s):
                await self._ws.send(msg.SerializeToString())
                while True:
                    fwd = ForwardMsg()
                    fwd.ParseFromString(await self._ws.recv())
                    kind = fwd.WhichOneof("type")
                    if kind == "delta":
                        self._delta(fwd, render, notice_at, time.perf_counter() - start)
                    elif kind == "new_session":
                        self.page_hash = fwd.new_session.page_script_hash
                    elif kind == "navigation":  # the page st.navigation runs (new_session names the entry script)
                        self.page_hash = fwd.navigation.page_script_hash
                    elif kind == "page_info_changed":
                        self.query = fwd.page_info_changed.query_string
                    elif kind == "script_finished":
                        if fwd.script_finished != SUCCESS:
                            render.error = f"script_finished {ForwardMsg.ScriptFinishedStatus.Name(fwd.script_finished)}"
                        break
        except TimeoutError:
            render.error, self.broken = f"no script_finished within {self.timeout_s:.0f} s", True
        except websockets.ConnectionClosed as err:
            render.error, self.broken = f"connection dropped ({err})", True
        render.seconds = time.perf_counter() - start
        for opened in notice_at.values():  # a box still standing at the end stood until then
            render.queue_wait_s = max(render.queue_wait_s, render.seconds - opened)
        return render

    def _delta(self, fwd: ForwardMsg, render: Render, notice_at: dict[tuple[int, ...], float], now: float) -> None:
        if fwd.delta.WhichOneof("type") == "add_block" and fwd.delta.add_block.WhichOneof("type") == "expandable":
            box = fwd.delta.add_block.expandable  # an expander that keeps its open state (a widget: "Advanced")
            if box.id:
                key = box.id.split("-", 2)[2] if box.id.startswith("$$ID-") else box.id
                self.widgets[key] = _Widget(box.id, "bool_value", box.expanded, None, None)
            return
        if fwd.delta.WhichOneof("type") != "new_element":
            return
        el = fwd.delta.new_element
        kind = el.WhichOneof("type")
        path = tuple(fwd.metadata.delta_path)
        proto = getattr(el, kind) if kind else None
        if kind == "exception":
            render.error = render.error or f"exception {el.exception.type}: {el.exception.message[:200]}"
        elif kind and proto is not None and (widget := _widget(kind, proto)):
            widget.param = proto.query_param_key if proto.HasField("query_param_key") else None
            # Keyed widgets' ids end in their user key ("$$ID-<hash>-traffic.days").
            key = proto.id.split("-", 2)[2] if proto.id.startswith("$$ID-") else proto.id
            known = self.widgets.get(key)
            if known and known.id == widget.id and not proto.set_value:
                widget.value = known.value  # a redrawn widget keeps the value the user gave it, as in the frontend
            self.widgets[key] = widget
        elif kind in ("heading", "markdown", "alert") and proto is not None:
            render.texts.append(proto.body)
            if kind == "alert" and el.alert.format == el.alert.WARNING:
                render.warnings.append(proto.body)
        # The heavy queue's box stands at one delta path until that path is redrawn with something else.
        notice = QUEUE_NOTICE.search(proto.body) if kind == "alert" and proto is not None else None
        if notice:
            render.queue_ahead_max = max(render.queue_ahead_max, int(notice.group(1)))
            notice_at.setdefault(path, now)
        elif path in notice_at:
            render.queue_wait_s = max(render.queue_wait_s, now - notice_at.pop(path))


# --- measuring the server -----------------------------------------------------------------------


class RssSampler:
    """The server's RSS (MiB) every `every_s` seconds in a background thread."""

    def __init__(self, proc: psutil.Process, every_s: float = 1.0) -> None:
        self.proc, self.every_s = proc, every_s
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = time.monotonic()

    def rss(self) -> float:
        return self.proc.memory_info().rss / MIB

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                self.samples.append((time.monotonic() - self._t0, self.rss()))
            self._stop.wait(self.every_s)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def peak(self) -> float:
        return max(r for _, r in self.samples)

    def timeline(self, points: int = 12) -> str:
        step = max(1, math.ceil(len(self.samples) / points))
        return "  ".join(f"{t:.0f}s:{r:.0f}" for t, r in self.samples[::step])


def cache_stats(path: Path) -> dict[str, float]:
    """Peak bytes and entries, evictions and the limit, from the server's DRCL_CACHE_STATS lines."""
    rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    if not rows:
        return {"inserts": 0, "peak_mib": 0.0, "end_mib": 0.0, "peak_entries": 0, "evicted": 0, "limit_mib": 0.0, "lingering_mib": 0.0}
    return {"inserts": len(rows), "peak_mib": max(r["bytes"] for r in rows) / MIB, "end_mib": rows[-1]["bytes"] / MIB,
            "peak_entries": max(r["entries"] for r in rows), "evicted": rows[-1]["evicted"], "limit_mib": rows[-1]["limit"] / MIB,
            # dropped entries' frames that something still referenced when an entry was inserted
            "lingering_mib": max(r.get("lingering", 0) for r in rows) / MIB}


@contextlib.contextmanager
def server(cache_mb: float, work: Path, name: str, extra_env: dict[str, str] | None = None) -> Iterator[tuple[Server, Path]]:
    """A fresh app server with the cache limit, its cache-size log, an empty runs folder and a fixed
    hash key (nothing written into the checkout); `extra_env` for allocator or config experiments."""
    stats = work / f"{name}-cache.jsonl"
    runs = work / f"{name}-runs"
    runs.mkdir()
    env = {"DRCL_CACHE_MB": str(cache_mb), "DRCL_CACHE_STATS": str(stats), "DRCL_RUNS_DIR": str(runs),
           "DRCL_HASH_KEY": os.environ.get("DRCL_HASH_KEY", "5e" * 32), **(extra_env or {})}
    with streamlit_server(env=env, log=work / f"{name}-server.log") as srv:
        yield srv, stats


# --- the explorers ------------------------------------------------------------------------------


Action = tuple[str, Any]  # ("open", query) or (widget key, new value)


def explorer_plan(i: int, steps: int) -> list[Action]:
    """Learner i's page load and knob changes, all inside the learner budget and distinct between
    learners (own seed), sizes spread from 20,000 visitors to the budget's 1,000,000 visitor-days."""
    visitors = (20_000, 35_000, 50_000, 70_000, 100_000)[i % 5]
    days = min((7, 14, 30, 10, 21)[(i // 5) % 5], MAX_VISITOR_DAYS // visitors, MAX_DAYS)
    other_days = min(max(1, days // 2) if days > 7 else days * 2, MAX_VISITOR_DAYS // visitors, MAX_DAYS)
    actions: list[Action] = [
        ("open", urlencode({"seed": 1000 + i, "traffic.visitors": visitors, "traffic.days": days})),
        ("consent.banner", BANNERS[1 + i % 3]),
        ("traffic.days", float(other_days)),
        ("seed", float(5000 + i)),
        ("consent.banner", BANNERS[0]),
    ]
    return actions[: 1 + steps]


def not_applied(what: str, value: Any, render: Render, run_before: str | None) -> str | None:
    """Why the page does not show the scenario this action asked for (None: it does)."""
    cap, text = render.caption(), " ".join(render.texts)
    if cap is None:
        return "no scenario caption on the page"
    if what == "open":
        asked = dict(parse_qsl(value))
        if (cap[0], cap[1]) != (int(asked["traffic.visitors"]), int(asked["traffic.days"])):
            return f"opened {asked} but the page computed {cap[0]:,} visitors x {cap[1]} days"
    elif what == "traffic.days" and cap[1] != int(value):
        return f"days set to {int(value)} but the page computed {cap[1]}"
    elif what == "consent.banner" and f"banner: {knob_words.option(value)}" not in text:  # the caption names it in words
        return f"banner set to {value} but the caption does not say so"
    elif what == "seed" and render.run_id() == run_before:
        return "seed changed but the run id did not"
    return None


@dataclass
class Step:
    learner: int
    action: str
    render: Render


async def explorer(i: int, base_url: str, plan: list[Action], start_s: float, think_s: float,
                   rng: random.Random, out: list[Step]) -> None:
    await asyncio.sleep(start_s)
    run_id: str | None = None
    async with Session(base_url) as s:
        for n, (what, value) in enumerate(plan):
            if n:
                await asyncio.sleep(rng.uniform(0.5, 1.5) * think_s)  # reading the page before the next change
            before = run_id
            if what != "open" and what not in s.widgets and ADVANCED_OPEN not in s.widgets:  # set() opens "Advanced"
                render = Render(0.0, error=f"no {what} widget on the page")
            else:
                render = await (s.open(value) if what == "open" else s.set(what, value))
            run_id = render.run_id()
            if render.error is None and (problem := not_applied(what, value, render, before)):
                render.error = problem  # a change that never reached the scenario would time nothing
            out.append(Step(i, what, render))
            if s.broken:
                return


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


async def run_explorers(base_url: str, n: int, steps: int, think_s: float, ramp_s: float, seed: int) -> list[Step]:
    rng = random.Random(seed)
    out: list[Step] = []
    starts = sorted(rng.uniform(0, ramp_s) for _ in range(n))
    await asyncio.gather(*(explorer(i, base_url, explorer_plan(i, steps), starts[i], think_s,
                                    random.Random(rng.random()), out) for i in range(n)))
    return out


@dataclass
class Verdict:
    name: str
    met: bool
    figure: str


def explorers_case(n: int, args: argparse.Namespace, work: Path) -> list[Verdict]:
    with server(args.cache_mb, work, f"explorers-{n}", args.server_env) as (srv, stats), RssSampler(srv.proc) as rss:
        start_rss = rss.rss()
        t0 = time.monotonic()
        steps = asyncio.run(run_explorers(srv.url, n, args.steps, args.think, args.ramp, args.seed))
        wall = time.monotonic() - t0
        end_rss = rss.rss()
        time.sleep(SETTLE_S)  # what stays once the last page is drawn: retained, not transient
        settled_rss = rss.rss()
        cpu = srv.cpu_seconds()
    cache = cache_stats(stats)
    ok = [s.render.seconds for s in steps if s.render.error is None]
    errors = [s for s in steps if s.render.error is not None]
    expected = n * (1 + args.steps)
    peak = rss.peak()
    bound = args.cache_mb + TARGET_RSS_HEADROOM_MIB
    print(f"\nexplorers, N = {n}: {len(steps)} of {expected} page renders in {wall:.0f} s "
          f"(think {args.think:.0f} s ± 50 %, arrivals over {args.ramp:.0f} s)\n"
          f"  server CPU {cpu:.0f} s, {cpu / max(1, len(steps)):.1f} s per render")
    if ok:
        print(f"  time to a rendered page: p50 {pct(ok, 50):.1f} s  p95 {pct(ok, 95):.1f} s  max {max(ok):.1f} s")
        for what in dict.fromkeys(s.action for s in steps):
            xs = [s.render.seconds for s in steps if s.action == what and s.render.error is None]
            if xs:
                print(f"    {what:<15} n={len(xs):<3} p50 {pct(xs, 50):5.1f} s  p95 {pct(xs, 95):5.1f} s  max {max(xs):5.1f} s")
    print(f"  errors: {len(errors)}" + "".join(f"\n    learner {s.learner} {s.action}: {s.render.error}" for s in errors[:10]))
    waits = [s.render.queue_wait_s for s in steps if s.render.queue_ahead_max]
    print(f"  heavy queue: {len(waits)} renders saw the queue box, at most {max((s.render.queue_ahead_max for s in steps), default=0)} "
          f"ahead, longest box {max(waits, default=0.0):.1f} s")
    print(f"  server RSS (MiB): start {start_rss:.0f}  peak {peak:.0f}  end {end_rss:.0f}  {SETTLE_S:.0f} s later {settled_rss:.0f}   "
          f"bound cache + 1 GiB = {bound:.0f}")
    print(f"    over time: {rss.timeline()}")
    print(f"  cache: limit {cache['limit_mib']:.0f} MiB, peak {cache['peak_mib']:.0f} MiB, end {cache['end_mib']:.0f} MiB, "
          f"peak {cache['peak_entries']} entries, {cache['evicted']} evicted, {cache['inserts']} inserts, "
          f"dropped but still referenced at most {cache['lingering_mib']:.0f} MiB")
    p95 = pct(ok, 95) if ok else math.inf
    return [
        Verdict(f"N={n}: zero errors", not errors and len(steps) == expected, f"{len(errors)} errors, {len(steps)}/{expected} renders"),
        Verdict(f"N={n}: RSS under cache + 1 GiB", peak <= bound, f"peak {peak:.0f} MiB vs {bound:.0f} MiB"),
        Verdict(f"N={n}: p95 under {TARGET_P95_S:.0f} s", p95 < TARGET_P95_S, f"p95 {p95:.1f} s"),
    ]


# --- the URL attack -----------------------------------------------------------------------------


async def attack(base_url: str, seeds: list[int]) -> list[tuple[str, Render]]:
    out = []
    for n in seeds:
        query = f"traffic.visitors=200000&traffic.days=90&seed={n}"
        async with Session(base_url) as s:  # a fresh tab per URL, as pasting links does
            out.append((query, await s.open(query)))
    return out


async def warm_up(base_url: str) -> Render:
    async with Session(base_url) as s:
        return await s.open("")


def attack_case(args: argparse.Namespace, work: Path) -> list[Verdict]:
    seeds = list(range(1, 1 + args.attack_urls))
    with server(args.cache_mb, work, "attack", args.server_env) as (srv, stats), RssSampler(srv.proc) as rss:
        warm = asyncio.run(warm_up(srv.url))  # imports and the default page: what every server has paid
        time.sleep(SETTLE_S)
        before = rss.rss()
        results = asyncio.run(attack(srv.url, seeds))
        time.sleep(SETTLE_S)
        after = rss.rss()
    cache = cache_stats(stats)
    print(f"\nURL attack: {len(seeds)} URLs ?traffic.visitors=200000&traffic.days=90&seed=N, one after another "
          f"(after one default page, {warm.seconds:.1f} s{', ERROR ' + warm.error if warm.error else ''})")
    clamped = 0
    for query, r in results:
        cap = r.caption()
        # Clamped: the page computed a run inside the budget and said so in the sidebar.
        clamped += bool(r.error is None and cap and cap[0] * cap[1] <= MAX_VISITOR_DAYS and cap[1] <= MAX_DAYS and r.warnings)
        computed = f"computed {cap[0]:,} visitors x {cap[1]} days" if cap else "no caption"
        print(f"  ?{query}: {r.seconds:5.1f} s  {computed}  {'error: ' + r.error if r.error else ''}")
    for note in dict.fromkeys(w for _, r in results for w in r.warnings):
        print(f"    sidebar note: {note}")
    moved = rss.peak() - before  # the peak, not only what stays: the server fell over at its peak
    print(f"  server RSS (MiB): before {before:.0f}  peak {rss.peak():.0f} ({moved:+.0f})  {SETTLE_S:.0f} s after the last "
          f"{after:.0f} ({after - before:+.0f})   cache limit {args.cache_mb:.0f}")
    print(f"  cache: peak {cache['peak_mib']:.0f} MiB, end {cache['end_mib']:.0f} MiB, {cache['peak_entries']} entries, {cache['evicted']} evicted")
    return [
        Verdict("attack: RSS moves less than the cache limit", moved <= args.cache_mb, f"peak {moved:+.0f} MiB vs {args.cache_mb:.0f} MiB"),
        Verdict("attack: every URL clamped to the budget, no error", clamped == len(results),
                f"{clamped}/{len(results)} clamped to <= {MAX_VISITOR_DAYS:,} visitor-days with a note"),
    ]


# --- the same page in a real browser ------------------------------------------------------------


def browser_check(args: argparse.Namespace, work: Path) -> None:
    """The same Overview in headless chromium and through this client (same size, own seeds): cold (a
    new run), then warm (the same scenario again, every cache hit). For chromium, the rerun's time is
    read off its own websocket frames (rerun_script sent to script_finished received), beside the
    navigation-to-idle-page time a learner sees (which adds the JS bundle and drawing the charts)."""
    from playwright.sync_api import WebSocket, sync_playwright

    from benchmarks.harness import CHROMIUM, CHROMIUM_ARGS, IDLE

    size = {"traffic.visitors": 50_000, "traffic.days": 14}
    rows: list[tuple[str, str, float, float | None]] = []
    with server(args.cache_mb, work, "browser", args.server_env) as (srv, _):
        asyncio.run(warm_up(srv.url))  # pay the imports before either is timed

        async def client(query: str) -> float:
            async with Session(srv.url) as s:
                r = await s.open(query)
            if r.error:
                raise RuntimeError(r.error)
            return r.seconds

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for label in ("cold", "warm"):  # alternated, so both see the same machine load
                # Playwright's sync API holds this thread's event loop: the client runs on its own thread.
                with ThreadPoolExecutor(1) as pool:
                    seconds = pool.submit(asyncio.run, client(urlencode({"seed": 7002, **size}))).result()
                rows.append((label, "websocket client", seconds, None))
                marks: dict[str, float] = {}

                def sent(payload: str | bytes, marks: dict[str, float] = marks) -> None:
                    msg = BackMsg()
                    msg.ParseFromString(payload if isinstance(payload, bytes) else payload.encode())
                    if msg.WhichOneof("type") == "rerun_script":
                        marks.setdefault("sent", time.perf_counter())

                def received(payload: str | bytes, marks: dict[str, float] = marks) -> None:
                    fwd = ForwardMsg()
                    fwd.ParseFromString(payload if isinstance(payload, bytes) else payload.encode())
                    if fwd.WhichOneof("type") == "script_finished":
                        marks.setdefault("finished", time.perf_counter())

                def watch(ws: WebSocket, sent: Any = sent, received: Any = received) -> None:
                    ws.on("framesent", sent)
                    ws.on("framereceived", received)

                page = browser.new_page(viewport={"width": 1440, "height": 900})
                page.on("websocket", watch)
                t0 = time.perf_counter()
                page.goto(f"{srv.url}/?{urlencode({'seed': 7001, **size})}")
                page.get_by_role("heading", name=TITLE).wait_for(timeout=120_000)
                page.get_by_text(CAPTION).first.wait_for(timeout=120_000)
                page.wait_for_selector(IDLE, timeout=120_000)
                idle = time.perf_counter() - t0
                rows.append((label, "chromium", marks["finished"] - marks["sent"], idle))
                page.close()
            browser.close()
    print("\nbrowser check: Overview at 50,000 visitors x 14 days (own seeds)")
    print(f"  {'':<5} {'':<17} {'rerun to script_finished':>25} {'navigation to idle page':>25}")
    for label, who, rerun, idle in rows:
        print(f"  {label:<5} {who:<17} {rerun:>23.1f} s {'' if idle is None else f'{idle:>23.1f} s'}")


# --- the live room ------------------------------------------------------------------------------

# A 10-step lesson as a presenter runs it: (page's url path, scenario overrides). The Overview's url
# path is "" (the default page); the knobs are the lesson's (banner, who decides, ad blockers).
LESSON: list[tuple[str, dict[str, Any]]] = [
    ("", {}),
    ("", {"consent.banner": "no_reject"}),
    ("consent_impact", {"consent.banner": "no_reject"}),
    ("consent_impact", {"consent.banner": "reject_second_layer"}),
    ("funnels", {"consent.banner": "reject_second_layer"}),
    ("funnels", {"consent.banner": "reject_second_layer", "consent.decision_share": 0.8}),
    ("live", {"consent.banner": "reject_second_layer", "consent.decision_share": 0.8}),
    ("privacy", {"consent.banner": "reject_second_layer", "consent.decision_share": 0.8}),
    ("data_rights", {"consent.banner": "reject_second_layer", "consent.decision_share": 0.8}),
    ("", {"consent.banner": "no_banner", "consent.decision_share": 0.8}),
]
ROOM_TIMEOUT_S = 60.0
ROOM_THINK_S = 4.0  # the presenter talks a little between steps
ROOM_IDLE_S = 10.0  # a quiet spell with everybody following: what polling costs
TARGET_ROOM_P95_S = 3.0
TARGET_ROOM_RSS_MIB = 2e9 / MIB


@dataclass
class Shown:
    at: float  # perf_counter when the full run's script_finished arrived
    page_hash: str
    texts: list[str]


class Follower(Session):
    """A learner's tab following a room, as the browser does it: one page load at `?room=CODE`, then
    whatever the server sends. The frontend re-runs a fragment with `run_every` on its own timer (the
    server's `auto_rerun` message names the fragment and interval); this client does the same. Every
    full run that ends is recorded with the page it showed and its texts."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.shown: list[Shown] = []
        self.fragment_runs = 0
        self.full_as_fragment = 0
        self.trace: list[tuple[float, str]] = []  # (perf_counter, what): how each run ended, page changes
        self.errors: list[str] = []
        from ui.words import t

        self.sidebar_header = t("room.sidebar_header")
        self._timers: dict[str, tuple[float, asyncio.Task[None]]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def join(self, code: str) -> None:
        self.query = f"room={code}"
        msg = BackMsg()
        msg.rerun_script.CopyFrom(ClientState(query_string=self.query, page_script_hash="", page_name=""))
        self._reader = asyncio.create_task(self._read())
        await self._ws.send(msg.SerializeToString())

    async def leave(self) -> None:
        for _, task in self._timers.values():
            task.cancel()
        if self._reader:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                await self._reader

    async def _tick(self, fragment_id: str, interval: float) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await asyncio.sleep(interval)
                msg = BackMsg()
                msg.rerun_script.CopyFrom(ClientState(query_string=self.query, page_script_hash=self.page_hash,
                                                      fragment_id=fragment_id, is_auto_rerun=True))
                await self._ws.send(msg.SerializeToString())

    async def _read(self) -> None:
        texts: list[str] = []
        try:
            while True:
                fwd = ForwardMsg()
                fwd.ParseFromString(await self._ws.recv())
                kind = fwd.WhichOneof("type")
                if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                    el = fwd.delta.new_element
                    elkind = el.WhichOneof("type")
                    if elkind == "exception":
                        self.errors.append(f"exception {el.exception.type}: {el.exception.message[:200]}")
                    elif elkind in ("heading", "markdown", "alert"):
                        texts.append(getattr(el, elkind).body)
                elif kind == "navigation":
                    self.page_hash = fwd.navigation.page_script_hash
                    self.trace.append((time.perf_counter(), f"page {self.page_hash[:6]}"))
                elif kind == "page_info_changed":
                    self.query = fwd.page_info_changed.query_string
                elif kind == "auto_rerun":
                    fid, interval = fwd.auto_rerun.fragment_id, fwd.auto_rerun.interval
                    if fid in self._timers and self._timers[fid][0] == interval:
                        continue
                    if fid in self._timers:
                        self._timers[fid][1].cancel()
                    self._timers[fid] = (interval, asyncio.create_task(self._tick(fid, interval)))
                elif kind == "stop_auto_rerun":
                    for fid in fwd.stop_auto_rerun.fragment_ids:
                        if fid in self._timers:
                            self._timers.pop(fid)[1].cancel()
                elif kind == "script_finished":
                    status = fwd.script_finished
                    self.trace.append((time.perf_counter(), ForwardMsg.ScriptFinishedStatus.Name(status).removeprefix("FINISHED_").lower()
                                       + (" (room summary drawn)" if self.sidebar_header in texts else "")))
                    # A whole-app pass draws the sidebar's room summary; its end may still be reported as a
                    # fragment run's (a rerun the fragment asked for, coalesced with a queued tick).
                    whole = self.sidebar_header in texts
                    if status == SUCCESS or (status == FRAGMENT_DONE and whole):
                        self.shown.append(Shown(time.perf_counter(), self.page_hash, texts))
                        self.full_as_fragment += status == FRAGMENT_DONE
                        texts = []
                    elif status == FRAGMENT_DONE:
                        self.fragment_runs += 1
                        texts = []
                    elif status != ForwardMsg.ScriptFinishedStatus.Value("FINISHED_EARLY_FOR_RERUN"):
                        self.errors.append(f"script_finished {ForwardMsg.ScriptFinishedStatus.Name(status)}")
        except websockets.ConnectionClosed as err:
            self.errors.append(f"connection dropped ({err})")
            self.broken = True

    def why_not(self, since: float, page_hash: str, wanted: list[str]) -> str:
        """For a learner that never showed a step: what its full runs since then showed instead."""
        after = [sh for sh in self.shown if sh.at >= since]
        if not after:
            since_then = [f"+{at - since:.1f}s {what}" for at, what in self.trace if at >= since - 1.0]
            shown = ", ".join(since_then[:8]) + (f", ... {len(since_then) - 8} more" if len(since_then) > 8 else "")
            return f"no full run within {ROOM_TIMEOUT_S:.0f} s of the change ({self.fragment_runs} fragment runs in all; since: {shown})"
        last = after[-1]
        missing = [w for w in wanted if w not in " ".join(last.texts)]
        return f"{len(after)} full runs since; the last on {'the right' if last.page_hash == page_hash else 'another'} page, missing {missing}"

    def showed(self, since: float, page_hash: str, wanted: list[str]) -> float | None:
        """Seconds from `since` to the first full run that showed this page with these texts, if any."""
        for shown in self.shown:
            text = " ".join(shown.texts)
            if shown.at >= since and shown.page_hash == page_hash and all(w in text for w in wanted):
                return shown.at - since
        return None


def _lesson_scenario(overrides: dict[str, Any]) -> Any:
    from engine.scenario import DEFAULT_PRESET, apply_overrides, load_preset

    return apply_overrides(load_preset(DEFAULT_PRESET), overrides)


def _summary(scenario: Any) -> list[str]:
    """What the learner's sidebar says about the room's scenario (the texts a step must show)."""
    from ui.rooms.live import summary_lines

    return summary_lines(scenario)


async def run_room(base_url: str, rooms_db: Path, n: int, proc: Server) -> dict[str, Any]:
    """One presenter, N followers, the 10-step lesson. The presenter's session renders each step (its
    computation is the one the room shares) and its state goes to the room store exactly as the app's
    `publish_if_presenting` writes it, at the moment the presenter's rerun starts."""
    from ui.rooms.store import RoomState, RoomStore

    rooms = RoomStore(rooms_db)

    def state(page: str, overrides: dict[str, Any]) -> RoomState:
        from engine.scenario import DEFAULT_PRESET

        return RoomState(scenario=_lesson_scenario(overrides).canonical_json(), preset=DEFAULT_PRESET, page=page, params={})

    out: dict[str, Any] = {"latencies": [], "behind": [], "missed": 0, "why": [], "steps": []}
    async with Session(base_url, timeout_s=TIMEOUT_S) as host:
        first_page, first = LESSON[0]
        opened = await host.open(urlencode(first), first_page)
        if opened.error:
            raise RuntimeError(f"the presenter's first page failed: {opened.error}")
        code = await asyncio.to_thread(rooms.open, state(first_page, first))
        followers = [Follower(base_url) for _ in range(n)]
        for f in followers:
            await f.__aenter__()
        try:
            t0 = time.perf_counter()
            for f in followers:  # the room joins over a few seconds, as after "scan this code"
                await f.join(code)
                await asyncio.sleep(0.1)
            wanted = _summary(_lesson_scenario(first))
            deadline = time.monotonic() + ROOM_TIMEOUT_S
            while time.monotonic() < deadline and any(f.showed(t0, host.page_hash, wanted) is None for f in followers):
                await asyncio.sleep(0.1)
            out["joined"] = sum(f.showed(t0, host.page_hash, wanted) is not None for f in followers)
            cpu0, frag0 = proc.cpu_seconds(), sum(f.fragment_runs for f in followers)
            await asyncio.sleep(ROOM_IDLE_S)
            out["idle_cpu_s"] = proc.cpu_seconds() - cpu0
            out["idle_fragment_runs"] = sum(f.fragment_runs for f in followers) - frag0
            cpu_steps = proc.cpu_seconds()
            for page, overrides in LESSON[1:]:
                since = time.perf_counter()
                presenting = asyncio.create_task(host.open(urlencode(overrides), page))
                await asyncio.to_thread(rooms.publish, code, state(page, overrides))
                rendered = await presenting
                wanted = _summary(_lesson_scenario(overrides))
                deadline = time.monotonic() + ROOM_TIMEOUT_S
                while time.monotonic() < deadline and any(f.showed(since, host.page_hash, wanted) is None for f in followers):
                    await asyncio.sleep(0.05)
                seen = [f.showed(since, host.page_hash, wanted) for f in followers]
                got = [s for s in seen if s is not None]
                out["latencies"] += got
                out["behind"] += [s - rendered.seconds for s in got]
                out["missed"] += len(seen) - len(got)
                out["why"] += [f"step {page or 'overview'} {overrides}: {f.why_not(since, host.page_hash, wanted)}"
                               for f, s in zip(followers, seen, strict=True) if s is None]
                out["steps"].append((page or "overview", overrides, rendered.seconds, rendered.error, got))
                await asyncio.sleep(ROOM_THINK_S)
            out["steps_cpu_s"] = proc.cpu_seconds() - cpu_steps
            out["errors"] = [e for f in followers for e in f.errors]
            out["full_as_fragment"] = sum(f.full_as_fragment for f in followers)
        finally:
            for f in followers:
                await f.leave()
                await f.__aexit__(None, None, None)
    return out


def room_case(n: int, args: argparse.Namespace, work: Path) -> list[Verdict]:
    rooms_db = work / f"room-{n}.sqlite"
    with server(args.cache_mb, work, f"room-{n}", {**args.server_env, "DRCL_ROOMS_DB": str(rooms_db)}) as (srv, _), \
            RssSampler(srv.proc) as rss:
        start_rss = rss.rss()
        cpu0 = srv.cpu_seconds()
        t0 = time.monotonic()
        res = asyncio.run(run_room(srv.url, rooms_db, n, srv))
        wall, cpu = time.monotonic() - t0, srv.cpu_seconds() - cpu0
    lat = res["latencies"]
    steps = len(LESSON) - 1
    print(f"\nroom, N = {n} learners following one presenter through {len(LESSON)} lesson steps ({wall:.0f} s, "
          f"{ROOM_THINK_S:.0f} s between steps); {res['joined']}/{n} joined and showed the room's first page")
    for page, overrides, seconds, error, got in res["steps"]:
        knobs = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in overrides.items()) or "preset"
        shown = f"learners p50 {pct(got, 50):.2f} s max {max(got):.2f} s" if got else "no learner showed it"
        print(f"  {page:<15} {knobs:<52} presenter {seconds:5.2f} s{' ERROR ' + error if error else ''}   {shown} ({len(got)}/{n})")
    if lat:
        print(f"  presenter's change -> learner showing it: p50 {pct(lat, 50):.2f} s  p95 {pct(lat, 95):.2f} s  max {max(lat):.2f} s  "
              f"({len(lat)} of {n * steps}; {res['missed']} missed within {ROOM_TIMEOUT_S:.0f} s)")
        own = [seconds for _, _, seconds, _, _ in res["steps"]]
        behind = res["behind"]
        print(f"  baseline, the presenter's own rerun of the same step: p50 {pct(own, 50):.2f} s  p95 {pct(own, 95):.2f} s; "
              f"learners behind the presenter's screen: p50 {pct(behind, 50):+.2f} s  p95 {pct(behind, 95):+.2f} s; "
              f"ratio of p95s {pct(lat, 95) / pct(own, 95):.2f}")
    for why in res["why"][:10]:
        print(f"    missed: {why}")
    idle_per = res["idle_cpu_s"] / ROOM_IDLE_S
    print(f"  following, idle ({ROOM_IDLE_S:.0f} s, nobody changes anything): server CPU {idle_per:.2f} s per s "
          f"({idle_per / max(1, n) * 1000:.1f} ms per learner per s), {res['idle_fragment_runs']} fragment runs")
    print(f"  the {steps} steps: server CPU {res['steps_cpu_s']:.1f} s ({res['steps_cpu_s'] / steps:.2f} s per step); "
          f"whole case {cpu:.1f} s CPU")
    print(f"  server RSS (MiB): start {start_rss:.0f}  peak {rss.peak():.0f}   over time: {rss.timeline()}")
    print(f"  whole-app passes the server reported as fragment runs: {res['full_as_fragment']}")
    errors = res["errors"]
    print(f"  errors: {len(errors)}" + "".join(f"\n    {e}" for e in errors[:10]))
    p95 = pct(lat, 95) if lat else math.inf
    return [
        Verdict(f"room N={n}: every learner showed every step", res["missed"] == 0 and not errors and res["joined"] == n,
                f"{res['missed']} missed, {len(errors)} errors"),
        Verdict(f"room N={n}: p95 under {TARGET_ROOM_P95_S:.0f} s", p95 <= TARGET_ROOM_P95_S, f"p95 {p95:.2f} s"),
        Verdict(f"room N={n}: RSS under 2 GB", rss.peak() <= TARGET_ROOM_RSS_MIB, f"peak {rss.peak():.0f} MiB"),
    ]


# --- main ---------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--learners", default=None, help="comma-separated N (default 10,30; quick: 6)")
    ap.add_argument("--cache-mb", type=float, default=1500.0, help="the server's DRCL_CACHE_MB (default 1500)")
    ap.add_argument("--steps", type=int, default=None, help="knob changes per learner after the page load (default 3; quick: 2)")
    ap.add_argument("--think", type=float, default=None, help="mean seconds a learner reads before the next change (default 45; quick: 5)")
    ap.add_argument("--ramp", type=float, default=None, help="learners arrive over this many seconds (default 60; quick: 10)")
    ap.add_argument("--attack-urls", type=int, default=None, help="URLs in the attack (default 5; quick: 2)")
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                    help="extra environment for the app server (repeatable), e.g. an allocator setting")
    ap.add_argument("--quick", action="store_true", help="a smoke check in about two minutes")
    ap.add_argument("--cases", default="explorers,attack",
                    help="which cases, comma-separated, of explorers, attack, browser (one Overview in headless chromium "
                         "next to this client), room (one presenter and N learners following a live room through a "
                         "10-step lesson); default explorers,attack")
    args = ap.parse_args()
    cases = set(args.cases.split(","))
    if cases - {"explorers", "attack", "browser", "room"}:
        ap.error(f"unknown case in --cases {args.cases}")
    quick = args.quick
    args.server_env = dict(kv.split("=", 1) for kv in args.server_env)
    learners = [int(x) for x in (args.learners or ("6" if quick else "10,30")).split(",")]
    args.steps = args.steps if args.steps is not None else (2 if quick else 3)
    args.think = args.think if args.think is not None else (5.0 if quick else 45.0)
    args.ramp = args.ramp if args.ramp is not None else (10.0 if quick else 60.0)
    args.attack_urls = args.attack_urls if args.attack_urls is not None else (2 if quick else 5)

    load = os.getloadavg()
    print(f"classroom benchmark: cache limit {args.cache_mb:.0f} MiB, learner budget {MAX_VISITORS:,} visitors, {MAX_DAYS} days, "
          f"{MAX_VISITOR_DAYS:,} visitor-days; {psutil.cpu_count()} cores, load average {load[0]:.1f} at start"
          + "".join(f"; server env {k}={v}" for k, v in args.server_env.items()))
    verdicts: list[Verdict] = []
    with tempfile.TemporaryDirectory(prefix="drcl-classroom-") as tmp:
        work = Path(tmp)
        for n in learners if "explorers" in cases else []:
            verdicts += explorers_case(n, args, work)
        if "attack" in cases:
            verdicts += attack_case(args, work)
        if "browser" in cases:
            browser_check(args, work)
        for n in learners if "room" in cases else []:
            verdicts += room_case(n, args, work)
    print(f"\nverdict (load average {os.getloadavg()[0]:.1f} at the end; the machine is shared):")
    for v in verdicts:
        print(f"  {'met   ' if v.met else 'MISSED'}  {v.name:<48} {v.figure}")


if __name__ == "__main__":
    main()
