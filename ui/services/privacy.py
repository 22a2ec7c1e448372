"""Cached data for the Privacy leaks page.

What depends on the truth alone (fingerprints, the visitor picker, one visitor's rarity) is keyed
by the traffic key, so a consent or masking knob does not recompute it. So is the hashing demo
(about 4 s of CPU): it runs once per traffic and country, in the server's heavy queue, and shows the
timings measured that time.
"""

from __future__ import annotations

from typing import Any, get_args

import numpy as np
import polars as pl

from engine import geoip, keys, pipeline, privacy
from engine.scenario import FingerprintPopulation, Scenario, apply_overrides
from simulators import pools, traffic
from ui.cache import cached
from ui.services import simulation

ENTRIES = 32
FP = privacy.FINGERPRINT_ATTRIBUTES
_DEMO_KEY_LABEL = "privacy-demo"  # the demo's keyed hashes use their own purpose key


@cached("data", max_entries=ENTRIES, key=lambda s: s.traffic_key)
def fingerprints(scenario: Scenario) -> dict[str, Any]:
    """Entropy per attribute (with the published values), unique share, histogram."""
    vis = simulation.traffic(scenario).visitors
    return {
        "entropy": privacy.entropy_table(vis, FP),
        "unique_share": privacy.unique_share(vis, FP),
        "histogram": privacy.anonymity_histogram(vis, FP),
        "browsers": vis.height,
    }


POPULATIONS: tuple[str, ...] = get_args(FingerprintPopulation)
CURVE_BROWSERS = (200_000, 2_000_000)  # the page's first curve, and the one a click extends it to


def _both_key(scenario: Scenario) -> str:
    # Only what the fingerprints are drawn from (a lesson's knobs, even the ad-blocker shares, leave
    # it alone), and one entry for both populations: switching the option does not recompute them.
    return traffic.fingerprint_key(apply_overrides(scenario, {"traffic.fingerprint_population": POPULATIONS[0]}))


@cached("data", max_entries=8, key=_both_key, spinner="spinner.populations", heavy=True)
def population_curves(scenario: Scenario, browsers: int) -> pl.DataFrame:
    """Unique share by population size, 1,000 up to `browsers`, for both fingerprint populations,
    overall and per device class: nested subsamples of one generated population each (seeded).
    Only the fingerprint columns and the device class are generated: about 2.5 s per million browsers
    and population here."""
    rows = []
    for name in POPULATIONS:
        codes, device = traffic.fingerprint_sample(apply_overrides(scenario, {"traffic.fingerprint_population": name}), browsers, FP)
        for group, keep in (("all browsers", None), ("desktop", device == "desktop"), ("mobile", device == "mobile")):
            sub = codes if keep is None else codes[keep]
            curve = privacy.curve_from_codes(sub, privacy.population_sizes(len(sub), min(1000, len(sub)), 3), seed=scenario.seed)
            rows.append(curve.with_columns(population_kind=pl.lit(name), group=pl.lit(group)))
    return pl.concat(rows)


@cached("data", max_entries=ENTRIES, key=lambda s: s.traffic_key)
def visitor_options(scenario: Scenario) -> dict[int, dict[str, str]]:
    """A fixed sample of visitors to pick from: id -> their device, browser, system and country (the page words them)."""
    vis = simulation.traffic(scenario).visitors
    pick = vis.sample(min(200, vis.height), seed=7).sort("visitor_id")
    return {r["visitor_id"]: {k: r[k] for k in ("device", "browser", "os", "country")} for r in pick.iter_rows(named=True)}


@cached("data", max_entries=ENTRIES, key=lambda s: s.traffic_key)
def rarity(scenario: Scenario, visitor_id: int) -> tuple[pl.DataFrame, str]:
    """'One in N' per attribute and combined for one visitor, and the visitor's country."""
    vis = simulation.traffic(scenario).visitors
    row = int(vis.with_row_index("row").filter(pl.col("visitor_id") == visitor_id)["row"][0])
    return privacy.visitor_rarity(vis, FP, row), str(vis["country"][row])


@cached("data", max_entries=ENTRIES)
def quasi_identifiers(scenario: Scenario) -> tuple[pl.DataFrame, pl.DataFrame]:
    """k-anonymity per rail, and what each masking step buys."""
    tables = simulation.run(scenario)
    return privacy.k_anonymity_by_rail(tables), privacy.masking_steps(tables["visitors"], tables["truth_events"])


