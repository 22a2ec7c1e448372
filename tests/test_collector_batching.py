"""The writer's group gathering, on a real collector: batches that arrive together share one commit
(the rails' fixed cost is paid once for them), and a lone client's batch is committed on its own at
once, never held back for company."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from collector_helpers import Collector, batch, event, health, post


@pytest.fixture
def collector(tmp_path):
    c = Collector(tmp_path / "c.duckdb")
    yield c
    c.stop()


def test_batches_sent_together_share_groups_and_all_land(collector):
    sent = 24

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60) as client:
            return await asyncio.gather(*[
                client.post(collector.events_url, headers={"content-type": "application/json"},
                            content=json.dumps(batch([event(f"g{b}-{i}") for i in range(100)], f"g{b}")).encode())
                for b in range(sent)
            ])

    before = health(collector)["groups_committed"]
    responses = asyncio.run(fire())
    assert [r.status_code for r in responses] == [202] * sent
    after = health(collector)
    assert after["stored"]["events"] == sent * 100
    groups = after["groups_committed"] - before
    assert 1 <= groups < sent  # some batches were committed together
    assert after["mean_group"] > 100  # events per group: more than one batch's worth on average


def test_a_lone_clients_batches_are_each_committed_alone(collector):
    before = health(collector)["groups_committed"]
    for b in range(3):  # one in flight at a time: each is answered only once its group has committed
        r = post(collector, batch([event(f"lone{b}-{i}") for i in range(10)], f"lone{b}"))
        assert r.status_code == 202 and r.json()["events_stored"] == 10
    assert health(collector)["groups_committed"] - before == 3
