"""The Dask worker plugin of sharded runs (imported only where dask.distributed is in use)."""

from __future__ import annotations

from distributed import Worker
from distributed.diagnostics.plugin import WorkerPlugin

from simulators.traffic import warm_worker


class WarmPools(WorkerPlugin):
    """Every worker (those running and any added later) builds its value pools when it joins,
    before it takes a shard, instead of inside its first task."""

    name = "drcl-warm-pools"
    idempotent = True  # registered again by each run_on_dask: workers that have it keep it

    def setup(self, worker: Worker) -> None:
        warm_worker()
