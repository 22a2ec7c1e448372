"""The Dashboard's engine: date cuts at UTC day boundaries, per-rail rows equal metrics.kpis(by=...)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from engine import dashboard, metrics


def test_in_range_cuts_at_utc_midnight(base_tables, base_scenario):
    first, last = dashboard.run_days(base_scenario)
    day = first + dt.timedelta(days=3)
    cut = metrics.in_range(base_tables, day, day)
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    for name in metrics.EVENT_TABLES:
        ts = base_tables[name]["ts"]
        expected = ((ts >= midnight) & (ts < midnight + dt.timedelta(days=1))).sum()
        assert cut[name].height == expected > 0
        assert cut[name]["ts"].dt.date().unique().to_list() == [day]
    # Every truth visitor kept has an event that day; none with an event that day is dropped.
    assert set(cut["visitors"]["visitor_id"]) == set(cut["truth_events"]["visitor_id"])
    # Consecutive days partition the run: nothing counted twice, nothing lost at midnight.
    a = metrics.in_range(base_tables, first, day)["truth_events"].height
    b = metrics.in_range(base_tables, day + dt.timedelta(days=1), last)["truth_events"].height
    assert a + b == base_tables["truth_events"].height


def test_an_event_at_midnight_belongs_to_the_new_day(base_tables, base_scenario):
    first, _ = dashboard.run_days(base_scenario)
    day = first + dt.timedelta(days=2)
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    t = dict(base_tables)
    ev = t["truth_events"]
    t["truth_events"] = ev.with_columns(ts=pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(midnight)).otherwise("ts"))
    moved = t["truth_events"]["event_id"][0]
    assert moved in set(metrics.in_range(t, day, day)["truth_events"]["event_id"])
    assert moved not in set(metrics.in_range(t, first, day - dt.timedelta(days=1))["truth_events"]["event_id"])


def test_presets_count_back_from_the_runs_last_day(base_scenario):
    first, last = dashboard.run_days(base_scenario)
    assert (last - first).days + 1 == base_scenario.traffic.days
    assert dashboard.preset_range(base_scenario, "last 7 days") == (last - dt.timedelta(days=6), last)
    assert dashboard.preset_range(base_scenario, "last 30 days") == (first, last)  # a 14-day run clips
    assert dashboard.preset_range(base_scenario, "whole run") == (first, last)
    with pytest.raises(ValueError):
        dashboard.preset_range(base_scenario, "yesterday")


@pytest.mark.parametrize(("by", "metric"), [("path", "page_views"), ("channel", "visitors"), ("device", "sessions"),
                                            ("browser", "visitors"), ("country", "visitors")])
def test_breakdown_rows_equal_kpis_by_dimension(base_tables, base_scenario, by, metric):
    start, end = dashboard.preset_range(base_scenario, "last 7 days")
    tables = metrics.in_range(base_tables, start, end)
    rows = dashboard.breakdown(tables, base_scenario, by, metric, top=None)
    k = metrics.kpis(tables, base_scenario, by).filter(pl.col("metric") == metric)
    for rail in metrics.RAILS:
        want = dict(k.filter(pl.col("rail") == rail).select(by, "value").iter_rows())
        got = dict(rows.select(by, rail).drop_nulls(rail).iter_rows())
        assert {key: v for key, v in got.items() if key in want} == want
        assert all(v == 0 for key, v in got.items() if key not in want)  # rows the rail never saw
    # Errors are against the truth row, and the truth totals match the unsplit truth for counts.
    r = rows.filter(pl.col("truth") > 0)
    assert (r["fullstack_error_pct"] - (r["fullstack"] - r["truth"]) / r["truth"] * 100).abs().max() < 1e-9
    if metric == "page_views":
        assert rows["truth"].sum() == (tables["truth_events"]["event"] == "page_view").sum()
    assert rows["truth"].is_sorted(descending=True, nulls_last=True)


def test_daily_series_per_rail_covers_each_day(base_tables, base_scenario):
    first, last = dashboard.run_days(base_scenario)
    d = dashboard.daily(base_tables, base_scenario, "page_views")
    assert d["day"].min() == first and d["day"].max() == last
    truth = d.filter(pl.col("rail") == "truth")
    assert truth.height == base_scenario.traffic.days
    assert truth["value"].sum() == (base_tables["truth_events"]["event"] == "page_view").sum()


@pytest.mark.parametrize("rail", dashboard.SHOWN_RAILS)
def test_strip_equals_kpis_and_modelled_only_replaces_conversions(base_tables, base_scenario, rail):
    s = dashboard.strip(base_tables, base_scenario, rail)
    k = metrics.kpis(base_tables, base_scenario)
    src = "fullstack" if rail == "modelled" else rail
    want = dict(k.filter(pl.col("rail") == src).select("metric", "value").iter_rows())
    got = dict(s.select("metric", "value").iter_rows())
    model = metrics.modelled_conversions(base_tables, base_scenario)["modelled"]
    for m, v in got.items():
        assert v == (model if (rail == "modelled" and m == "conversions") else want[m])
    assert s["metric"].to_list() == list(metrics.METRICS)


def test_worst_rows_are_the_largest_errors_among_big_rows(base_tables, base_scenario):
    rows = {by: dashboard.breakdown(base_tables, base_scenario, by, "visitors", top=None) for by in ("channel", "browser", "country")}
    worst = dashboard.worst_rows(rows, "fullstack", n=2)
    assert len(worst) == 2 and abs(worst[0]["error_pct"]) >= abs(worst[1]["error_pct"])
    for w in worst:
        frame = rows[w["dimension"]]
        assert w["row"] in frame[w["dimension"]].to_list()
        assert w["truth"] >= dashboard.MIN_SHARE * frame["truth"].sum()
    # No eligible row anywhere has a larger error.
    top = max(abs(e) for f in rows.values() for e, t in zip(f["fullstack_error_pct"], f["truth"], strict=True)
              if e is not None and t >= dashboard.MIN_SHARE * f["truth"].sum())
    assert abs(worst[0]["error_pct"]) == top


# --- why a device row is off: iPads send a Mac user agent (a real effect, not a rail bug) -------


def test_ipads_send_a_mac_user_agent_and_android_tablets_do_not(base_tables):
    from engine import masking

    tablets = base_tables["visitors"].filter(pl.col("device") == "tablet")
    ipad = tablets.filter(pl.col("os") == "iOS")["user_agent"]
    android = tablets.filter(pl.col("os") == "Android")["user_agent"]
    assert ipad.len() > 0 and android.len() > 0
    assert masking.reduce_user_agent(ipad)["device_class"].unique().to_list() == ["desktop"]
    assert masking.reduce_user_agent(ipad)["os"].unique().to_list() == ["macOS"]
    assert masking.reduce_user_agent(android)["device_class"].unique().to_list() == ["tablet"]


@pytest.mark.parametrize("rail", ["baseline", "fullstack"])
def test_whereabouts_accounts_for_every_true_visitor_of_a_row(base_tables, base_scenario, rail):
    from ui.components.dashboard_view import cause

    w = dashboard.whereabouts(base_tables, rail, "device", "tablet")
    truth = dashboard.breakdown(base_tables, base_scenario, "device", "visitors", top=None).filter(pl.col("device") == "tablet")
    assert w["true_visitors"] == truth["truth"][0] == w["counted_here"] + w["counted_elsewhere"] + w["unseen"]
    assert w["counted_elsewhere"] > 0 and w["elsewhere_as"] == "desktop" and w["elsewhere_truth"].startswith("iOS")
    if rail == "baseline":
        assert w["unseen"] == 0  # the server-side baseline records every request
    else:
        assert w["unseen"] > 0  # no consent, or a blocker
    assert ("iPads send the same user agent as a Mac" in cause(w, rail)) == (w["counted_elsewhere"] >= w["unseen"])


def test_whereabouts_only_for_visitor_dimensions(base_tables):
    assert dashboard.whereabouts(base_tables, "fullstack", "channel", "direct") is None
    assert dashboard.whereabouts(base_tables, "fullstack", "path", "/") is None
    w = dashboard.whereabouts(base_tables, "baseline", "country", "DE")
    assert w["counted_elsewhere"] == 0 and w["unseen"] == 0  # the baseline's GeoIP places every German in DE


def test_a_sampled_full_stack_names_the_sample_among_the_unrecorded(base_scenario, base_traffic, base_tables):
    """At the 50 % tier about half the true visitors of a row are outside the sample: the cause must
    say so, not put them all down to consent and blockers."""
    from engine.scenario import apply_overrides
    from simulators.run import build_run
    from ui.components.dashboard_view import cause

    sampled = build_run(apply_overrides(base_scenario, {"rails.fullstack_sampling": 50}), base_traffic)
    w = dashboard.whereabouts(sampled, "fullstack", "device", "tablet")
    full = dashboard.whereabouts(base_tables, "fullstack", "device", "tablet")
    assert w["unseen"] > full["unseen"]  # the sample's own loss is in there
    text = cause(w, "fullstack", sampling=50)
    assert "50% sample" in text and "not recorded at all" in text
    assert "sample" not in cause(full, "fullstack") and "sample" not in cause(w, "baseline", sampling=50)
