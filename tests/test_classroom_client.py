"""The classroom benchmark's websocket client against a real server: if Streamlit's protocol moves,
the benchmark would time nothing, so one session must render the Overview and follow a knob change."""

from __future__ import annotations

import asyncio
import time

import pytest

from benchmarks.classroom import TITLE, Follower, Render, Session, _summary, not_applied, server

pytestmark = pytest.mark.slow


async def _learner(url: str) -> tuple[Render, Render]:
    async with Session(url, timeout_s=45) as s:
        opened = await s.open("seed=3&traffic.visitors=2000&traffic.days=3")
        changed = await s.set("traffic.days", 4.0)
    return opened, changed


def test_one_session_renders_the_overview_and_follows_a_knob(tmp_path):
    with server(cache_mb=512, work=tmp_path, name="client") as (srv, stats):
        opened, changed = asyncio.run(_learner(srv.url))
    assert opened.error is None, opened.error
    assert TITLE in opened.texts
    assert opened.caption() == (2000, 3)
    assert 0 < opened.seconds < 45
    assert changed.error is None, changed.error
    assert not_applied("traffic.days", 4.0, changed, opened.run_id()) is None
    assert changed.run_id() != opened.run_id()
    assert stats.read_text().strip(), "the server wrote no cache sizes (DRCL_CACHE_STATS)"


async def _follow(url: str, rooms_db) -> tuple[Follower, float | None, str]:
    from engine.scenario import DEFAULT_PRESET, apply_overrides, load_preset
    from ui.rooms.store import RoomState, RoomStore

    rooms = RoomStore(rooms_db)
    small = apply_overrides(load_preset(DEFAULT_PRESET), {"traffic.visitors": 2000, "traffic.days": 3})
    code = rooms.open(RoomState(scenario=small.canonical_json(), preset=DEFAULT_PRESET, page="", params={}))
    async with Session(url, timeout_s=45) as host:  # the presenter's screen on Funnels: its page hash
        await host.open("traffic.visitors=2000&traffic.days=3", "funnels")
    follower = Follower(url)
    async with follower:
        await follower.join(code)
        await asyncio.sleep(8)
        since = time.perf_counter()
        moved = apply_overrides(small, {"consent.banner": "no_reject"})
        rooms.publish(code, RoomState(scenario=moved.canonical_json(), preset=DEFAULT_PRESET, page="funnels", params={}))
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and follower.showed(since, host.page_hash, _summary(moved)) is None:
            await asyncio.sleep(0.1)
        await follower.leave()
    return follower, follower.showed(since, host.page_hash, _summary(moved)), follower.why_not(since, host.page_hash, _summary(moved))


def test_a_follower_polls_the_room_like_the_browser(tmp_path):
    """The room case's client: it re-runs the polling fragment on the server's auto_rerun timer and
    sees the presenter's page and scenario after a change."""
    rooms_db = tmp_path / "rooms.sqlite"
    with server(cache_mb=512, work=tmp_path, name="follow", extra_env={"DRCL_ROOMS_DB": str(rooms_db)}) as (srv, _):
        follower, delay, why = asyncio.run(_follow(srv.url, rooms_db))
    assert not follower.errors, follower.errors
    assert follower.fragment_runs >= 3, "the client did not re-run the fragment on its timer"
    assert delay is not None and delay < 40, why


def test_a_banner_change_is_recognised_by_the_caption_naming_it_in_words():
    """The page's caption names the banner in words ("banner: No reject button"), not by its code."""
    from conftest import small

    from ui.context import scenario_caption

    shown = Render(1.0, texts=[scenario_caption(small({"consent.banner": "no_reject"}))])
    assert not_applied("consent.banner", "no_reject", shown, None) is None
    assert not_applied("consent.banner", "no_banner", shown, None) == "banner set to no_banner but the caption does not say so"
