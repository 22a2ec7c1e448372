"""The Consent impact page's takeaway sentences, one per section, computed from its tables."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import polars as pl

from ui import knob_words
from ui.words import has, num, pct, signed, t


def banner_label(banner: str) -> str:
    """A banner design's name, as the sidebar's control names it."""
    return knob_words.option(banner)


def value_name(value: str) -> str:
    """A trait's value for people (regions, devices, privacy attitudes)."""
    return t(key) if has(key := f"common.value.{value}") else value


def in_words(rates: pl.DataFrame, by: str) -> pl.DataFrame:
    """Rates by a trait with the trait's values named for people (what the charts show)."""
    return rates.with_columns(pl.col(by).replace_strict({v: value_name(v) for v in rates[by].unique().to_list()}, return_dtype=pl.String))


def plain(x: float) -> str:
    """A published figure as written ("2", "2.5"), in the reader's number format."""
    return num(x) if float(x).is_integer() else num(x, 1)


def banners_takeaway(rates: pl.DataFrame, banner: str) -> str:
    """Which share of the same visitors allows analytics under the current design, and under the best one."""
    granted = dict(zip(rates["banner"], rates["analytics_granted"], strict=True))
    best = max(granted, key=granted.__getitem__)
    if best == banner:
        return t("consent_impact.banners_takeaway_best", banner=banner_label(banner), share=pct(granted[banner]))
    return t("consent_impact.banners_takeaway", banner=banner_label(banner), share=pct(granted[banner]),
             best=banner_label(best), best_share=pct(granted[best]))


def trait_takeaway(rates: pl.DataFrame, by: str) -> str:
    """The values of one trait that allow analytics most and least often."""
    ranked = rates.filter(pl.col("visitors") > 0).sort("analytics_granted", descending=True)
    if ranked.height < 2:
        return t("consent_impact.trait_one")
    hi, lo = ranked.row(0, named=True), ranked.row(-1, named=True)
    return t("consent_impact.trait_takeaway", high=value_name(hi[by]), high_share=pct(hi["analytics_granted"]), low=value_name(lo[by]),
             low_share=pct(lo["analytics_granted"]))


def rails_takeaway(kpi: pl.DataFrame, pinned_kpi: pl.DataFrame | None) -> str:
    """How much of the truth's visitors and conversions the full stack keeps (and the change against a pin)."""
    row = {r["metric"]: r for r in kpi.iter_rows(named=True)}
    v, c = row["visitors"], row["conversions"]
    text = t("consent_impact.rails_takeaway", visitors=pct(v["fullstack"] / v["truth"]) if v["truth"] else pct(0),
             conversions=pct(c["fullstack"] / c["truth"]) if c["truth"] else pct(0))
    if pinned_kpi is not None:
        before = {r["metric"]: r for r in pinned_kpi.iter_rows(named=True)}
        text += " " + t("consent_impact.rails_pinned", visitors=signed(v["fullstack"] - before["visitors"]["fullstack"]),
                        conversions=signed(c["fullstack"] - before["conversions"]["fullstack"]))
    return text


def compare_takeaway(cmp: pl.DataFrame, banner_a: str, banner_b: str) -> str:
    """What design B gives the full stack compared with design A, on the same visitors."""
    row = {r["metric"]: r for r in cmp.iter_rows(named=True)}
    if banner_a == banner_b:
        return t("consent_impact.compare_same")
    return t("consent_impact.compare_takeaway", a=banner_label(banner_a), b=banner_label(banner_b),
             visitors=signed(row["visitors"]["b"] - row["visitors"]["a"]),
             conversions=signed(row["conversions"]["b"] - row["conversions"]["a"]))


def modes_takeaway(modes: pl.DataFrame) -> str:
    """How far each Consent Mode's modelled conversions land from the truth."""
    row = {r["mode"]: r for r in modes.iter_rows(named=True)}
    if not row["advanced"]["truth_conversions"]:
        return t("consent_impact.modes_empty")
    share = {m: r["modelled_conversions"] / r["truth_conversions"] for m, r in row.items()}
    return t("consent_impact.modes_takeaway", observed=pct(row["advanced"]["observed_conversions"] / row["advanced"]["truth_conversions"]),
             advanced=pct(share["advanced"]), basic=pct(share["basic"]), pings=num(row["advanced"]["pings"]))


def bias_takeaway(ratios: Mapping[str, float | None], published: Mapping[str, Any]) -> str:
    """How much more often consenting visitors convert, against the published range."""
    if not ratios["vs_not_consenting"]:
        return t("consent_impact.bias_empty")
    return t("consent_impact.bias_takeaway", ratio=num(ratios["vs_not_consenting"], 2), low=plain(published["low"]),
             high=plain(published["high"]))


def ga4_takeaway(verdict: Mapping[str, Any], thresholds: Mapping[str, Any]) -> str:
    """Whether the run meets GA4's modelling thresholds, with the counts, and from what traffic it would."""
    d_days, g_days = thresholds["denied_days"], thresholds["granted_days_of_last_28"]
    text = t("consent_impact.ga4_met" if verdict["met"] else "consent_impact.ga4_not_met",
             denied_days=num(verdict["denied_days"]), denied_min=num(thresholds["denied_events_per_day"]), denied_needed=num(d_days),
             granted_days=num(verdict["granted_days"]), granted_min=num(thresholds["granted_users_per_day"]), granted_needed=num(g_days))
    per_day, needed = verdict["visitors_per_day"], verdict["visitors_per_day_needed"]
    if needed is None:
        return text + " " + t("consent_impact.ga4_never_denied" if verdict["missing"] == "denied" else "consent_impact.ga4_never_granted")
    size = t("consent_impact.ga4_size", about=num(math.ceil(needed / 100) * 100), per_day=num(per_day))
    if verdict["met"] and needed > 0.9 * per_day:
        size = t("consent_impact.ga4_narrow") + " " + size
    if not verdict["long_enough"]:
        size = t("consent_impact.ga4_size_days", size=size, days=num(max(d_days, g_days)))
    return text + " " + t("consent_impact.ga4_sentence", text=size)
