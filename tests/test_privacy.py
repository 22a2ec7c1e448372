"""engine.privacy: entropy, uniqueness, anonymity sets, k-anonymity, masking steps, linkability,
and the hash-reversal demo."""

from __future__ import annotations

import hashlib
import itertools
import math

import numpy as np
import polars as pl
import pytest
from conftest import small

from engine import datasets, masking, pipeline
from engine import privacy as pv
from simulators.run import build_run

KEY = b"a secret key of the demo, 32 b."


# --- entropy and uniqueness -------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 3, 6])
def test_entropy_of_a_uniform_distribution_is_k_bits(k):
    df = pl.DataFrame({"x": np.repeat(np.arange(2**k), 7)})
    assert pv.attribute_entropy(df, ["x"])["x"] == pytest.approx(k)


def test_entropy_of_known_distributions():
    df = pl.DataFrame({
        "constant": ["a"] * 8,
        "coin": [True, False] * 4,
        "skewed": ["a"] * 4 + ["b"] * 2 + ["c"] * 2,  # 1/2, 1/4, 1/4 -> 1.5 bits
        "with_null": [None] * 4 + ["z"] * 4,           # a null is a value like any other
    })
    bits = pv.attribute_entropy(df, df.columns)
    assert bits == pytest.approx({"constant": 0.0, "coin": 1.0, "skewed": 1.5, "with_null": 1.0})
    assert pv.one_in(bits["skewed"]) == pytest.approx(2**1.5)


def test_unique_share_on_hand_built_frames():
    df = pl.DataFrame({"a": [1, 1, 2, 3], "b": ["x", "x", "y", "y"]})
    assert pv.unique_share(df, ["a", "b"]) == 0.5   # (2, y) and (3, y) occur once
    assert pv.unique_share(df, ["b"]) == 0.0
    assert pv.unique_share(df.with_columns(c=pl.int_range(4)), ["a", "b", "c"]) == 1.0
    assert pv.unique_share(df.head(0), ["a"]) == 0.0


def test_anonymity_histogram_counts_browsers_by_set_size():
    df = pl.DataFrame({"fp": ["solo"] + ["pair"] * 2 + ["five"] * 5 + ["twelve"] * 12})
    hist = pv.anonymity_histogram(df, ["fp"]).select("set_size", "browsers").rows()
    got = {label: n for label, n in hist if n}
    assert got == {"1 (unique)": 1, "2–4": 2, "5–9": 5, "10–49": 12}
    assert pv.anonymity_histogram(df, ["fp"])["share"].sum() == pytest.approx(1.0)


def test_uniqueness_falls_as_the_population_grows(base_traffic):
    vis = base_traffic.visitors
    curve = pv.uniqueness_curve(vis, pv.FINGERPRINT_ATTRIBUTES, [100, 1000, vis.height])
    shares = curve["unique_share"].to_list()
    assert shares[-1] == pytest.approx(pv.unique_share(vis, pv.FINGERPRINT_ATTRIBUTES))
    assert shares[0] > shares[-1]
    # A column of two values: in any subset of at least 3 rows, at most one row can be unique.
    two = pl.DataFrame({"x": [0, 1] * 50})
    assert all(s <= 1 / 3 for s in pv.uniqueness_curve(two, ["x"], [3, 10, 100])["unique_share"])


def test_population_sizes_are_log_spaced_and_end_at_n():
    sizes = pv.population_sizes(20_000)
    assert sizes[0] == 1000 and sizes[-1] == 20_000 and sizes == sorted(set(sizes))
    assert pv.population_sizes(300) == [300]


def test_visitor_rarity_one_in_n_per_attribute_and_combined():
    df = pl.DataFrame({"ua": ["a", "a", "a", "b"], "tz": ["x", "y", "y", "y"]})
    r = {row["attribute"]: row for row in pv.visitor_rarity(df, ["ua", "tz"], 1).iter_rows(named=True)}
    assert r["ua"]["value"] == "a" and r["ua"]["one_in"] == pytest.approx(4 / 3)
    assert r["tz"]["one_in"] == pytest.approx(4 / 3)
    assert r["all together (measured)"]["sharing"] == 2      # rows 1 and 2 share (a, y)
    assert r["all together (measured)"]["one_in"] == pytest.approx(2)
    assert r["all together if independent"]["bits"] == pytest.approx(2 * math.log2(4 / 3))


def test_published_entropy_comes_from_the_calibration_file():
    pub = pv.published_entropy()
    raw = datasets.calibration()["fingerprint"]["entropy_bits"]
    assert set(pub["attribute"]) == set(pv.FINGERPRINT_ATTRIBUTES)
    for row in pub.iter_rows(named=True):
        pan, ami = raw[row["attribute"]]
        assert row["panopticlick_bits"] == (None if pan < 0 else pan)
        assert row["amiunique_bits"] == (None if ami < 0 else ami)


# --- k-anonymity and masking ------------------------------------------------------------------


