"""Charts of the Consent impact page: choices per banner and trait, the rails' KPIs per banner and
Consent Mode, GA4's modelling thresholds, and the consent bias."""

from __future__ import annotations

from typing import Any

import altair as alt
import polars as pl

from engine import consent_impact
from ui.charts import theme
from ui.words import t


def _banner_names(frame: pl.DataFrame) -> pl.DataFrame:
    """Banner designs by their names for people, not their codes."""
    return frame.with_columns(pl.col("banner").replace_strict({b: t(f"consent_impact.banner_{b}") for b in consent_impact.BANNERS}))

CHOICE_COLOURS = {"accept_all": "#2e7d32", "custom": "#9ccc65", "reject_all": "#c62828", "gpc": "#6a1b9a",
                  "ignored": "#9e9e9e", "no_banner": "#5d4037"}
MODE_RAILS = ("truth", "fullstack", "modelled")


@theme.drawn
def stacked_shares(rates: pl.DataFrame, by: str, title: str) -> alt.Chart:
    """Horizontal stacked bars of consent-choice shares per value of `by`."""
    long = consent_impact.shares_long(_banner_names(rates) if by == "banner" else rates, by)
    choices = [c for c in consent_impact.CHOICE_ORDER if c in set(long["choice"])]
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            # No axis title: the section's heading and takeaway say what the rows are; a phone keeps the width.
            y=alt.Y(f"{by}:N", title=None),
            x=alt.X("share:Q", title=t("consent_impact.shares_axis"), axis=alt.Axis(format="%"), stack="normalize"),
            color=alt.Color("choice:N", scale=alt.Scale(domain=choices, range=[CHOICE_COLOURS[c] for c in choices]), title=None,
                            # One column: a top legend starts where the plot starts, after the row labels, and a phone has little room left.
                            legend=alt.Legend(orient="top", direction="vertical", columns=1, labelLimit=180,
                                              labelExpr=theme.label_expr({c: t(f"consent_impact.choice_{c}") for c in choices}))),
            order=alt.Order("order:Q"),
            tooltip=[by, "choice", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(height=40 * long[by].n_unique() + 40, width="container")
    )


@theme.drawn
def accept_vs_published(rates: pl.DataFrame) -> alt.Chart:
    """Share accepting all among deciders per banner: simulated next to published."""
    accept = _banner_names(rates).filter(pl.col("published_accept_rate").is_not_null()).unpivot(
        index="banner", on=["accept_rate_deciders", "published_accept_rate"], variable_name="figure", value_name="rate"
    ).with_columns(pl.col("figure").replace({"accept_rate_deciders": "simulated", "published_accept_rate": "published"}))
    return alt.Chart(accept).mark_bar().encode(
        x=alt.X("banner:N", title=None, axis=alt.Axis(labelAngle=0)), xOffset="figure:N",
        y=alt.Y("rate:Q", title=t("consent_impact.accept_axis"), axis=alt.Axis(format="%")),
        color=alt.Color("figure:N", scale=alt.Scale(domain=["simulated", "published"], range=[theme.COLOURS["fullstack"], "#90a4ae"]), title=None,
                        legend=alt.Legend(orient="top", labelExpr=theme.label_expr(
                            {f: t(f"consent_impact.figure_{f}") for f in ("simulated", "published")}))),
        tooltip=["banner", "figure", alt.Tooltip("rate:Q", format=".1%")],
    ).properties(height=240, width="container")


