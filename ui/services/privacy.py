"""Cached helpers and chart builders for the Privacy leaks page.

Same pattern as ui/data.py: keyed by the scenario's canonical JSON (or its traffic key, for what
depends on the truth alone), bounded by entries and time, never hashing a big frame. The hashing
demo is deliberately not cached: it runs when asked, so its timing is measured live.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import numpy as np
import polars as pl
import streamlit as st

from engine import datasets, geoip, keys
from engine import privacy as pv
from engine.scenario import Scenario, apply_overrides
from simulators import pools
from ui.charts import theme
from ui.services import simulation as data

_CACHE: dict[str, Any] = {"max_entries": 32, "ttl": 3600, "show_spinner": False}
FP = pv.FINGERPRINT_ATTRIBUTES
LINK_COLOURS = {"baseline, daily salt": theme.COLOURS["baseline"], "baseline, fixed salt": "#81c784",
                "full stack, device id": theme.COLOURS["fullstack"], "cookieless fingerprint": "#6a1b9a"}
_DEMO_KEY_LABEL = "privacy-demo"  # the demo's keyed hashes use their own purpose key


def _s(scenario_json: str) -> Scenario:
    return Scenario.model_validate_json(scenario_json)


source_note = datasets.source_note


@st.cache_data(**_CACHE)
def _fingerprints(traffic_key: str, _scenario_json: str) -> dict[str, Any]:
    vis = data.traffic(_s(_scenario_json)).visitors
    return {
        "entropy": pv.entropy_table(vis, FP),
        "unique_share": pv.unique_share(vis, FP),
        "curve": pv.uniqueness_curve(vis, FP, pv.population_sizes(vis.height, min(1000, vis.height))),
        "histogram": pv.anonymity_histogram(vis, FP),
        "browsers": vis.height,
    }


def fingerprints(scenario: Scenario) -> dict[str, Any]:
    """Entropy per attribute (with the published values), unique share, uniqueness curve, histogram."""
    return _fingerprints(scenario.traffic_key, scenario.canonical_json())


@st.cache_data(**_CACHE)
def _visitor_options(traffic_key: str, _scenario_json: str) -> dict[int, str]:
    vis = data.traffic(_s(_scenario_json)).visitors
    pick = vis.sample(min(200, vis.height), seed=7).sort("visitor_id")
    return {r["visitor_id"]: f"#{r['visitor_id']} · {r['device']} · {r['browser']} on {r['os']} · {r['country']}"
            for r in pick.iter_rows(named=True)}


def visitor_options(scenario: Scenario) -> dict[int, str]:
    """A fixed sample of visitors to pick from: id -> short description."""
    return _visitor_options(scenario.traffic_key, scenario.canonical_json())


@st.cache_data(**_CACHE)
def _rarity(traffic_key: str, visitor_id: int, _scenario_json: str) -> tuple[pl.DataFrame, str]:
    vis = data.traffic(_s(_scenario_json)).visitors
    row = int(vis.with_row_index("row").filter(pl.col("visitor_id") == visitor_id)["row"][0])
    return pv.visitor_rarity(vis, FP, row), str(vis["country"][row])


def rarity(scenario: Scenario, visitor_id: int) -> tuple[pl.DataFrame, str]:
    """'One in N' per attribute and combined for one visitor, and the visitor's country."""
    return _rarity(scenario.traffic_key, visitor_id, scenario.canonical_json())