def test_k_anonymity_counts_distinct_persons_per_group():
    records = pl.DataFrame({
        "visitor_id": [1, 2, 3, 4, 5, 6, 6, 7],
        "country": ["DE"] * 5 + ["FR"] * 3,
        "day": [1] * 8,
    })
    k = pv.k_anonymity(records, ["country", "day"])
    assert k["k"] == 2                       # FR: visitors 6 (twice) and 7
    assert k["share_below_k"] == pytest.approx(3 / 8)
    assert k["unique_share"] == 0.0
    assert pv.k_anonymity(records, ["country", "day"], person=None)["k"] == 3


def test_k_anonymity_per_rail_against_the_truth(base_tables, base_traffic):
    k = {r["rail"]: r for r in pv.k_anonymity_by_rail(base_tables).iter_rows(named=True)}
    assert set(k) == {"truth", "baseline", "fullstack"}
    assert "ipv4" in k["truth"]["quasi_identifiers"] and k["truth"]["k"] == 1
    assert "ip_truncated" not in k["baseline"]["quasi_identifiers"]  # not stored by default
    assert k["baseline"]["share_below_k"] < k["truth"]["share_below_k"]
    assert "device_id" in k["fullstack"]["quasi_identifiers"]
    kept = build_run(small({"masking.store_truncated_ip": True}), base_traffic)
    k_ip = {r["rail"]: r for r in pv.k_anonymity_by_rail(kept).iter_rows(named=True)}
    assert "ip_truncated" in k_ip["baseline"]["quasi_identifiers"]
    assert k_ip["baseline"]["share_below_k"] > k["baseline"]["share_below_k"]
    assert k_ip["truth"] == k["truth"]


def test_masking_steps_reduce_uniqueness(base_tables):
    steps = pv.masking_steps(base_tables["visitors"], base_tables["truth_events"])
    by = {(r["ipv4_bits"], r["user_agent"]): r for r in steps.iter_rows(named=True)}
    for ua in ("full", "reduced"):
        chain = [by[(b, ua)]["unique_share"] for b in (32, 24, 16, None) if (b, ua) in by]
        assert chain == sorted(chain, reverse=True) and chain[0] > chain[-1]
    for bits in (24, 16, None):
        assert by[(bits, "reduced")]["unique_share"] <= by[(bits, "full")]["unique_share"]
        assert by[(bits, "reduced")]["groups"] <= by[(bits, "full")]["groups"]
    assert by[(32, "full")]["unique_share"] > by[(None, "reduced")]["unique_share"]


# --- linkability ------------------------------------------------------------------------------


def _truth(rows: list[tuple[int, int, str]]) -> pl.DataFrame:
    """(event_id, visitor_id, date) rows of a tiny truth table."""
    return pl.DataFrame(rows, schema={"event_id": pl.Int64, "visitor_id": pl.Int64, "date": pl.String}, orient="row").with_columns(
        pl.col("date").str.to_date())


def test_linkability_on_a_hand_built_run():
    truth = _truth([(1, 1, "2026-01-01"), (2, 1, "2026-01-02"), (3, 1, "2026-01-05"), (4, 2, "2026-01-01"), (5, 2, "2026-01-03")])
    rail = truth.select("event_id", "date").with_columns(visitor_hash=pl.Series(["a", "a", "b", "c", "c"]))
    got = pv.linkability(rail, truth)
    # Transitions: v1 1->2 (a=a, linked), v1 2->5 (a vs b, not), v2 1->3 (c=c, linked).
    assert (got["transitions"], got["linked"]) == (3, 2)
    assert got["share_followed_throughout"] == pytest.approx(1 / 2)


def test_linkability_daily_salt_below_fixed_salt(base_tables, base_traffic):
    daily = pv.linkability(base_tables["baseline_events"], base_tables["truth_events"])
    fixed_run = build_run(small({"rails.baseline_salt": "fixed"}), base_traffic)
    fixed = pv.linkability(fixed_run["baseline_events"], fixed_run["truth_events"])
    assert daily["transitions"] == fixed["transitions"] > 0
    assert daily["share_linked"] < fixed["share_linked"]
    assert fixed["share_linked"] > 0.9  # same IP and user agent, same hash every day


@pytest.mark.parametrize("salt", ["daily", "fixed"])
def test_baseline_ids_are_the_baseline_rails_identity_columns(base_traffic, salt):
    # What linkability reads of the baseline under the other salt, without building that run.
    scenario = small({"rails.baseline_salt": salt})
    whole = build_run(scenario, base_traffic)["baseline_events"].select("event_id", "date", "visitor_hash")
    ids = pipeline.baseline_ids(scenario, base_traffic)
    assert ids.equals(whole)


def test_linkability_service_matches_whole_runs_of_both_salts(base_traffic):
    from ui.services import privacy as service

    scenario = small({"traffic.visitors": 1500})
    got = service.linkability(scenario)
    truth = build_run(scenario)["truth_events"]
    for salt in ("daily", "fixed"):
        run = build_run(small({"traffic.visitors": 1500, "rails.baseline_salt": salt}))
        want = pv.linkability(run["baseline_events"], truth)
        row = got.filter(pl.col("method") == f"baseline, {salt} salt").row(0, named=True)
        assert {k: row[k] for k in want} == want
    assert got.filter(pl.col("method") == "baseline, fixed salt")["share_linked"][0] > 0.9


