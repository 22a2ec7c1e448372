"""The Dashboard page's words and number strip: the takeaway sentence, the KPI strip, what a rail cannot know."""

from __future__ import annotations

import polars as pl
import streamlit as st

from engine.dashboard import Miss, Whereabouts
from engine.scenario import Scenario

RAIL_NAMES = {"baseline": "the privacy baseline", "fullstack": "the full stack", "modelled": "the modelled estimate"}
STRIP = (("visitors", "Visitors"), ("sessions", "Sessions"), ("page_views", "Page views"),
         ("bounce_rate", "Bounce rate"), ("conversions", "Conversions"), ("revenue", "Revenue"))
RATES = {"bounce_rate", "conversion_rate"}


def _row_words(m: Miss) -> str:
    row = m["row"]
    return {
        "path": f"page views of {row}",
        "channel": f"visitors from {row}",
        "device": f"{row} visitors",
        "browser": f"{row} visitors",
        "country": f"visitors from {row}",
    }.get(m["dimension"], f"{row}")


def _miss_words(m: Miss) -> str:
    way = "undercounted" if m["error_pct"] < 0 else "overcounted"
    return f"**{_row_words(m)}** are {way} by {abs(m['error_pct']):.0f}% ({m['value']:,.0f} counted, {m['truth']:,.0f} true)"


def takeaway(misses: list[Miss], rail: str, period: str) -> str:
    """One sentence naming the rows where the rail is furthest from the truth, computed from the run."""
    if not misses:
        return f"From {period}, no row is large enough to judge how wrong {RAIL_NAMES[rail]} is."
    body = " and ".join(_miss_words(m) for m in misses)
    lead = f"From {period}, {RAIL_NAMES[rail]} is most wrong here: {body}."
    if rail == "modelled":
        lead += " The model corrects only conversions; these rows are the full stack's."
    return lead


# Why a rail counts one person more than once under a row (its visitors are ids, not people).
EXTRA_IDS = {
    "baseline": "the baseline's hash is of IP and user agent (salted daily by default), so a visitor on another day or "
                "another network counts again",
    "fullstack": "a new cookie (the old one cleared, or capped by Safari at 7 days) or a second device counts the "
                 "same person again",
}


def cause(w: Whereabouts, rail: str, counted: float | None = None, sampling: int = 100) -> str:
    """Why a takeaway row is off, from where its true visitors went in the rail (computed from the run);
    `counted` is the rail's own count of the row, when the takeaway quotes it; `sampling`: the full
    stack's tier in %, whose dropped browsers are among the unrecorded."""
    row, dim = w["row"], w["dimension"]
    who = f"{row} visitors" if dim in ("device", "browser") else f"visitors from {row}"
    parts = [f"{w['counted_here']:,} were counted as {row}"]
    if w["counted_elsewhere"]:
        parts.append(f"{w['counted_elsewhere']:,} were recorded but counted as {w['elsewhere_as']} "
                     f"(most of them {w['elsewhere_truth']})")
    if w["unseen"]:
        why = ("" if rail == "baseline" else " (no analytics consent, or a blocker)" if sampling >= 100
               else f" (no analytics consent, a blocker, or a browser outside the full stack's {sampling}% sample)")
        parts.append(f"{w['unseen']:,} were not recorded at all{why}")
    text = f"Why: of the {w['true_visitors']:,} true {who}, " + ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1] + "."
    if counted is not None and round(counted) > w["counted_here"]:
        # Without this, an overcount read "of the 9,272 true desktop visitors, 9,272 were counted": no reason at all.
        text += (f" It counted {round(counted):,}: it counts ids, not people, and "
                 f"{EXTRA_IDS['baseline' if rail == 'baseline' else 'fullstack']}.")
    if (dim == "device" and row == "tablet" and w["elsewhere_as"] == "desktop" and w["elsewhere_truth"]
            and w["elsewhere_truth"].startswith("iOS") and w["counted_elsewhere"] >= w["unseen"]):
        text += (" iPads send the same user agent as a Mac (iPadOS asks for desktop sites by default), so a tool that reads "
                 "the user agent files them under desktop. That is how real iPads behave, not a simulator error.")
    return text


def kpi_strip(strip: pl.DataFrame) -> None:
    """Six numbers like an analytics tool's header, each with its error vs the truth as the delta
    (an undercount in red: a loss is shown as a loss)."""
    rows = {r["metric"]: r for r in strip.iter_rows(named=True)}
    for i, (metric, label) in enumerate(STRIP):
        if i % 3 == 0:
            cols = st.columns(3)
        r = rows[metric]
        value = f"{r['value']:.1%}" if metric in RATES else f"{r['value']:,.0f}"
        if r["source"] == "modelled":
            label += " (modelled)"
        delta = None if r["error_pct"] is None else f"{r['error_pct']:+.1f}% vs truth"
        # Off either way is an error, not a gain: a rate or a count over the truth stays neutral (an overcount
        # showed green, as if counting people twice were good news); counts below the truth go red.
        neutral = metric in RATES or (r["error_pct"] or 0.0) >= 0
        cols[i % 3].metric(label, value, delta, delta_color="off" if neutral else "normal", border=True)


def rail_note(scenario: Scenario, rail: str) -> str:
    """What the chosen rail cannot know, for the rows below."""
    if rail == "baseline":
        salt = ("its hash salt rotates daily, so a visitor returning on another day counts again"
                if scenario.rails.baseline_salt == "daily" else "its hash salt is fixed, so a returning visitor is recognised across days")
        return (f"The privacy baseline sees every visitor but has no cookie: {salt}; sessions are rebuilt from "
                "30 idle minutes. Device, browser and country come from the user agent and the IP, so it knows them.")
    note = ("The full stack sees only visitors who consented and were not blocked; Safari caps its cookie at 7 days, "
            "so a returning Safari visitor can get a new id and count twice.")
    if rail == "modelled":
        note = ("The modelled estimate exists only for total conversions (the full stack's conversions scaled by the "
                "baseline's page views per region and device); every other number and row here is the full stack's. ") + note
    return note


def dimension_gaps(rows: dict[str, pl.DataFrame], rail: str, labels: dict[str, str]) -> list[str]:
    """Dimensions where the rail records nothing but 'unknown': it cannot know them."""
    r = "fullstack" if rail == "modelled" else rail
    gaps = []
    for dim, frame in rows.items():
        seen = frame.filter(pl.col(r).fill_null(0) > 0)[dim].cast(pl.String)
        if seen.len() and seen.is_in(["unknown"]).all():
            gaps.append(labels[dim])
    return gaps
