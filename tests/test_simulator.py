import numpy as np
import polars as pl
import pytest
from conftest import small

from engine import datasets, masking, pipeline
from engine import privacy as pv
from simulators import pools
from simulators import traffic as T
from simulators.run import build_run


def test_same_seed_gives_identical_tables(base_scenario, base_tables):
    again = build_run(base_scenario)
    for name, frame in base_tables.items():
        assert frame.equals(again[name]), name


def test_other_seed_gives_other_traffic(base_traffic):
    other = T.generate_traffic(small({"seed": 43}))
    assert not base_traffic.events.equals(other.events)


def test_chunks_are_independent_of_run_size(base_scenario):
    # Common random numbers: the first visitors are the same whatever the run's size.
    bigger = small({"traffic.visitors": T.CHUNK_VISITORS + 10})
    a = T.generate_chunk(base_scenario, 0).visitors.drop("n_sessions", "n_events", "first_seen", "date", "email")
    b = T.generate_chunk(bigger, 0).visitors.drop("n_sessions", "n_events", "first_seen", "date", "email")
    common = a.join(b.select("visitor_id"), on="visitor_id", how="semi")
    assert common.height > 0.99 * a.height
    assert common.equals(b.join(common.select("visitor_id"), on="visitor_id", how="semi"))


def test_banner_changes_consent_not_browsing(base_scenario, base_traffic, base_tables):
    no_reject = small({"consent.banner": "no_reject"})
    other = build_run(no_reject)
    assert other["truth_events"].equals(base_tables["truth_events"])
    assert other["visitors"].drop("consent_choice", "consent_at").equals(base_tables["visitors"].drop("consent_choice", "consent_at"))


@pytest.mark.parametrize("banner", ["no_reject", "reject_second_layer", "reject_first_layer"])
def test_accept_rate_matches_the_published_rate(banner):
    s = small({"consent.banner": banner, "traffic.visitors": 40_000, "traffic.days": 3, "consent.honour_gpc": False})
    tr = T.generate_traffic(s)
    from engine.consent import accept_rate, decide

    d = decide(tr.visitors, tr.draws, s.consent)
    decided = d.filter(pl.col("choice").is_in(["accept_all", "reject_all", "custom"]))
    share = (decided["choice"] == "accept_all").mean()
    assert abs(share - accept_rate(banner)) < 0.015, (banner, share)
    # About half decide at all (Teads 2018), minus those who leave before the banner's page.
    assert 0.35 < decided.height / d.height < 0.5


def test_visitor_attributes_are_realistic(base_traffic):
    v = base_traffic.visitors
    assert v["visitor_id"].is_unique().all()
    # Correlated profiles: a user agent always comes with the same platform and browser (iPads
    # send the macOS Safari user agent, as real iPadOS does, so the OS may differ).
    assert v.group_by("user_agent").agg(pl.col("platform").n_unique(), pl.col("browser").n_unique()).select(
        (pl.col("platform") == 1).all() & (pl.col("browser") == 1).all()
    ).item()
    # Screens and WebGL renderers come from the device's own pools: no phone with a 4K screen.
    assert v.filter(pl.col("device") == "mobile")["screen"].str.extract(r"^(\d+)x").cast(pl.Int32).max() < 500
    assert v["ipv4"].str.contains(r"^\d+\.\d+\.\d+\.\d+$").all()
    assert 0.3 < v["ipv6"].is_not_null().mean() < 0.6
    # E-mails only for visitors who identify (account, purchase, newsletter).
    assert v.filter(pl.col("has_account"))["email"].is_not_null().all()
    assert 0 < v["email"].is_not_null().mean() < 0.8
    safari = (v["browser"] == "Safari").mean()
    assert abs(safari - 0.25) < 0.03


def test_fingerprint_variety_stays_inside_the_device_profile(base_traffic):
    v = base_traffic.visitors
    # Every user-agent variant still names the visitor's browser and OS (iPads send the macOS one).
    parsed = masking.reduce_user_agent(v["user_agent"]).rename(lambda c: f"ua_{c}")
    both = pl.concat([v.select("browser", "os", "device"), parsed], how="horizontal")
    both = both.filter(~((pl.col("os") == "iOS") & (pl.col("device") == "tablet")))
    assert both.select((pl.col("ua_browser_family") == pl.col("browser")) & (pl.col("ua_os") == pl.col("os"))
                       & (pl.col("ua_device_class") == pl.col("device"))).to_series().all()
    assert v["user_agent"].n_unique() > 1000
    # Plugins only on desktop, in many lists; Accept-Language opens with the country's language.
    assert (v.filter(pl.col("device") != "desktop")["plugins"] == pools.NO_PLUGINS).all()
    assert v.filter(pl.col("device") == "desktop")["plugins"].n_unique() > 100
    lang = v.join(pl.DataFrame({"country": pools.country_pools().codes, "lang": pools.country_pools().language}), on="country")
    assert lang.select(pl.col("language").str.starts_with(pl.col("lang").str.split("-").list.first()).all()).item()