def test_fingerprint_links_unique_browsers_only():
    truth = _truth([(1, 1, "2026-01-01"), (2, 1, "2026-01-02"), (3, 2, "2026-01-01"), (4, 2, "2026-01-02"),
                    (5, 3, "2026-01-01"), (6, 3, "2026-01-02")])
    visitors = pl.DataFrame({"visitor_id": [1, 2, 3], "ua": ["rare", "common", "common"], "screen": ["a", "b", "b"]})
    got = pv.fingerprint_linkability(visitors, truth, ["ua", "screen"])
    assert (got["transitions"], got["linked"]) == (3, 1)  # visitors 2 and 3 look alike


def test_fingerprinting_links_what_a_daily_salt_unlinks(base_tables):
    daily = pv.linkability(base_tables["baseline_events"], base_tables["truth_events"])
    fp = pv.fingerprint_linkability(base_tables["visitors"], base_tables["truth_events"])
    assert fp["share_linked"] > daily["share_linked"]


# --- hashing is not anonymisation -------------------------------------------------------------


def test_ipv4_reversal_recovers_plain_hashes_and_nothing_keyed(base_traffic):
    ips = base_traffic.visitors["ipv4"].head(6)
    prefixes = pv.prefix16(ips).unique().to_list()
    summary, result = pv.hashing_demo(ips, KEY, lambda t: pv.reverse_ipv4(t, prefixes))
    plain = dict(zip(pv.sha256_hex(ips.to_list()), ips.to_list()))
    assert dict(result.found.iter_rows()) == plain   # every plain hash, to its own address, nothing else
    rows = {r["scheme"]: r for r in summary.iter_rows(named=True)}
    assert rows["SHA-256, no key"]["reversed"] == rows["SHA-256, no key"]["hashes"] == ips.n_unique()
    assert rows["HMAC-SHA-256 with a secret key"]["reversed"] == 0
    assert result.candidates == len(prefixes) * 65_536
    assert result.extrapolate(2**32) == pytest.approx(2**32 * result.seconds / result.candidates)


def test_ipv4_reversal_finds_nothing_outside_the_enumerated_prefixes():
    target = hashlib.sha256(b"203.0.113.7").hexdigest()
    assert pv.reverse_ipv4([target], [203 << 8 | 1]).found.height == 0
    assert pv.reverse_ipv4([target], [203 << 8 | 0]).found.rows() == [(target, "203.0.113.7")]


def test_email_dictionary_attack_and_keyed_hash():
    emails = pl.Series(["ada.lovelace7@proton.me", "alan.turing42@gmx.de", "grace.hopper1@web.de"])
    dictionary = pv.email_dictionary([("ada", "lovelace"), ("alan", "turing"), ("emmy", "noether")], ["proton.me", "gmx.de"])
    assert len(dictionary) == 3 * 100 * 2 and "alan.turing42@gmx.de" in dictionary
    summary, result = pv.hashing_demo(emails, KEY, lambda t: pv.reverse_by_dictionary(t, dictionary, chunk=97))
    assert sorted(result.found["value"]) == ["ada.lovelace7@proton.me", "alan.turing42@gmx.de"]  # grace is not listed
    rows = {r["scheme"]: r["reversed"] for r in summary.iter_rows(named=True)}
    assert rows == {"SHA-256, no key": 2, "HMAC-SHA-256 with a secret key": 0}


def test_truncated_keyed_hashes_match_only_with_the_key():
    # The rails keep 64-bit hashes: a 16-digit target matches any digest that starts with it. A
    # truncated plain SHA-256 is therefore still found; the truncated HMAC of the same input is not.
    value = "198.51.100.23"
    keyed = masking.keyed_hash(pl.Series([value]), KEY)[0]
    truncated_plain = hashlib.sha256(value.encode()).hexdigest()[:16]
    found = pv.reverse_ipv4([keyed, truncated_plain], [198 << 8 | 51]).found
    assert found.rows() == [(truncated_plain, value)]
    with pytest.raises(ValueError):
        pv.reverse_ipv4(["abc"], [])


def test_crack_timings_extrapolate_at_the_measured_rate():
    result = pv.CrackResult(pl.DataFrame(schema={"hash": pl.String, "value": pl.String}), 1, 1000, 0.5)
    t = pv.crack_timings(result, {"big": 1e6})
    assert t["seconds"].to_list() == pytest.approx([0.5, 500.0])


def test_curve_from_codes_falls_with_population_and_matches_the_frame_curve():
    rng = np.random.default_rng(3)
    codes = (rng.zipf(1.6, 200_000) % 50_000).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    curve = pv.curve_from_codes(codes, [1000, 10_000, 100_000, 200_000])
    shares = curve["unique_share"].to_list()
    assert all(a > b for a, b in itertools.pairwise(shares))
    assert shares[-1] == pytest.approx(pv.unique_share_of_codes(codes))
    df = pl.DataFrame({"x": codes[:5000]})
    assert pv.curve_from_codes(codes[:5000], [100, 5000]).equals(pv.uniqueness_curve(df, ["x"], [100, 5000]))
