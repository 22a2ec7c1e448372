"""Charts of the Consent impact page: choices per banner and trait, the rails' KPIs per banner and
Consent Mode, GA4's modelling thresholds, and the consent bias."""

from __future__ import annotations

from typing import Any, cast

import altair as alt
import polars as pl

from engine import consent_impact
from ui.charts import theme
from ui.knob_words import option
from ui.words import t


def _banner_names(frame: pl.DataFrame) -> pl.DataFrame:
    """Banner designs by their names for people, not their codes."""
    return frame.with_columns(pl.col("banner").replace_strict({b: t(f"consent_impact.banner_{b}") for b in consent_impact.BANNERS}))

CHOICE_COLOURS = {"accept_all": "#2e7d32", "custom": "#9ccc65", "reject_all": "#c62828", "gpc": "#6a1b9a",
                  "ignored": "#9e9e9e", "no_banner": "#5d4037"}
MODE_RAILS = ("truth", "fullstack", "modelled")
# Banner A in the full stack's blue, banner B in a colour no rail uses: two blues read as one series from the back.
BANNER_COLOURS = ("#1565c0", "#8e24aa")
MEASURE_COLOURS = {"denied_events": "#6d4c41", "granted_users": "#1565c0"}


@theme.drawn
def stacked_shares(rates: pl.DataFrame, by: str, title: str) -> alt.Chart:
    """Horizontal stacked bars of consent-choice shares per value of `by`."""
    named = _banner_names(rates) if by == "banner" else rates.with_columns(pl.col(by).replace_strict(theme.value_names(rates[by].unique())))
    long = consent_impact.shares_long(named, by).with_columns(
        choice_name=pl.col("choice").replace_strict({c: t(f"consent_impact.choice_{c}") for c in consent_impact.CHOICE_ORDER}))
    choices = [c for c in consent_impact.CHOICE_ORDER if c in set(long["choice"])]
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            # No axis title: the section's heading and takeaway say what the rows are; a phone keeps the width.
            y=alt.Y(f"{by}:N", title=None, axis=alt.Axis(labelLimit=200)),
            x=alt.X("share:Q", title=t("consent_impact.shares_axis"), axis=alt.Axis(format="%"), stack="normalize"),
            color=alt.Color("choice:N", scale=alt.Scale(domain=choices, range=[CHOICE_COLOURS[c] for c in choices]), title=None,
                            legend=alt.Legend(orient="bottom", direction="horizontal", columns=2, labelLimit=180,
                                              labelExpr=theme.label_expr({c: t(f"consent_impact.choice_{c}") for c in choices}))),
            order=alt.Order("order:Q"),
            tooltip=[alt.Tooltip(f"{by}:N", title=title), alt.Tooltip("choice_name:N", title=t("charts.tip_choice")),
                     alt.Tooltip("share:Q", format=".1%", title=t("charts.tip_share"))],
        )
        .properties(height=theme.rows_height(long[by].n_unique(), 40), width="container")
    )


@theme.drawn
def accept_vs_published(rates: pl.DataFrame) -> alt.Chart:
    """Share accepting all among deciders per banner: simulated next to published (horizontal bars, long names fit)."""
    figures = {f: t(f"consent_impact.figure_{f}") for f in ("simulated", "published")}
    accept = _banner_names(rates).filter(pl.col("published_accept_rate").is_not_null()).unpivot(
        index="banner", on=["accept_rate_deciders", "published_accept_rate"], variable_name="figure", value_name="rate"
    ).with_columns(pl.col("figure").replace({"accept_rate_deciders": "simulated", "published_accept_rate": "published"})).with_columns(
        figure_name=pl.col("figure").replace_strict(figures))
    return alt.Chart(accept).mark_bar().encode(
        y=alt.Y("banner:N", title=None, axis=alt.Axis(labelLimit=200)), yOffset=alt.YOffset("figure:N", sort=list(figures)),
        x=alt.X("rate:Q", title=t("consent_impact.accept_axis"), axis=alt.Axis(format="%")),
        color=alt.Color("figure:N", scale=alt.Scale(domain=list(figures), range=[theme.COLOURS["fullstack"], "#90a4ae"]), title=None,
                        legend=alt.Legend(orient="top", labelExpr=theme.label_expr(figures))),
        tooltip=[alt.Tooltip("banner:N", title=t("charts.tip_banner")), alt.Tooltip("figure_name:N", title=t("charts.tip_figure")),
                 alt.Tooltip("rate:Q", format=".1%", title=t("charts.tip_share"))],
    ).properties(height=theme.rows_height(accept["banner"].n_unique(), 44), width="container")


