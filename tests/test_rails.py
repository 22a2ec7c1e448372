import hashlib
import re

import polars as pl
import pytest
from conftest import small

from engine import masking
from simulators.run import build_run


def _with_truth(tables, rail):
    """Rail rows joined to the truth visitor behind them (through the event id, which tests may use)."""
    ev = tables["truth_events"].select("event_id", "visitor_id")
    v = tables["visitors"].select("visitor_id", "consent_choice", "adblock", "region")
    return tables[rail].join(ev, on="event_id", how="left").join(v, on="visitor_id", how="left")


@pytest.fixture(scope="module")
def variants(base_traffic):
    def run(over):
        return build_run(small(over), base_traffic)

    return {
        "basic": run({"consent.mode": "basic"}),
        "no_reject": run({"consent.banner": "no_reject"}),
        "reject_second_layer": run({"consent.banner": "reject_second_layer"}),
        "no_banner": run({"consent.banner": "no_banner"}),
        "proxy": run({"rails.server_side_proxy": True}),
        "fixed_salt": run({"rails.baseline_salt": "fixed"}),
    }


def test_denied_visitors_only_send_pings_in_advanced_mode(base_tables, variants):
    fs = _with_truth(base_tables, "fullstack_events")
    # In opt-in regions nothing is granted before the refusal either (US hits before an opt-out are).
    refused = fs.filter(pl.col("consent_choice").is_in(["reject_all", "gpc"]), pl.col("region").is_in(["eea", "uk"]))
    assert refused.height > 0 and refused["is_ping"].all()
    assert refused.select(pl.col("device_id", "session_id", "user_id", "url", "ua_hash").is_null().all()).row(0) == (True,) * 5
    assert fs.filter(pl.col("is_ping"))["gcs"].is_in(["G100", "G110"]).all()
    basic = _with_truth(variants["basic"], "fullstack_events")
    assert basic.filter(pl.col("consent_choice").is_in(["reject_all", "gpc"]), pl.col("region").is_in(["eea", "uk"])).height == 0
    assert not basic["is_ping"].any()
    assert basic["analytics_storage"].all()


def test_blocked_visitors_are_absent_unless_the_proxy_is_on(base_tables, variants):
    fs = _with_truth(base_tables, "fullstack_events")
    assert fs.filter(pl.col("adblock")).height == 0
    proxied = _with_truth(variants["proxy"], "fullstack_events")
    assert proxied.filter(pl.col("adblock")).height > 0
    assert proxied.filter(~pl.col("is_ping"))["device_id"].n_unique() > fs.filter(~pl.col("is_ping"))["device_id"].n_unique()


def test_banner_moves_the_full_stack_in_the_right_direction(base_tables, variants):
    def observed(t):
        fs = t["fullstack_events"].filter(~pl.col("is_ping"))
        return fs.height, fs["device_id"].n_unique()

    first, second, none = observed(base_tables), observed(variants["reject_second_layer"]), observed(variants["no_reject"])
    assert first[0] < second[0] < none[0]
    assert first[1] < second[1] < none[1]


def test_baseline_does_not_depend_on_consent(base_tables, variants):
    for name in ("basic", "no_reject", "no_banner", "proxy"):
        assert variants[name]["baseline_events"].equals(base_tables["baseline_events"]), name


def test_baseline_records_page_views_and_orders_only(base_tables):
    b = base_tables["baseline_events"]
    truth = base_tables["truth_events"]
    assert set(b["event"].unique()) <= {"page_view", "purchase"}
    assert b.height == truth.filter(pl.col("event").is_in(["page_view", "purchase"])).height
    assert b.filter(pl.col("event") == "purchase")["revenue"].sum() == pytest.approx(truth["revenue"].sum())


def test_daily_salt_unlinks_days_and_fixed_salt_links_them(base_tables, variants):
    def days_per_hash(t):
        b = _with_truth(t, "baseline_events")
        return b.group_by("visitor_hash").agg(pl.col("date").n_unique().alias("d"))["d"].max()

    assert days_per_hash(base_tables) == 1
    assert days_per_hash(variants["fixed_salt"]) > 1


def _raw_values(tables):
    v = tables["visitors"]
    return {
        "ip": set(v["ipv4"].to_list()) | set(v["ipv6"].drop_nulls().to_list()),
        "email": set(v["email"].drop_nulls().to_list()),
        "ua": set(v["user_agent"].to_list()),
    }


