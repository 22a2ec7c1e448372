"""Charts of the Consent impact page: choices per banner and trait, the rails' KPIs per banner and
Consent Mode, GA4's modelling thresholds, and the consent bias."""

from __future__ import annotations

from typing import Any

import altair as alt
import polars as pl

from engine import consent_impact
from ui.charts import theme

CHOICE_COLOURS = {"accept_all": "#2e7d32", "custom": "#9ccc65", "reject_all": "#c62828", "gpc": "#6a1b9a",
                  "ignored": "#9e9e9e", "no_banner": "#5d4037"}
MODE_RAILS = ("truth", "fullstack", "modelled")


def stacked_shares(rates: pl.DataFrame, by: str, title: str) -> alt.Chart:
    """Horizontal stacked bars of consent-choice shares per value of `by`."""
    long = consent_impact.shares_long(rates, by)
    choices = [c for c in consent_impact.CHOICE_ORDER if c in set(long["choice"])]
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y(f"{by}:N", title=title),
            x=alt.X("share:Q", title="share of visitors", axis=alt.Axis(format="%"), stack="normalize"),
            color=alt.Color("choice:N", scale=alt.Scale(domain=choices, range=[CHOICE_COLOURS[c] for c in choices]), title="Choice"),
            order=alt.Order("order:Q"),
            tooltip=[by, "choice", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(height=40 * long[by].n_unique() + 40)
    )


def accept_vs_published(rates: pl.DataFrame) -> alt.Chart:
    """Share accepting all among deciders per banner: simulated next to published."""
    accept = rates.filter(pl.col("published_accept_rate").is_not_null()).unpivot(
        index="banner", on=["accept_rate_deciders", "published_accept_rate"], variable_name="figure", value_name="rate"
    ).with_columns(pl.col("figure").replace({"accept_rate_deciders": "simulated", "published_accept_rate": "published"}))
    return alt.Chart(accept).mark_bar().encode(
        x=alt.X("banner:N", title="banner design", axis=alt.Axis(labelAngle=0)), xOffset="figure:N", y=alt.Y("rate:Q", title="accept all, among deciders", axis=alt.Axis(format="%")),
        color=alt.Color("figure:N", scale=alt.Scale(domain=["simulated", "published"], range=[theme.COLOURS["fullstack"], "#90a4ae"]), title=None),
        tooltip=["banner", "figure", alt.Tooltip("rate:Q", format=".1%")],
    ).properties(height=240)


def banner_comparison(cmp: pl.DataFrame, banner_a: str, banner_b: str) -> alt.Chart:
    """Per compared KPI: the truth, then banner A's and banner B's full stack."""
    bars = cmp.unpivot(index="metric", on=["truth", "a", "b"], variable_name="series", value_name="value").with_columns(
        pl.col("series").replace({"a": f"A: {banner_a}", "b": f"B: {banner_b}"})
    )
    series = ["truth", f"A: {banner_a}", f"B: {banner_b}"]
    return alt.Chart(bars).mark_bar().encode(
        x=alt.X("series:N", sort=series, title=None, axis=alt.Axis(labels=False, ticks=False)), y=alt.Y("value:Q", title=None),
        color=alt.Color("series:N", scale=alt.Scale(domain=series, range=[theme.COLOURS["truth"], theme.COLOURS["fullstack"], "#64b5f6"]), title=None),
        column=alt.Column("metric:N", sort=list(consent_impact.COMPARED_METRICS), title=None),
        tooltip=["metric", "series", alt.Tooltip("value:Q", format=",.0f")],
    ).resolve_scale(y="independent").properties(width=130, height=200)


def mode_conversions(modes: pl.DataFrame) -> alt.Chart:
    """Conversions per Consent Mode: truth, observed by the full stack, modelled."""
    conv = modes.unpivot(index="mode", on=["truth_conversions", "observed_conversions", "modelled_conversions"], variable_name="rail", value_name="conversions").with_columns(
        pl.col("rail").replace({"truth_conversions": "truth", "observed_conversions": "fullstack", "modelled_conversions": "modelled"})
    )
    return alt.Chart(conv).mark_bar().encode(
        x=alt.X("mode:N", title="Consent Mode"), xOffset=alt.XOffset("rail:N", sort=list(MODE_RAILS)),
        y=alt.Y("conversions:Q"), color=theme.rail_color(rails=MODE_RAILS),
        tooltip=["mode", "rail", alt.Tooltip("conversions:Q", format=",.0f")],
    ).properties(height=240)


def ga4_days(daily: pl.DataFrame, thresholds: dict[str, Any]) -> alt.LayerChart:
    """Per day: denied events and granted users, against GA4's thresholds (dashed rules)."""
    need = pl.DataFrame({"measure": ["denied_events", "granted_users"], "threshold": [thresholds["denied_events_per_day"], thresholds["granted_users_per_day"]]})
    per_day = daily.unpivot(index="date", variable_name="measure", value_name="count")
    base = alt.Chart(per_day).encode(x=alt.X("date:T", title=None), y=alt.Y("count:Q", title="per day"), color=alt.Color("measure:N", title=None))
    return (base.mark_line(point=True).encode(tooltip=["date:T", "measure", "count"])
            + alt.Chart(need).mark_rule(strokeDash=[4, 4]).encode(y="threshold:Q", color="measure:N"))


def consent_bias(bias: pl.DataFrame) -> alt.LayerChart:
    """Share of visitors converting per consent group; the rule is everyone."""
    everyone = bias.filter(pl.col("group") == "everyone")["conversion_rate"].item()
    return alt.Chart(bias).mark_bar(color=theme.COLOURS["fullstack"]).encode(
        y=alt.Y("group:N", sort=None, title=None), x=alt.X("conversion_rate:Q", title="visitors converting", axis=alt.Axis(format="%")),
        tooltip=["group", "visitors", "converters", alt.Tooltip("conversion_rate:Q", format=".2%")],
    ) + alt.Chart(pl.DataFrame({"everyone": [everyone]})).mark_rule(color=theme.COLOURS["truth"]).encode(x="everyone:Q")