@theme.drawn
def banner_comparison(cmp: pl.DataFrame, banner_a: str, banner_b: str) -> alt.LayerChart:
    """Per compared KPI, banner A's and banner B's full stack as a share of the truth (the dashed rule at 100%):
    horizontal bars, so the chart fits a phone; A blue, B purple."""
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
        color=alt.Color("series:N", scale=alt.Scale(domain=series, range=list(BANNER_COLOURS)), title=None,
                        legend=alt.Legend(orient="top", direction="vertical", labelLimit=360)),
        tooltip=[alt.Tooltip("what:N", title=t("charts.tip_count")), alt.Tooltip("series:N", title=t("charts.tip_banner")),
                 alt.Tooltip("value:Q", format=",.0f", title=t("charts.tip_value")), alt.Tooltip("truth:Q", format=",.0f", title=t("charts.rail_truth")),
                 alt.Tooltip("share:Q", format=".0%", title=t("charts.tip_share_of_truth"))],
    )
    truth = alt.Chart(pl.DataFrame({"x": [1.0]})).mark_rule(color=theme.COLOURS["truth"], strokeDash=[6, 3], strokeWidth=2).encode(x="x:Q")
    return alt.layer(chart, truth).properties(height=theme.rows_height(len(consent_impact.COMPARED_METRICS), 40), width="container")


@theme.drawn
def mode_conversions(modes: pl.DataFrame) -> alt.Chart:
    """Conversions per Consent Mode (named as in the sidebar): truth, observed by the full stack, modelled; horizontal bars."""
    conv = modes.unpivot(index="mode", on=["truth_conversions", "observed_conversions", "modelled_conversions"], variable_name="rail", value_name="conversions").with_columns(
        pl.col("rail").replace({"truth_conversions": "truth", "observed_conversions": "fullstack", "modelled_conversions": "modelled"})
    ).drop_nulls("conversions")
    modes_named = {m: _mode_name(m) for m in modes["mode"]}
    conv = conv.with_columns(mode_name=pl.col("mode").replace_strict({m: theme.wrap(n, 18) for m, n in modes_named.items()}),
                             mode_full=pl.col("mode").replace_strict(modes_named),
                             rail_name=pl.col("rail").replace_strict(dict(theme.LABELS)))
    per_mode = conv.group_by("mode").len()["len"].max() if conv.height else 1
    return alt.Chart(conv).mark_bar().encode(
        y=alt.Y("mode_name:N", title=None, sort=[theme.wrap(n, 18) for n in modes_named.values()],
                axis=alt.Axis(labelExpr=theme.WRAPPED, labelLimit=200)),
        yOffset=alt.YOffset("rail:N", sort=list(MODE_RAILS)),
        x=alt.X("conversions:Q", title=t("charts.metric_conversions")), color=theme.rail_color(rails=MODE_RAILS),
        tooltip=[alt.Tooltip("mode_full:N", title=t("consent_impact.mode_axis")), alt.Tooltip("rail_name:N", title=t("charts.tip_rail")),
                 alt.Tooltip("conversions:Q", format=",.0f", title=t("charts.metric_conversions"))],
    ).properties(height=theme.rows_height(modes.height, 14 * int(cast(int, per_mode) or 1) + 16), width="container")


def _mode_name(mode: str) -> str:
    name = option(mode)
    return name[:1].upper() + name[1:]