@pytest.mark.parametrize("table", ["baseline_events", "fullstack_events", "consent_log"])
def test_no_raw_ip_email_or_user_agent_reaches_the_rails(base_tables, variants, table):
    raw = _raw_values(base_tables)
    email_re = re.compile(masking.EMAIL_PATTERN)
    for tables in (base_tables, variants["proxy"], variants["no_reject"]):
        frame = tables[table]
        for col, dtype in frame.schema.items():
            if dtype != pl.String:
                continue
            values = set(frame[col].drop_nulls().unique().to_list())
            for kind, bad in raw.items():
                assert not values & bad, f"raw {kind} in {table}.{col}"
            assert not any(email_re.search(x) for x in values), f"e-mail pattern in {table}.{col}"


def test_full_stack_urls_keep_only_allowed_params(base_tables):
    urls = base_tables["fullstack_events"]["url"].drop_nulls()
    params = urls.str.extract_all(r"[?&]([^=&]+)=").explode().drop_nulls().str.strip_chars("?&=")
    assert set(params.unique().to_list()) <= {"utm_source", "utm_medium", "utm_campaign", "gclid"}
    assert urls.str.starts_with("/").all()


def test_ad_fields_follow_ad_consent(base_tables):
    fs = base_tables["fullstack_events"]
    assert fs.filter(pl.col("gclid").is_not_null())["ad_storage"].all()
    expected = pl.concat_str([pl.lit("G1"), pl.col("ad_storage").cast(pl.Int8).cast(pl.String), pl.col("analytics_storage").cast(pl.Int8).cast(pl.String)])
    assert fs.select((pl.col("gcs") == expected).all()).item()
    assert set(fs["gcs"].unique().to_list()) <= {"G100", "G101", "G110", "G111"}


def test_user_id_is_a_keyed_hash_of_the_email(base_tables):
    fs = _with_truth(base_tables, "fullstack_events").filter(pl.col("user_id").is_not_null())
    assert fs.height > 0
    emails = base_tables["visitors"].select("visitor_id", "email")
    j = fs.join(emails, on="visitor_id").select("user_id", "email").unique()
    bare = {hashlib.sha256(e.encode()).hexdigest()[:16] for e in j["email"]}
    assert not bare & set(j["user_id"].to_list())
    # One person, one id (with the fixed key).
    assert j.group_by("email").agg(pl.col("user_id").n_unique())["user_id"].max() == 1


def test_consent_log_has_four_signals_per_decision(base_tables):
    log = base_tables["consent_log"]
    decided = base_tables["visitors"].filter(pl.col("consent_choice").is_in(["accept_all", "reject_all", "custom", "gpc"]))
    assert log.height == 4 * decided.height
    assert set(log["consent_type"].unique()) == {"analytics_storage", "ad_storage", "ad_user_data", "ad_personalization"}
    assert (log.group_by("anonymous_id").len()["len"] == 4).all()
    assert log.filter(pl.col("method") == "gpc")["granted"].not_().all()
    assert log.filter(pl.col("method") == "accept_all")["granted"].all()
    assert log["consent_version"].is_in(["banner-rfl-v3", "gpc-signal"]).all()


def test_no_banner_means_regional_defaults(variants):
    fs = _with_truth(variants["no_banner"], "fullstack_events")
    full = fs.filter(~pl.col("is_ping"))
    assert set(full["region"].unique().to_list()) <= {"us", "rest"}
    assert variants["no_banner"]["consent_log"]["method"].unique().to_list() in (["gpc"], [])


def test_consent_free_parts_are_reusable_across_consent_knobs(base_traffic):
    from engine import pipeline

    first = small()
    parts = pipeline.consent_free(first, base_traffic)
    for over in ({"consent.banner": "no_reject"}, {"consent.mode": "basic"}, {"consent.honour_gpc": False}):
        s = small(over)
        assert s.rails_key == first.rails_key
        reused = pipeline.tables(s, base_traffic, parts)
        fresh = pipeline.tables(s, base_traffic)
        for name in fresh:
            assert reused[name].equals(fresh[name]), (over, name)
    assert small({"rails.baseline_salt": "fixed"}).rails_key != first.rails_key
    assert small({"masking.store_truncated_ip": True}).rails_key != first.rails_key


def test_basic_mode_is_the_advanced_run_minus_pings(base_traffic):
    from engine.rails import basic_mode_view

    advanced = build_run(small(), base_traffic)
    basic = build_run(small({"consent.mode": "basic"}), base_traffic)
    derived = basic_mode_view(advanced)
    for name in basic:
        assert derived[name].equals(basic[name]), name
