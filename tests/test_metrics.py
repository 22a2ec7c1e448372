import polars as pl
import pytest
from conftest import small

from engine import metrics
from simulators.run import build_run


def test_truth_kpis_match_direct_counts(base_scenario, base_tables):
    k = metrics.kpi_table(base_tables, base_scenario)
    truth = dict(zip(k["metric"], k["truth"], strict=True))
    ev = base_tables["truth_events"]
    # The truth counts people: a second device is a browser row of its own, not another visitor.
    assert truth["visitors"] == base_tables["visitors"]["person_id"].n_unique() < base_tables["visitors"].height
    assert truth["sessions"] == ev["session_id"].n_unique()
    assert truth["page_views"] == (ev["event"] == "page_view").sum()
    assert truth["conversions"] == (ev["event"] == "purchase").sum()
    assert truth["revenue"] == pytest.approx(ev["revenue"].sum())
    single = ev.group_by("session_id").len().filter(pl.col("len") == 1).height
    assert truth["bounce_rate"] == pytest.approx(single / ev["session_id"].n_unique())


def test_rail_kpis_and_errors(base_scenario, base_tables):
    k = metrics.kpi_table(base_tables, base_scenario)
    row = {r["metric"]: r for r in k.iter_rows(named=True)}
    # Server-side orders: the baseline sees every conversion; page views are all server hits too.
    assert row["conversions"]["baseline"] == row["conversions"]["truth"]
    assert row["page_views"]["baseline_error_pct"] == 0
    # A daily salt counts returning visitors once per day: more "visitors" than there are.
    assert row["visitors"]["baseline"] > row["visitors"]["truth"]
    fs = base_tables["fullstack_events"].filter(~pl.col("is_ping"))
    assert row["visitors"]["fullstack"] == fs["device_id"].n_unique()
    assert row["visitors"]["fullstack_error_pct"] == pytest.approx((row["visitors"]["fullstack"] / row["visitors"]["truth"] - 1) * 100)
    assert row["conversions"]["fullstack"] < row["conversions"]["truth"]


def test_breakdowns_add_up(base_scenario, base_tables):
    for dim in metrics.DIMENSIONS:
        by = metrics.kpis(base_tables, base_scenario, dim)
        total = metrics.kpis(base_tables, base_scenario)
        for metric in ("page_views", "conversions"):
            for rail in metrics.RAILS:
                parts = by.filter(pl.col("metric") == metric, pl.col("rail") == rail)["value"].sum()
                whole = total.filter(pl.col("metric") == metric, pl.col("rail") == rail)["value"].item()
                assert parts == pytest.approx(whole), (dim, metric, rail)
    with pytest.raises(ValueError, match="unknown dimension"):
        metrics.kpis(base_tables, base_scenario, "planet")


def test_waterfall_reconciles(base_scenario, base_tables):
    wf = metrics.waterfall(base_tables, base_scenario)
    steps = dict(zip(wf["step"], wf["running"], strict=True))
    assert wf["change"][:5].sum() == wf["running"][4]
    assert steps["truth visitors"] == base_tables["visitors"].height
    observed = base_tables["fullstack_events"].filter(~pl.col("is_ping"))["device_id"].n_unique()
    assert steps["observed by the full stack"] == observed
    # Safari's 7-day cap over a 14-day run splits some identities.
    assert wf.filter(pl.col("step").str.starts_with("identity"))["change"].item() > 0


def test_modelled_conversions_beat_observed(base_scenario, base_tables):
    m = metrics.modelled_conversions(base_tables, base_scenario)
    assert m["observed"] < m["truth"]
    assert abs(m["error_pct"]) < abs((m["observed"] - m["truth"]) / m["truth"] * 100)
    assert abs(m["error_pct"]) < 10


def test_basic_mode_models_from_consenters_only(base_traffic):
    s = small({"consent.mode": "basic"})
    m = metrics.modelled_conversions(build_run(s, base_traffic), s)
    # Consenting visitors convert more often, so scaling them up overestimates (the consent bias).
    assert m["modelled"] > m["truth"]
