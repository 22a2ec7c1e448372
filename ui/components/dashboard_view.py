"""The Dashboard page's words and number strip: the takeaway sentence, the KPI strip, what a rail cannot know."""

from __future__ import annotations

import polars as pl
import streamlit as st
from babel import Locale

from engine.dashboard import Miss, Whereabouts
from engine.scenario import Scenario
from ui.components.rail_metrics import _arrow
from ui.services.dashboard import COUNTRY_NAMES
from ui.words import has, language, num, pct, signed, t

STRIP = ("visitors", "sessions", "page_views", "bounce_rate", "conversions", "revenue")
RATES = {"bounce_rate", "conversion_rate"}


def _rail(rail: str) -> str:
    return t(f"dashboard.rail_{rail}")


_CODES = {name: code for code, name in COUNTRY_NAMES.items()}


def row_name(dim: str, row: object) -> str:
    """A row of a panel as people read it: devices and channels in words, countries in the reader's language."""
    text = str(row)
    if dim in ("device", "channel") and has(key := f"common.value.{text}"):
        return t(key)
    if dim == "country" and (code := _CODES.get(text)):
        return Locale.parse(language()).territories.get(code, text)
    return text


def rows_in_words(rows: pl.DataFrame, by: str) -> pl.DataFrame:
    """A panel's rows with their names in words (what the charts show: they draw data values as they are)."""
    names = {v: row_name(by, v) for v in rows[by].cast(pl.String).unique().drop_nulls().to_list()}
    return rows.with_columns(pl.col(by).cast(pl.String).replace(names))


def _row_words(m: Miss) -> str:
    dim = m["dimension"]
    row = row_name(dim, m["row"])
    return t(f"dashboard.row_{dim}", row=row) if dim in ("path", "channel", "device", "browser", "country") else row


def _miss_words(m: Miss) -> str:
    way = t("dashboard.undercounted" if m["error_pct"] < 0 else "dashboard.overcounted")
    return t("dashboard.miss", row=_row_words(m), way=way, error=num(abs(m["error_pct"])), counted=num(m["value"]),
             truth=num(m["truth"]))


def date_format() -> str:
    """The date picker's format in the reader's language (the catalogue's, if Streamlit accepts it)."""
    fmt = t("dashboard.date_format")
    ok = {f"{a}{s}{b}{s}{c}" for a, b, c in (("YYYY", "MM", "DD"), ("DD", "MM", "YYYY"), ("MM", "DD", "YYYY")) for s in "/-."}
    return fmt if fmt in ok else "YYYY-MM-DD"


def takeaway(misses: list[Miss], rail: str, period: str) -> str:
    """One sentence naming the rows where the rail is furthest from the truth, computed from the run."""
    if not misses:
        return t("dashboard.lead_none", period=period, rail=_rail(rail))
    body = t("dashboard.miss_join").join(_miss_words(m) for m in misses)
    lead = t("dashboard.lead", period=period, rail=_rail(rail), body=body)
    if rail == "modelled":
        lead += t("dashboard.lead_modelled")
    return lead


def cause(w: Whereabouts, rail: str, counted: float | None = None, sampling: int = 100) -> str:
    """Why a takeaway row is off, from where its true visitors went in the rail (computed from the run);
    `counted` is the rail's own count of the row, when the takeaway quotes it; `sampling`: the full
    stack's tier in %, whose dropped browsers are among the unrecorded."""
    dim = w["dimension"]
    row = row_name(dim, w["row"])
    who = t("dashboard.who_device" if dim in ("device", "browser") else "dashboard.who_other", row=row)
    parts = [t("dashboard.counted_here", n=num(w["counted_here"]), row=row)]
    if w["counted_elsewhere"]:
        parts.append(t("dashboard.counted_elsewhere", n=num(w["counted_elsewhere"]), other=row_name(dim, w["elsewhere_as"]),
                       truth=w["elsewhere_truth"]))
    if w["unseen"]:
        why = ("" if rail == "baseline" else t("dashboard.unseen_why_consent") if sampling >= 100
               else t("dashboard.unseen_why_sampled", sampling=sampling))
        parts.append(t("dashboard.unseen", n=num(w["unseen"]), why=why))
    listed = t("dashboard.list_sep").join(parts[:-1]) + (t("dashboard.list_last") if len(parts) > 1 else "") + parts[-1]
    text = t("dashboard.why", true=num(w["true_visitors"]), who=who, parts=listed)
    if counted is not None and round(counted) > w["counted_here"]:
        # Without this, an overcount read "of the 9,272 true desktop visitors, 9,272 were counted": no reason at all.
        text += t("dashboard.counted_ids", counted=num(round(counted)),
                  why=t("dashboard.extra_ids_baseline" if rail == "baseline" else "dashboard.extra_ids_fullstack"))
    if (dim == "device" and w["row"] == "tablet" and w["elsewhere_as"] == "desktop" and w["elsewhere_truth"]
            and w["elsewhere_truth"].startswith("iOS") and w["counted_elsewhere"] >= w["unseen"]):
        text += t("dashboard.ipad")
    return text


def kpi_strip(strip: pl.DataFrame, pinned: pl.DataFrame | None = None) -> None:
    """Six numbers like an analytics tool's header, each with its error vs the truth as the delta
    (an undercount in red: a loss is shown as a loss); with a pinned scenario's strip, the change
    against it as the delta (neutral) and the error vs the truth beside it."""
    rows = {r["metric"]: r for r in strip.iter_rows(named=True)}
    before = None if pinned is None else {r["metric"]: r["value"] for r in pinned.iter_rows(named=True)}
    for i, metric in enumerate(STRIP):
        if i % 3 == 0:
            cols = st.columns(3)
        r = rows[metric]
        value = pct(r["value"], 1) if metric in RATES else num(r["value"])
        label = t(f"dashboard.strip_{metric}")
        if r["source"] == "modelled":
            label = t("dashboard.strip_modelled", label=label)
        delta = None if r["error_pct"] is None else t("dashboard.strip_delta", error=signed(r["error_pct"], 1))
        if before is not None and before.get(metric) is not None and r["value"] is not None:
            change = r["value"] - before[metric]
            moved = (t("dashboard.vs_pinned_points", change=signed(change * 100, 1)) if metric in RATES
                     else t("charts.vs_pinned", change=signed(change)))
            cols[i % 3].metric(label, value, moved, delta_color="off", delta_arrow=_arrow(change),
                               delta_description=delta, border=True)
            continue
        # Off either way is an error, not a gain: a rate or a count over the truth stays neutral (an overcount
        # showed green, as if counting people twice were good news); counts below the truth go red.
        neutral = metric in RATES or (r["error_pct"] or 0.0) >= 0
        arrow = _arrow(r["error_pct"] or 0.0)
        cols[i % 3].metric(label, value, delta, delta_color="off" if neutral else "red", delta_arrow=arrow, border=True)


def rail_note(scenario: Scenario, rail: str) -> str:
    """What the chosen rail cannot know, for the rows below."""
    if rail == "baseline":
        salt = t("dashboard.salt_daily" if scenario.rails.baseline_salt == "daily" else "dashboard.salt_fixed")
        return t("dashboard.note_baseline", salt=salt)
    note = t("dashboard.note_fullstack")
    if rail == "modelled":
        note = t("dashboard.note_modelled", note=note)
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