@cached("data", max_entries=ENTRIES)
def linkability(scenario: Scenario) -> pl.DataFrame:
    """Who could follow returning visitors from one active day to the next, and how often."""
    tables = simulation.run(scenario)
    truth = tables["truth_events"]
    tr = privacy.transitions(truth)
    rows = []
    for salt in ("daily", "fixed"):
        if salt == scenario.rails.baseline_salt:
            ids = tables["baseline_events"]
        else:  # the other salt changes only the baseline's visitor hash: that column alone, not a whole run
            other = apply_overrides(scenario, {"rails.baseline_salt": salt})
            ids = pipeline.baseline_ids(other, simulation.traffic(other))
        rows.append({"method": f"baseline, {salt} salt", **privacy.linkability(ids, truth, tr=tr)})
    rows.append({"method": "full stack, device id", **privacy.linkability(tables["fullstack_events"], truth, "device_id", tr=tr)})
    rows.append({"method": "cookieless fingerprint", **privacy.fingerprint_linkability(tables["visitors"], truth, tr=tr)})
    return pl.DataFrame(rows)


@cached("data", max_entries=ENTRIES, key=lambda s: s.traffic_key, spinner="spinner.ipv4", heavy=True)
def crack_ipv4(scenario: Scenario, country: str) -> tuple[pl.DataFrame, privacy.CrackResult, pl.DataFrame]:
    """Hash every IPv4 address of the country's visitors, then enumerate the country's /16s."""
    vis = simulation.traffic(scenario).visitors
    ips = vis.filter(pl.col("country") == country)["ipv4"]
    table = geoip.table()
    prefixes = table.ipv4_prefix16[list(table.codes).index(country)]
    summary, result = privacy.hashing_demo(ips, keys.derive(_DEMO_KEY_LABEL), lambda t: privacy.reverse_ipv4(t, prefixes))
    # Spaces by code (the page words them, with their sizes from `candidates`).
    timings = privacy.crack_timings(result, {"one_16": 1 << 16, "all_16": table.ipv4_prefix16.size * (1 << 16), "ipv4": 2.0**32})
    return summary, result, timings


@cached("data", max_entries=ENTRIES, key=lambda s: s.traffic_key, spinner="spinner.emails", heavy=True)
def crack_email(scenario: Scenario, known: int = 50, names_on_list: int = 1000) -> tuple[pl.DataFrame, privacy.CrackResult, pl.DataFrame]:
    """Hash the run's e-mails; the attacker holds a list of names (`known` of them customers
    here) and the usual pattern first.last<nn>@domain, and tries every address it yields."""
    emails = simulation.traffic(scenario).visitors["email"].drop_nulls()
    parts = emails.str.extract_groups(r"^([a-z]+)\.([a-z]+?)\d*@").struct.unnest().drop_nulls().unique(maintain_order=True)
    customers = list(parts.head(known).iter_rows())
    names = pools.name_pools()
    rng = np.random.default_rng(scenario.seed)
    decoys = zip(names.first[rng.integers(0, len(names.first), names_on_list)].tolist(),
                 names.last[rng.integers(0, len(names.last), names_on_list)].tolist())
    listed = list(dict.fromkeys([*customers, *decoys]))[:names_on_list]
    candidates = privacy.email_dictionary(listed, pools.EMAIL_DOMAINS.tolist())
    summary, result = privacy.hashing_demo(emails, keys.derive(_DEMO_KEY_LABEL), lambda t: privacy.reverse_by_dictionary(t, candidates))
    space = len(names.first) * len(names.last) * 100 * len(pools.EMAIL_DOMAINS)
    timings = privacy.crack_timings(result, {"email": space})
    return summary, result, timings


@cached("data", max_entries=ENTRIES, key=lambda s: s.traffic_key)
def crack_targets(scenario: Scenario, country: str) -> tuple[int, int]:
    """What the hashing demo attacks: distinct IPv4 addresses of the country's visitors, distinct e-mail addresses."""
    vis = simulation.traffic(scenario).visitors
    return int(vis.filter(pl.col("country") == country)["ipv4"].n_unique()), int(vis["email"].drop_nulls().n_unique())