def whole_days(daily: pl.DataFrame, run_days: int | None = None) -> pl.DataFrame:
    """The days a run covers in full: the first `run_days` dates; without `run_days`, a last date far below the
    others (sessions spilling past the last midnight) is dropped, so the lines do not fall to zero like an outage."""
    if daily.height == 0:
        return daily
    daily = daily.sort("date")
    if run_days is not None:
        return daily.filter(pl.col("date") < pl.col("date").min() + pl.duration(days=run_days))
    if daily.height < 2:
        return daily
    head, tail = daily.head(-1), daily.tail(1)
    partial = all(float(cast(float, tail[c].item())) < 0.5 * float(cast(float, head[c].median()) or 0) for c in ("denied_events", "granted_users"))
    return head if partial else daily


@theme.drawn
def ga4_days(daily: pl.DataFrame, thresholds: dict[str, Any], run_days: int | None = None) -> alt.LayerChart:
    """Per whole day: denied events and granted users, against GA4's thresholds (dashed rules, same colours).
    `run_days`: the run's length (the verdict's "days"); the partial day after the last midnight is left out."""
    measures = {m: t(f"consent_impact.measure_{m}") for m in ("denied_events", "granted_users")}
    need = pl.DataFrame({"measure": list(measures), "threshold": [thresholds["denied_events_per_day"], thresholds["granted_users_per_day"]]})
    per_day = whole_days(daily, run_days).unpivot(index="date", variable_name="measure", value_name="count").with_columns(
        measure_name=pl.col("measure").replace_strict(measures))
    scale = alt.Scale(domain=list(measures), range=list(MEASURE_COLOURS.values()))
    colour = alt.Color("measure:N", title=None, scale=scale,
                       legend=alt.Legend(orient="top", direction="vertical", labelLimit=360, labelExpr=theme.label_expr(measures)))
    base = alt.Chart(per_day).encode(
        x=alt.X("date:T", title=None, axis=alt.Axis(format=theme.day_format(), labelOverlap=True, tickCount="day")),
        y=alt.Y("count:Q", title=t("consent_impact.per_day_axis")), color=colour)
    return alt.layer(
        base.mark_line(point=True, strokeWidth=3).encode(tooltip=[
            alt.Tooltip("date:T", format=theme.day_format(), title=t("charts.tip_day")), alt.Tooltip("measure_name:N", title=t("charts.tip_measure")),
            alt.Tooltip("count:Q", format=",.0f", title=t("charts.tip_value"))]),
        alt.Chart(need).mark_rule(strokeDash=[4, 4], strokeWidth=2).encode(y="threshold:Q", color=colour),
    ).properties(height=260, width="container")


@theme.drawn
def consent_bias(bias: pl.DataFrame) -> alt.LayerChart:
    """Share of visitors converting per consent group; the rule is everyone."""
    everyone = bias.filter(pl.col("group") == "everyone")["conversion_rate"].item()
    names = {g: t(f"consent_impact.group_{g.replace(' ', '_')}") for g in bias["group"]}
    data = bias.with_columns(group_name=pl.col("group").replace_strict(names))
    bars = alt.Chart(data).mark_bar(color=theme.COLOURS["fullstack"]).encode(
        y=alt.Y("group:N", sort=None, title=None, axis=alt.Axis(labelExpr=theme.label_expr(names), labelOverlap=False, labelLimit=220)),
        x=alt.X("conversion_rate:Q", title=t("consent_impact.converting_axis"), axis=alt.Axis(format="%")),
        tooltip=[alt.Tooltip("group_name:N", title=t("charts.tip_group")), alt.Tooltip("visitors:Q", format=",.0f", title=t("charts.metric_visitors")),
                 alt.Tooltip("converters:Q", format=",.0f", title=t("charts.tip_converters")),
                 alt.Tooltip("conversion_rate:Q", format=".2%", title=t("consent_impact.converting_axis"))],
    )
    rule = alt.Chart(pl.DataFrame({"everyone": [everyone]})).mark_rule(color=theme.COLOURS["truth"], strokeWidth=2).encode(x="everyone:Q")
    return alt.layer(bars, rule).properties(height=theme.rows_height(bias.height, 30), width="container")
