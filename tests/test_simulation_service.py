"""ui/services/simulation.py: what a consent knob recomputes, and that the shortcuts change no number."""

from __future__ import annotations

import polars as pl
from polars.testing import assert_frame_equal

from engine import metrics, pipeline
from engine.scenario import apply_overrides, load_preset
from simulators.traffic import generate_traffic
from ui.services import simulation


def test_a_banner_change_recomputes_only_the_full_stack_kpis_and_no_number_changes(monkeypatch):
    first = apply_overrides(load_preset("eu_shop"), {"traffic.visitors": 1500, "traffic.days": 3, "seed": 4242})
    banner = apply_overrides(first, {"consent.banner": "no_reject"})
    computed: list[str] = []
    rail_kpis = metrics.rail_kpis

    def counting(tables, scenario, rail, by=None):
        computed.append(rail)
        return rail_kpis(tables, scenario, rail, by)

    monkeypatch.setattr(metrics, "rail_kpis", counting)
    simulation.kpi_table(first)
    assert sorted(computed) == ["baseline", "fullstack", "truth"]
    computed.clear()
    got = simulation.kpi_table(banner)
    assert computed == ["fullstack"]  # truth and baseline came from the first scenario's entries
    # The same numbers as the tables computed from scratch, every rail at once.
    monkeypatch.setattr(metrics, "rail_kpis", rail_kpis)
    fresh_tables = pipeline.tables(banner, generate_traffic(banner))
    assert_frame_equal(got, metrics.kpi_table(fresh_tables, banner))
    # The first run gathered the consent-free hit columns once for both of its steps; the banner's reused the kept part.
    for scenario, fresh in ((banner, fresh_tables), (first, pipeline.tables(first, generate_traffic(first)))):
        for name, frame in simulation.run(scenario).items():
            assert_frame_equal(frame, fresh[name])
    assert simulation.kpis(banner, "device").filter(pl.col("rail") == "truth").height > 0
