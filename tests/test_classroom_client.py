"""The classroom benchmark's websocket client against a real server: if Streamlit's protocol moves,
the benchmark would time nothing, so one session must render the Overview and follow a knob change."""

from __future__ import annotations

import asyncio

import pytest

from benchmarks.classroom import TITLE, Render, Session, not_applied, server

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