def test_fingerprints_land_near_the_published_entropies():
    # At AmIUnique's size and the studies' device split, as benchmarks/fingerprint_calibration.py
    # prints; timezone, platform and accept follow the country and profile mix, not a calibrated pool.
    vis = T.generate_traffic(small({"traffic.visitors": 118_934, "traffic.days": 1, "traffic.fingerprint_population": "volunteers"}
                                   | pv.study_mix_overrides())).visitors
    pub = pv.published_entropy().filter(~pl.col("attribute").is_in(["timezone", "platform", "accept"]))
    ours = pv.attribute_entropy(vis, pub["attribute"].to_list())
    for attribute, theirs in pub.select("attribute", "amiunique_bits").iter_rows():
        assert abs(ours[attribute] - theirs) < 0.5, (attribute, ours[attribute], theirs)
    shares = datasets.calibration()["fingerprint"]["unique_share"]
    attrs = pv.published_entropy().filter(pl.col("amiunique_bits").is_not_null())["attribute"].to_list()
    assert abs(pv.unique_share(vis, attrs) - shares["amiunique"]) < 0.03
    for device in ("desktop", "mobile"):
        sub = vis.filter(pl.col("device") == device)
        assert abs(pv.unique_share(sub, attrs) - shares[f"amiunique_{device}"]) < 0.05, device
    # Correlated attributes: fewer unique browsers than drawing the same attributes independently.
    shuffled = vis.select([pl.col(a).shuffle(seed=i) for i, a in enumerate(attrs)])
    assert pv.unique_share(vis, attrs) < pv.unique_share(shuffled, attrs) - 0.03


def test_events_follow_the_funnel_in_order(base_scenario, base_traffic):
    ev = base_traffic.events
    site = datasets.site(base_scenario.site.kind)
    assert set(ev["event"].unique()) <= set(site["events"])
    # Sorted by visitor then time; seq counts each visitor's events from 0.
    assert ev.select((pl.col("visitor_id").diff().fill_null(0) >= 0).all()).item()
    per = ev.group_by("visitor_id").agg(lo=pl.col("seq").min(), hi=pl.col("seq").max(), n=pl.len())
    assert (per["lo"] == 0).all() and (per["hi"] == per["n"] - 1).all()
    order = {e: i for i, e in enumerate(site["funnel"])}
    steps = ev.filter(pl.col("event").is_in(site["funnel"][1:])).with_columns(rank=pl.col("event").replace_strict(order, return_dtype=pl.Int32))
    bad = steps.sort("session_id", "ts").group_by("session_id").agg((pl.col("rank").diff().fill_null(0) < 0).any().alias("back"))
    assert not bad["back"].any()
    # Every purchase has a begin_checkout before it in the same session, with revenue.
    p = ev.filter(pl.col("event") == "purchase")
    assert p["revenue"].is_not_null().all() and (p["revenue"] > 0).all()
    chk = ev.filter(pl.col("event") == "begin_checkout").group_by("session_id").agg(first_chk=pl.col("ts").min())
    j = p.join(chk, on="session_id", how="left")
    assert (j["first_chk"] <= j["ts"]).all()
    # Landing pages of campaign sessions carry UTM, some URLs leak an e-mail as real sites do.
    assert ev.filter(pl.col("channel") == "paid", pl.col("referrer").is_not_null())["url"].str.contains("gclid=").all()
    assert ev["url"].str.contains("email=").sum() > 0


def test_content_site_uses_its_taxonomy():
    s = small({"site.kind": "content", "traffic.visitors": 2000})
    ev = T.generate_traffic(s).events
    assert set(ev["event"].unique()) <= {"page_view", "snack_start", "chart_interact", "snack_complete", "share_click", "cta_subscribe"}
    assert (ev["event"] == "cta_subscribe").sum() > 0
    assert ev["revenue"].is_null().all()


def test_safari_itp_splits_client_ids_unless_cookies_are_server_set(base_scenario, base_traffic):
    def ids_per_visitor(scenario):
        hits = pipeline.browser_hits(scenario, base_traffic)
        ev = base_traffic.events.select("visitor_id").with_columns(hits["client_id"], hits["ts"])
        vis = base_traffic.visitors.select("visitor_id", "browser")
        return ev.drop_nulls("client_id").group_by("visitor_id").agg(pl.col("client_id").n_unique().alias("n")).join(vis, on="visitor_id")

    script = ids_per_visitor(base_scenario)
    server = ids_per_visitor(small({"rails.server_set_cookies": True}))
    assert script.filter(pl.col("browser") == "Safari")["n"].max() > 1
    assert script.filter(pl.col("browser") != "Safari")["n"].max() == 1
    assert server["n"].max() == 1