@st.cache_data(**_CACHE)
def _quasi(scenario_json: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    s = _s(scenario_json)
    tables = data.run(s)
    return pv.k_anonymity_by_rail(tables), pv.masking_steps(tables["visitors"], tables["truth_events"])


def quasi_identifiers(scenario: Scenario) -> tuple[pl.DataFrame, pl.DataFrame]:
    """k-anonymity per rail, and what each masking step buys."""
    return _quasi(scenario.canonical_json())


@st.cache_data(**_CACHE)
def _linkability(scenario_json: str) -> pl.DataFrame:
    s = _s(scenario_json)
    tables = data.run(s)
    truth = tables["truth_events"]
    rows = []
    for salt in ("daily", "fixed"):
        run = data.run(apply_overrides(s, {"rails.baseline_salt": salt}))
        rows.append({"method": f"baseline, {salt} salt", **pv.linkability(run["baseline_events"], truth)})
    rows.append({"method": "full stack, device id", **pv.linkability(tables["fullstack_events"], truth, "device_id")})
    rows.append({"method": "cookieless fingerprint", **pv.fingerprint_linkability(tables["visitors"], truth)})
    return pl.DataFrame(rows)


def linkability(scenario: Scenario) -> pl.DataFrame:
    """Who could follow returning visitors from one active day to the next, and how often."""
    return _linkability(scenario.canonical_json())


def crack_ipv4(scenario: Scenario, country: str) -> tuple[pl.DataFrame, pv.CrackResult, pl.DataFrame]:
    """Live: hash every IPv4 address of the country's visitors, then enumerate the country's /16s."""
    vis = data.traffic(scenario).visitors
    ips = vis.filter(pl.col("country") == country)["ipv4"]
    table = geoip.table()
    prefixes = table.ipv4_prefix16[list(table.codes).index(country)]
    summary, result = pv.hashing_demo(ips, keys.derive(_DEMO_KEY_LABEL), lambda t: pv.reverse_ipv4(t, prefixes))
    timings = pv.crack_timings(result, {
        f"one /16 ({1 << 16:,} addresses)": 1 << 16,
        f"all GeoIP /16s of every country ({table.ipv4_prefix16.size:,})": table.ipv4_prefix16.size * (1 << 16),
        "the whole IPv4 space (2^32)": 2.0**32,
    })
    return summary, result, timings


def crack_email(scenario: Scenario, known: int = 50, names_on_list: int = 1000) -> tuple[pl.DataFrame, pv.CrackResult, pl.DataFrame]:
    """Live: hash the run's e-mails; the attacker holds a list of names (`known` of them customers
    here) and the usual pattern first.last<nn>@domain, and tries every address it yields."""
    emails = data.traffic(scenario).visitors["email"].drop_nulls()
    parts = emails.str.extract_groups(r"^([a-z]+)\.([a-z]+?)\d*@").struct.unnest().drop_nulls().unique(maintain_order=True)
    customers = list(parts.head(known).iter_rows())
    names = pools.name_pools()
    rng = np.random.default_rng(scenario.seed)
    decoys = zip(names.first[rng.integers(0, len(names.first), names_on_list)].tolist(),
                 names.last[rng.integers(0, len(names.last), names_on_list)].tolist())
    listed = list(dict.fromkeys([*customers, *decoys]))[:names_on_list]
    candidates = pv.email_dictionary(listed, pools.EMAIL_DOMAINS.tolist())
    summary, result = pv.hashing_demo(emails, keys.derive(_DEMO_KEY_LABEL), lambda t: pv.reverse_by_dictionary(t, candidates))
    space = len(names.first) * len(names.last) * 100 * len(pools.EMAIL_DOMAINS)
    timings = pv.crack_timings(result, {f"every pool name pair ({space:,} addresses)": space})
    return summary, result, timings


# --- charts -----------------------------------------------------------------------------------


def entropy_chart(entropy: pl.DataFrame) -> alt.Chart:
    long = entropy.select("attribute", simulated="bits", Panopticlick="panopticlick_bits", AmIUnique="amiunique_bits").unpivot(
        index="attribute", variable_name="source", value_name="bits").drop_nulls("bits")
    order = ["simulated", "Panopticlick", "AmIUnique"]
    return alt.Chart(long).mark_bar().encode(
        y=alt.Y("attribute:N", sort=entropy["attribute"].to_list(), title=None),
        x=alt.X("bits:Q", title="entropy (bits)"),
        yOffset=alt.YOffset("source:N", sort=order),
        color=alt.Color("source:N", scale=alt.Scale(domain=order, range=[theme.COLOURS["truth"], "#9e9e9e", "#ce93d8"]), title=None),
        tooltip=["attribute", "source", alt.Tooltip("bits:Q", format=".2f")],
    ).properties(height=alt.Step(9))


def curve_chart(curve: pl.DataFrame, published: pl.DataFrame) -> alt.LayerChart:
    line = alt.Chart(curve).mark_line(point=True, color=theme.COLOURS["truth"]).encode(
        x=alt.X("population:Q", scale=alt.Scale(type="log"), title="browsers in the population (log scale)"),
        y=alt.Y("unique_share:Q", axis=alt.Axis(format="%"), title="unique fingerprints", scale=alt.Scale(zero=False)),
        tooltip=[alt.Tooltip("population:Q", format=","), alt.Tooltip("unique_share:Q", format=".1%")],
    )
    dots = alt.Chart(published).mark_point(shape="diamond", size=120, filled=True, color="#ce93d8").encode(
        x="population:Q", y="unique_share:Q",
        tooltip=["study", alt.Tooltip("population:Q", format=","), alt.Tooltip("unique_share:Q", format=".1%")])
    return line + dots


def histogram_chart(hist: pl.DataFrame) -> alt.Chart:
    return alt.Chart(hist).mark_bar(color=theme.COLOURS["truth"]).encode(
        x=alt.X("set_size:N", sort=alt.SortField("order"), title="browsers sharing the same fingerprint", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("share:Q", axis=alt.Axis(format="%"), title="share of browsers"),
        tooltip=["set_size", "browsers", alt.Tooltip("share:Q", format=".1%")],
    )


def rarity_chart(rarity: pl.DataFrame) -> alt.Chart:
    return alt.Chart(rarity.drop_nulls("value")).mark_bar(color=theme.COLOURS["truth"]).encode(
        y=alt.Y("attribute:N", sort="-x", title=None),
        x=alt.X("bits:Q", title="bits of surprise (log2 of 'one in N')"),
        tooltip=["attribute", "value", alt.Tooltip("one_in:Q", format=",.1f")],
    )


def k_chart(k_table: pl.DataFrame) -> alt.Chart:
    rails = tuple(k_table["rail"])
    return alt.Chart(k_table).mark_bar().encode(
        x=alt.X("rail:N", sort=list(rails), title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("share_below_k:Q", axis=alt.Axis(format="%"), title=f"records in groups of < {pv.K_THRESHOLD} visitors"),
        color=theme.rail_color(rails=rails),
        tooltip=["rail", "quasi_identifiers", "k", alt.Tooltip("share_below_k:Q", format=".1%")],
    )


def steps_chart(steps: pl.DataFrame) -> alt.Chart:
    return alt.Chart(steps.with_columns(order=pl.int_range(pl.len()))).mark_bar(color=theme.COLOURS["baseline"]).encode(
        y=alt.Y("step:N", sort=alt.SortField("order"), title=None, axis=alt.Axis(labelLimit=260)),
        x=alt.X("share_below_k:Q", axis=alt.Axis(format="%"), title=f"visitor-days in groups of < {pv.K_THRESHOLD} visitors"),
        tooltip=["step", "groups", alt.Tooltip("share_below_k:Q", format=".1%"), alt.Tooltip("unique_share:Q", format=".1%")],
    )


def link_chart(link: pl.DataFrame) -> alt.LayerChart:
    methods = link["method"].to_list()
    base = alt.Chart(link).encode(
        y=alt.Y("method:N", sort=methods, title=None, axis=alt.Axis(labelLimit=260)),
        x=alt.X("share_linked:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1]), title="day-to-next-day visits linked"),
        tooltip=["method", "transitions", "linked", alt.Tooltip("share_linked:Q", format=".1%")],
    )
    bars = base.mark_bar().encode(
        color=alt.Color("method:N", scale=alt.Scale(domain=methods, range=[LINK_COLOURS[m] for m in methods]), legend=None))
    return bars + base.mark_text(align="left", dx=4).encode(text=alt.Text("share_linked:Q", format=".0%"))
