"""Unit tests for engine.consent_impact on the shared small run (4,000 visitors, 14 days)."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest
from conftest import small

from engine import consent_impact as ci
from engine import datasets, metrics
from engine.consent import decide
from engine.funnel import rail_funnels
from simulators.run import build_run

THRESHOLDS = datasets.calibration()["consent_mode"]["ga4_modelling_thresholds"]


@pytest.fixture(scope="module")
def decisions(base_scenario, base_traffic):
    return decide(base_traffic.visitors, base_traffic.draws, base_scenario.consent)


@pytest.fixture(scope="module")
def basic_tables(base_traffic):
    return build_run(small({"consent.mode": "basic"}), base_traffic)


def test_source_note_flags_secondary_and_anecdotal():
    cal = datasets.calibration()
    assert datasets.source_note("consent", "decision_share") == f"Source: {cal['consent']['decision_share']['source']}."
    assert datasets.source_note("consent_mode", "ga4_modelling_thresholds").endswith("(secondary transcription).")
    assert "(anecdotal)" in datasets.source_note("adblock", "tech_blog_ga_blocked")


def test_published_accept_rate_reads_the_calibration():
    published = datasets.calibration()["consent"]["accept_rate_given_decision"]
    for banner in ci.BANNERS:
        expected = published.get(banner)
        assert ci.published_accept_rate(banner) == expected
    assert ci.published_accept_rate("no_banner") is None


def test_consent_rates_overall_match_direct_counts(decisions):
    r = ci.consent_rates(decisions)
    assert r.height == 1
    row = r.row(0, named=True)
    counts = decisions["choice"].value_counts()
    n = {c: k for c, k in counts.iter_rows()}
    assert row["visitors"] == decisions.height
    for choice in ci.CHOICE_ORDER:
        assert row[choice] == pytest.approx(n.get(choice, 0) / decisions.height)
    assert sum(row[c] for c in ci.CHOICE_ORDER) == pytest.approx(1.0)
    assert row["analytics_granted"] == pytest.approx(decisions["analytics_storage"].mean())
    deciders = sum(n.get(c, 0) for c in ci.DECIDED)
    assert row["deciders"] == deciders
    assert row["accept_rate_deciders"] == pytest.approx(n["accept_all"] / deciders)


@pytest.mark.parametrize("by", ["region", "device", "privacy_attitude"])
def test_consent_rates_breakdown_adds_up(decisions, base_traffic, by):
    r = ci.consent_rates(decisions, base_traffic.visitors, by)
    assert set(r[by]) == set(base_traffic.visitors[by])
    assert r["visitors"].sum() == decisions.height
    overall = ci.consent_rates(decisions).row(0, named=True)
    for choice in ("accept_all", "reject_all", "ignored"):
        weighted = (r[choice] * r["visitors"]).sum() / r["visitors"].sum()
        assert weighted == pytest.approx(overall[choice])
    assert ((r.select(list(ci.CHOICE_ORDER)).sum_horizontal() - 1).abs() < 1e-9).all()


def test_consent_rates_breakdown_needs_visitors(decisions):
    with pytest.raises(ValueError, match="visitors"):
        ci.consent_rates(decisions, None, "region")


def test_rates_by_banner_same_visitors_and_published_beside(base_scenario, base_traffic, decisions):
    r = ci.rates_by_banner(base_traffic, base_scenario.consent)
    assert r["banner"].to_list() == list(ci.BANNERS)
    assert r["visitors"].unique().to_list() == [base_traffic.visitors.height]
    # The banner changes how people answer, not whether a browser sends GPC.
    assert r["gpc"].n_unique() == 1
    # The current banner's row is the run's own decision.
    current = r.filter(pl.col("banner") == base_scenario.consent.banner).drop("banner", "published_accept_rate")
    assert current.equals(ci.consent_rates(decisions))
    with_pub = r.filter(pl.col("published_accept_rate").is_not_null())
    assert set(with_pub["banner"]) == {b for b in ci.BANNERS if ci.published_accept_rate(b) is not None}
    for row in with_pub.iter_rows(named=True):
        se = math.sqrt(row["published_accept_rate"] * (1 - row["published_accept_rate"]) / row["deciders"])
        assert abs(row["accept_rate_deciders"] - row["published_accept_rate"]) < 4 * se + 0.01, row["banner"]
    # The simulated ordering of designs follows the published one.
    assert with_pub.sort("published_accept_rate")["banner"].to_list() == with_pub.sort("accept_rate_deciders")["banner"].to_list()
    no_banner = r.filter(pl.col("banner") == "no_banner").row(0, named=True)
    assert no_banner["deciders"] == 0 and no_banner["accept_rate_deciders"] is None


def test_shares_long_stacks_to_one(base_scenario, base_traffic):
    r = ci.rates_by_banner(base_traffic, base_scenario.consent)
    long = ci.shares_long(r, "banner")
    assert (long["share"] > 0).all()
    totals = long.group_by("banner").agg(pl.col("share").sum())
    assert ((totals["share"] - 1).abs() < 1e-9).all()
    assert long["order"].to_list() == [ci.CHOICE_ORDER.index(c) for c in long["choice"]]


def test_fullstack_comparison_same_truth(base_scenario, base_tables, base_traffic):
    other = small({"consent.banner": "no_reject"})
    kpi_a = metrics.kpi_table(base_tables, base_scenario)
    kpi_b = metrics.kpi_table(build_run(other, base_traffic), other)
    cmp = ci.fullstack_comparison(kpi_a, kpi_b)
    assert cmp["metric"].to_list() == list(ci.COMPARED_METRICS)
    a = dict(zip(kpi_a["metric"], kpi_a["fullstack"], strict=True))
    b = dict(zip(kpi_b["metric"], kpi_b["fullstack"], strict=True))
    truth = dict(zip(kpi_a["metric"], kpi_a["truth"], strict=True))
    for row in cmp.iter_rows(named=True):
        assert row["a"] == a[row["metric"]] and row["b"] == b[row["metric"]] and row["truth"] == truth[row["metric"]]
        assert row["b_minus_a"] == pytest.approx(row["b"] - row["a"])
    # Without a reject button more visitors consent: the full stack sees more of the same visitors.
    assert cmp.filter(pl.col("metric") == "visitors")["b_minus_a"].item() > 0
    with pytest.raises(ValueError, match="same truth"):
        ci.fullstack_comparison(kpi_a, kpi_b.with_columns(pl.col("truth") * 2))


def test_consent_mode_summary(base_scenario, base_tables, basic_tables):
    s = ci.consent_mode_summary({"basic": basic_tables, "advanced": base_tables}, base_scenario)
    rows = {r["mode"]: r for r in s.iter_rows(named=True)}
    assert rows["basic"]["pings"] == 0
    assert rows["advanced"]["pings"] == base_tables["fullstack_events"]["is_ping"].sum() > 0
    truth = int((base_tables["truth_events"]["event"] == "purchase").sum())
    for mode, tables in (("basic", basic_tables), ("advanced", base_tables)):
        m = metrics.modelled_conversions(tables, base_scenario)
        assert rows[mode]["truth_conversions"] == truth
        assert rows[mode]["modelled_conversions"] == pytest.approx(m["modelled"])
        assert rows[mode]["modelled_error_pct"] == pytest.approx((m["modelled"] - truth) / truth * 100)
        assert rows[mode]["observed_error_pct"] == pytest.approx((m["observed"] - truth) / truth * 100)
    # Pings are not observed conversions: the consented hits are the same in both modes.
    assert rows["basic"]["observed_conversions"] == rows["advanced"]["observed_conversions"]
    # Without pings there is nothing denied to model from: basic mode never meets GA4's thresholds.
    assert rows["basic"]["denied_days"] == 0 and rows["basic"]["ga4_thresholds_met"] is False


def test_ga4_daily_counts_pings_and_granted_devices(base_tables):
    fs = base_tables["fullstack_events"]
    daily = ci.ga4_daily(fs)
    assert daily["date"].is_sorted() and daily["date"].n_unique() == daily.height
    assert daily["denied_events"].sum() == fs["is_ping"].sum()
    day = daily["date"][daily.height // 2]
    expected = fs.filter(pl.col("date") == day, ~pl.col("is_ping"))["device_id"].n_unique()
    assert daily.filter(pl.col("date") == day)["granted_users"].item() == expected


def _daily(denied: list[int], granted: list[int]) -> pl.DataFrame:
    start = dt.date(2026, 1, 1)
    return pl.DataFrame({"date": [start + dt.timedelta(days=i) for i in range(len(denied))],
                         "denied_events": denied, "granted_users": granted})


def test_ga4_verdict_met_and_not_met():
    d_min, g_min = THRESHOLDS["denied_events_per_day"], THRESHOLDS["granted_users_per_day"]
    days = max(THRESHOLDS["denied_days"], THRESHOLDS["granted_days_of_last_28"]) + 3
    ok = ci.ga4_verdict(_daily([2 * d_min] * days, [2 * g_min] * days), THRESHOLDS, 1000)
    assert ok["met"] and ok["denied_days"] == days and ok["granted_days"] == days
    assert ok["visitors_per_day_needed"] == 500  # half the traffic would still reach every threshold
    # Granted users at half the threshold: not met, and twice the traffic is needed.
    short = ci.ga4_verdict(_daily([2 * d_min] * days, [g_min // 2] * days), THRESHOLDS, 1000)
    assert not short["met"] and short["denied_ok"] and not short["granted_ok"] and short["granted_days"] == 0
    assert short["visitors_per_day_needed"] == math.ceil(1000 * g_min / (g_min // 2))
    # Only days of the last 28 count for granted users.
    old = ci.ga4_verdict(_daily([2 * d_min] * 40, [2 * g_min] * 10 + [0] * 30), THRESHOLDS, 1000)
    assert old["granted_days"] == 0 and not old["met"]
    # No denied events at all: no volume is enough.
    none = ci.ga4_verdict(_daily([0] * days, [2 * g_min] * days), THRESHOLDS, 1000)
    assert none["visitors_per_day_needed"] is None and not none["denied_ok"]
    # Too few days: never met, whatever the volume.
    few = ci.ga4_verdict(_daily([10 * d_min] * 3, [10 * g_min] * 3), THRESHOLDS, 1000)
    assert not few["met"] and not few["long_enough"]
    assert few["visitors_per_day_needed"] == 100  # a tenth of the traffic, over enough days
    # Sessions spilling past the last midnight add a partial date: not a day of traffic.
    spill = _daily([10 * d_min] * 3 + [5], [10 * g_min] * 3 + [1])
    assert ci.ga4_verdict(spill, THRESHOLDS, 1000, run_days=3)["visitors_per_day_needed"] == 100
    assert ci.ga4_verdict(spill, THRESHOLDS, 1000)["visitors_per_day_needed"] > 100


def test_ga4_verdict_names_what_is_missing():
    d_min, g_min = THRESHOLDS["denied_events_per_day"], THRESHOLDS["granted_users_per_day"]
    days = THRESHOLDS["denied_days"]
    assert ci.ga4_verdict(_daily([0] * days, [2 * g_min] * days), THRESHOLDS, 1000)["missing"] == "denied"
    no_granted = ci.ga4_verdict(_daily([2 * d_min] * days, [0] * days), THRESHOLDS, 1000)
    assert no_granted["missing"] == "granted" and no_granted["visitors_per_day_needed"] is None
    assert "No users with analytics granted" in ci.describe_ga4(no_granted, THRESHOLDS)
    assert ci.ga4_verdict(_daily([d_min] * days, [g_min] * days), THRESHOLDS, 1000)["missing"] is None


def test_describe_ga4_says_what_holds():
    d_min, g_min = THRESHOLDS["denied_events_per_day"], THRESHOLDS["granted_users_per_day"]
    days = THRESHOLDS["denied_days"] + 3
    short = ci.ga4_verdict(_daily([2 * d_min] * days, [g_min // 2] * days), THRESHOLDS, 1000)
    text = ci.describe_ga4(short, THRESHOLDS)
    assert text.startswith("This run does not meet them") and "2,000 new visitors a day" in text
    few = ci.describe_ga4(ci.ga4_verdict(_daily([10 * d_min] * 3, [10 * g_min] * 3), THRESHOLDS, 1000), THRESHOLDS)
    assert f"at least {THRESHOLDS['denied_days']} days" in few
    none = ci.describe_ga4(ci.ga4_verdict(_daily([0] * days, [2 * g_min] * days), THRESHOLDS, 1000), THRESHOLDS)
    assert "No events with analytics denied reach the full stack" in none
    met = ci.describe_ga4(ci.ga4_verdict(_daily([2 * d_min] * days, [2 * g_min] * days), THRESHOLDS, 1000), THRESHOLDS)
    assert met.startswith("This run meets them")


def test_the_page_says_the_ga4_verdict_from_the_catalogue_as_the_engine_does():
    """The Consent impact page words the verdict from the catalogue (so it speaks German): in English it reads
    exactly as the engine's sentence, for every kind of verdict; in German its numbers follow German formats."""
    from ui import words
    from ui.components.consent_story import ga4_takeaway

    d_min, g_min = THRESHOLDS["denied_events_per_day"], THRESHOLDS["granted_users_per_day"]
    days = THRESHOLDS["denied_days"] + 3
    verdicts = [ci.ga4_verdict(_daily(d, g), THRESHOLDS, per_day) for d, g, per_day in (
        ([2 * d_min] * days, [g_min // 2] * days, 1000), ([10 * d_min] * 3, [10 * g_min] * 3, 1000),
        ([0] * days, [2 * g_min] * days, 1000), ([2 * d_min] * days, [0] * days, 1000),
        ([2 * d_min] * days, [2 * g_min] * days, 1000), ([d_min] * days, [g_min] * days, 1010))]
    for verdict in verdicts:
        assert ga4_takeaway(verdict, THRESHOLDS) == ci.describe_ga4(verdict, THRESHOLDS)
    with words.speaking("de"):
        assert words.num(2000) in ga4_takeaway(verdicts[0], THRESHOLDS) and "2,000" not in ga4_takeaway(verdicts[0], THRESHOLDS)


def test_conversion_by_consent_hand_computed():
    visitors = pl.DataFrame({"visitor_id": [1, 2, 3, 4, 5], "consent_choice": ["accept_all", "custom", "reject_all", "ignored", "ignored"]})
    events = pl.DataFrame({"visitor_id": [1, 1, 2, 3, 4, 5], "event": ["page_view", "purchase", "page_view", "page_view", "purchase", "page_view"]})
    t = ci.conversion_by_consent(visitors, events, "purchase")
    rate = dict(zip(t["group"], t["conversion_rate"], strict=True))
    assert rate == {"accept_all": 1.0, "custom": 0.0, "ignored": 0.5, "reject_all": 0.0,
                    "consenting": 0.5, "not consenting": 1 / 3, "everyone": 0.4}
    r = ci.bias_ratios(t)
    assert r["vs_everyone"] == pytest.approx(0.5 / 0.4) and r["vs_not_consenting"] == pytest.approx(1.5)
    none = ci.bias_ratios(ci.conversion_by_consent(visitors, events.filter(pl.col("visitor_id") != 4), "purchase"))
    assert none["vs_not_consenting"] is None  # nobody outside the consenters converted


def test_conversion_by_consent_on_the_run(base_tables):
    t = ci.conversion_by_consent(base_tables["visitors"], base_tables["truth_events"], "purchase")
    rows = {r["group"]: r for r in t.iter_rows(named=True)}
    converters = base_tables["truth_events"].filter(pl.col("event") == "purchase")["visitor_id"].n_unique()
    assert rows["everyone"]["visitors"] == base_tables["visitors"].height
    assert rows["everyone"]["converters"] == converters
    assert rows["consenting"]["visitors"] + rows["not consenting"]["visitors"] == rows["everyone"]["visitors"]
    per_choice = t.filter(~pl.col("group").is_in(["consenting", "not consenting", "everyone"]))
    assert per_choice["converters"].sum() == converters
    assert rows["everyone"]["ratio_vs_everyone"] == pytest.approx(1.0)


def test_rail_user_events(base_tables):
    fs = ci.rail_user_events(base_tables, "fullstack")
    pings = set(base_tables["fullstack_events"].filter(pl.col("is_ping"))["event_id"])
    assert fs["user_id"].null_count() == 0 and not pings & set(fs["event_id"])
    assert ci.rail_user_events(base_tables, "truth").height == base_tables["truth_events"].height
    with pytest.raises(ValueError, match="unknown rail"):
        ci.rail_user_events(base_tables, "modelled")


@pytest.mark.parametrize("steps", [["page_view", "view_item", "add_to_cart", "begin_checkout", "purchase"], ["page_view", "purchase"]])
def test_funnel_breakdown_adds_up_to_the_rail_funnel(base_tables, steps):
    window = 3600
    whole = rail_funnels(base_tables, steps, window).select("rail", "step", "users")
    b = ci.funnel_breakdown(base_tables, steps, window)
    assert set(b["dimension"]) == set(ci.BREAKDOWN_DIMS)
    for dim in ci.BREAKDOWN_DIMS:
        parts = b.filter(pl.col("dimension") == dim).group_by("rail", "step").agg(pl.col("users").sum())
        joined = whole.join(parts, on=["rail", "step"], how="left", suffix="_parts")
        assert (joined["users"] == joined["users_parts"]).all(), dim
    assert b.filter(pl.col("step") == 1)["drop_off"].eq(0).all()
    assert (b["users"] >= 0).all() and b.group_by("rail", "dimension", "value").agg(pl.col("users").diff().max())["users"].fill_null(0).le(0).all()


def test_funnel_breakdown_truth_consent_state(base_tables):
    b = ci.funnel_breakdown(base_tables, ["page_view"], 60)
    got = dict(b.filter(pl.col("rail") == "truth", pl.col("dimension") == "consent_choice").select("value", "users").iter_rows())
    # A person counts under the consent answer of the browser of their first event (consent is stored per browser).
    ev = base_tables["truth_events"].sort("ts", "event_id")
    viewers = ev.filter(pl.col("event") == "page_view")["person_id"].unique().implode()
    first = ev.unique("person_id", keep="first", maintain_order=True).filter(pl.col("person_id").is_in(viewers))
    expected = first.join(base_tables["visitors"].select("visitor_id", "consent_choice"), on="visitor_id")["consent_choice"].value_counts()
    assert got == dict(expected.iter_rows())


def test_missing_steps_follow_what_each_rail_records(base_scenario, base_tables):
    site = datasets.site(base_scenario.site.kind)
    missing = ci.missing_steps(base_tables, site["funnel"])
    recorded = {"page_view", *site["server_events"]}
    assert missing["baseline"] == [s for s in site["funnel"] if s not in recorded]
    assert "truth" not in missing and "fullstack" not in missing
    assert ci.missing_steps(base_tables, ["page_view"]) == {}