def test_hits_carry_consent_state_and_no_visitor_id(base_scenario, base_traffic):
    hits = pipeline.browser_hits(base_scenario, base_traffic)
    assert "visitor_id" not in hits.columns
    assert hits.height == base_traffic.events.height
    # The analytics cookie exists exactly when analytics storage is granted.
    assert (hits["client_id"].is_not_null() == hits["analytics_storage"]).all()
    assert hits.filter(pl.col("consent_choice").is_not_null())["consent_ts"].is_not_null().all()
    assert np.isin(hits["consent_choice"].drop_nulls().unique().to_numpy(), ["accept_all", "reject_all", "custom", "gpc"]).all()


FP_ONLY = ("screen", "webgl", "fonts", "canvas", "plugins")  # what the fingerprint population may change


def test_fingerprint_population_changes_only_script_read_attributes():
    vol = T.generate_traffic(small({"traffic.visitors": 6000, "traffic.days": 3, "traffic.fingerprint_population": "volunteers"}))
    gen = T.generate_traffic(small({"traffic.visitors": 6000, "traffic.days": 3, "traffic.fingerprint_population": "general_audience"}))
    assert vol.events.equals(gen.events)
    assert vol.visitors.drop(FP_ONLY).equals(gen.visitors.drop(FP_ONLY))
    changed = [c for c in FP_ONLY if not vol.visitors[c].equals(gen.visitors[c])]
    assert changed == list(FP_ONLY)


def test_general_audience_is_less_unique_and_phones_less_than_desktops():
    n = 300_000
    shares = {}
    for name in ("general_audience", "volunteers"):
        sc = small({"traffic.days": 1, "traffic.fingerprint_population": name})
        codes, device = T.fingerprint_sample(sc, n, pv.FINGERPRINT_ATTRIBUTES)
        assert len(codes) == n
        shares[name] = {d: pv.unique_share_of_codes(codes[device == d]) for d in ("desktop", "mobile")}
        shares[name]["all"] = pv.unique_share_of_codes(codes)
    assert shares["general_audience"]["all"] < shares["volunteers"]["all"] - 0.1
    for name in shares:
        assert shares[name]["mobile"] < shares[name]["desktop"], name
    # The sample's first visitors are the run's own visitors.
    sc = small({"traffic.visitors": 500, "traffic.days": 1})
    cols = ["visitor_id", "country", "user_agent", "screen", "fonts", "canvas"]
    assert T.visitor_sample(sc, 60_000).head(500).select(cols).equals(T.generate_traffic(sc).visitors.filter(pl.col("visitor_id") == pl.col("person_id")).select(cols))


def test_fingerprint_sample_depends_only_on_its_knobs():
    # The Privacy page caches its population curves by fingerprint_key: every other knob must leave
    # the sample as it is, and each of its own knobs must change the key.
    n = 3000
    base = small()
    codes, device = T.fingerprint_sample(base, n, pv.FINGERPRINT_ATTRIBUTES)
    others = {"traffic.visitors": 900, "traffic.days": 3, "traffic.adblock.chrome": 0.9, "traffic.gpc_share": 0.4,
              "traffic.returning_share": 0.8, "traffic.channel_mix.paid": 0.5, "site.kind": "content",
              "consent.banner": "no_reject", "rails.baseline_salt": "fixed"}
    for path, value in others.items():
        other = small({path: value})
        assert T.fingerprint_key(other) == T.fingerprint_key(base), path
        got_codes, got_device = T.fingerprint_sample(other, n, pv.FINGERPRINT_ATTRIBUTES)
        assert np.array_equal(got_codes, codes) and np.array_equal(got_device, device), path
    own = {"seed": 7, "traffic.region_mix.us": 0.5, "traffic.device_mix.tablet": 0.3, "traffic.safari_share": 0.6,
           "traffic.fingerprint_population": "volunteers"}
    for path, value in own.items():
        other = small({path: value})
        assert T.fingerprint_key(other) != T.fingerprint_key(base), path
        assert not np.array_equal(T.fingerprint_sample(other, n, pv.FINGERPRINT_ATTRIBUTES)[0], codes), path


def test_fingerprint_sample_builds_only_its_columns_with_the_runs_values():
    sc = small({"traffic.visitors": 400, "traffic.days": 1})
    codes, device = T.fingerprint_sample(sc, 400, pv.FINGERPRINT_ATTRIBUTES)
    vis = T.generate_traffic(sc).visitors.filter(pl.col("visitor_id") == pl.col("person_id")).sort("visitor_id")
    assert np.array_equal(codes, vis.select(pl.struct(list(pv.FINGERPRINT_ATTRIBUTES)).hash(seed=0)).to_series().to_numpy())
    assert np.array_equal(device, vis["device"].to_numpy())