@theme.drawn
def banner_comparison(cmp: pl.DataFrame, banner_a: str, banner_b: str) -> alt.LayerChart:
    """Per compared KPI, banner A's and banner B's full stack as a share of the truth (the dashed rule at 100%):
    horizontal bars, so the chart fits a phone."""
    names = {"a": t("consent_impact.banner_a") + ": " + t(f"consent_impact.banner_{banner_a}"),
             "b": t("consent_impact.banner_b") + ": " + t(f"consent_impact.banner_{banner_b}")}
    bars = cmp.unpivot(index=["metric", "truth"], on=["a", "b"], variable_name="series", value_name="value").with_columns(
        share=pl.when(pl.col("truth") > 0).then(pl.col("value") / pl.col("truth")),
        what=pl.col("metric").replace_strict({m: t(f"charts.metric_{m}") for m in consent_impact.COMPARED_METRICS}),
        series=pl.col("series").replace_strict(names),
    )
    series = list(names.values())
    chart = alt.Chart(bars).mark_bar().encode(
        y=alt.Y("what:N", sort=[t(f"charts.metric_{m}") for m in consent_impact.COMPARED_METRICS], title=None),
        yOffset=alt.YOffset("series:N", sort=series),
        x=alt.X("share:Q", title=t("consent_impact.compare_axis"), axis=alt.Axis(format="%")),
        color=alt.Color("series:N", scale=alt.Scale(domain=series, range=[theme.COLOURS["fullstack"], "#64b5f6"]), title=None,
                        legend=alt.Legend(orient="top", direction="vertical", labelLimit=360)),
        tooltip=["what", "series", alt.Tooltip("value:Q", format=",.0f"), alt.Tooltip("truth:Q", format=",.0f"),
                 alt.Tooltip("share:Q", format=".0%")],
    )
    truth = alt.Chart(pl.DataFrame({"x": [1.0]})).mark_rule(color=theme.COLOURS["truth"], strokeDash=[6, 3], strokeWidth=2).encode(x="x:Q")
    return alt.layer(chart, truth).properties(height=alt.Step(14), width="container")


@theme.drawn
def mode_conversions(modes: pl.DataFrame) -> alt.Chart:
    """Conversions per Consent Mode: truth, observed by the full stack, modelled."""
    conv = modes.unpivot(index="mode", on=["truth_conversions", "observed_conversions", "modelled_conversions"], variable_name="rail", value_name="conversions").with_columns(
        pl.col("rail").replace({"truth_conversions": "truth", "observed_conversions": "fullstack", "modelled_conversions": "modelled"})
    )
    return alt.Chart(conv).mark_bar().encode(
        x=alt.X("mode:N", title=t("consent_impact.mode_axis"), axis=alt.Axis(labelAngle=0)), xOffset=alt.XOffset("rail:N", sort=list(MODE_RAILS)),
        y=alt.Y("conversions:Q"), color=theme.rail_color(rails=MODE_RAILS),
        tooltip=["mode", "rail", alt.Tooltip("conversions:Q", format=",.0f")],
    ).properties(height=240, width="container")


@theme.drawn
def ga4_days(daily: pl.DataFrame, thresholds: dict[str, Any]) -> alt.LayerChart:
    """Per day: denied events and granted users, against GA4's thresholds (dashed rules)."""
    need = pl.DataFrame({"measure": ["denied_events", "granted_users"], "threshold": [thresholds["denied_events_per_day"], thresholds["granted_users_per_day"]]})
    per_day = daily.unpivot(index="date", variable_name="measure", value_name="count")
    base = alt.Chart(per_day).encode(x=alt.X("date:T", title=None, axis=alt.Axis(format="%-d %b", labelAngle=0, labelOverlap=True)), y=alt.Y("count:Q", title=t("consent_impact.per_day_axis")),
                                color=alt.Color("measure:N", title=None, legend=alt.Legend(orient="top", direction="vertical", labelExpr=theme.label_expr(
                                    {m: t(f"consent_impact.measure_{m}") for m in ("denied_events", "granted_users")}))))
    return alt.layer(base.mark_line(point=True, strokeWidth=3).encode(tooltip=["date:T", "measure", "count"]),
                     alt.Chart(need).mark_rule(strokeDash=[4, 4]).encode(y="threshold:Q", color="measure:N")
                     ).properties(height=260, width="container")


@theme.drawn
def consent_bias(bias: pl.DataFrame) -> alt.LayerChart:
    """Share of visitors converting per consent group; the rule is everyone."""
    everyone = bias.filter(pl.col("group") == "everyone")["conversion_rate"].item()
    names = {g: t(f"consent_impact.group_{g.replace(' ', '_')}") for g in bias["group"]}
    bars = alt.Chart(bias).mark_bar(color=theme.COLOURS["fullstack"]).encode(
        y=alt.Y("group:N", sort=None, title=None, axis=alt.Axis(labelExpr=theme.label_expr(names), labelOverlap=False)),
        x=alt.X("conversion_rate:Q", title=t("consent_impact.converting_axis"), axis=alt.Axis(format="%")),
        tooltip=["group", "visitors", "converters", alt.Tooltip("conversion_rate:Q", format=".2%")],
    )
    rule = alt.Chart(pl.DataFrame({"everyone": [everyone]})).mark_rule(color=theme.COLOURS["truth"], strokeWidth=2).encode(x="everyone:Q")
    return alt.layer(bars, rule).properties(height=alt.Step(30), width="container")
