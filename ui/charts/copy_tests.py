"""Charts of the Copy tests page: regret over the test, where the sessions go, and what the test
believes at the end. Policies, variants and rails by their names for people, never their ids."""

from __future__ import annotations

from typing import Any, cast

import altair as alt
import polars as pl

from engine.bandit.lab_problem import variants
from ui.charts import theme
from ui.words import t

POLICY_COLOURS = {"uniform": "#757575", "epsilon_greedy": "#8e24aa", "ucb1": "#00897b", "thompson": "#d81b60",
                  "contextual_thompson": "#f9a825"}
ARM_COLOURS = ["#6d4c41", "#e53935", "#3949ab", "#43a047", "#fb8c00", "#00acc1"]


def policy_name(policy: str) -> str:
    """A policy's name for people ("Uniform split (A/B)"), the same in legends, titles and text."""
    return t(f"charts.policy_{policy}")


def arm_names(arms: tuple[str, ...]) -> dict[str, str]:
    """Each copy variant's text (its name for people), by its id."""
    texts = {v["id"]: v["text"] for v in variants()["variant"]}
    return {a: texts.get(a, a) for a in arms}


def _bottom(names: dict[str, str], columns: int = 1) -> alt.Legend:
    # Legends below the charts: at the side they leave a phone's chart no room for its marks.
    return alt.Legend(orient="bottom", direction="horizontal", columns=columns, labelLimit=340, labelExpr=theme.label_expr(names),
                      symbolType="square", symbolOpacity=1)


def arm_colour(arms: tuple[str, ...], legend: bool = True) -> alt.Color:
    return alt.Color("arm:N", scale=alt.Scale(domain=list(arms), range=ARM_COLOURS[: len(arms)]), title=t("charts.copy_variant"),
                     legend=_bottom(arm_names(arms)) if legend else None)


def policy_colour(policies: list[str]) -> alt.Color:
    """Colour per policy; the legend names the policies as the page does, not by their ids."""
    return alt.Color("policy:N", scale=alt.Scale(domain=policies, range=[POLICY_COLOURS[p] for p in policies]), title=t("charts.copy_policy"),
                     legend=_bottom({p: policy_name(p) for p in policies}, columns=2))


@theme.drawn
def regret_chart(curves: pl.DataFrame, field: str, color: alt.Color) -> alt.LayerChart:
    """Mean cumulative regret (line) and its band over seeds (area), one colour per `field` value. The legend
    comes from the lines (full colour); the pale bands have none."""
    # One legend for both layers (a legend=None on one of them made Vega-Lite warn), its symbols in full colour.
    spec = cast(dict[str, Any], color.to_dict())
    if spec.get("legend") is not None:
        spec["legend"] = {**spec.get("legend", {}), "symbolOpacity": 1, "symbolType": "square"}
    color = band_colour = alt.Color.from_dict(spec)
    base = alt.Chart(curves).encode(x=alt.X("round:Q", title=t("charts.copy_round_axis")))
    band = base.mark_area(opacity=0.18).encode(y=alt.Y("low:Q", title=t("charts.copy_regret_axis")), y2="high:Q", color=band_colour)
    line = base.mark_line(strokeWidth=3).encode(
        y="mean:Q", color=color,
        tooltip=[alt.Tooltip("round:Q", title=t("charts.copy_round_axis"), format=",.0f"),
                 alt.Tooltip("mean:Q", format=",.1f", title=t("charts.copy_regret_mean")), alt.Tooltip("low:Q", format=",.1f", title=t("charts.copy_low")),
                 alt.Tooltip("high:Q", format=",.1f", title=t("charts.copy_high"))])
    return (band + line).properties(height=400, width="container")  # the whole chart: the legend below takes its share


@theme.drawn
def allocation_chart(alloc: pl.DataFrame, arms: tuple[str, ...], title: str, legend: bool = True) -> alt.Chart:
    """Share of sessions per variant over the test, for one policy (the page draws one per policy,
    each as wide as the page: a faceted chart keeps a fixed width and scrolled sideways on a phone).
    `title`: the policy's name; a policy id (from an older call site) is named here."""
    if title in POLICY_COLOURS:
        title = policy_name(title)
    data = alloc.with_columns(arm_name=pl.col("arm").replace_strict(arm_names(arms), default=pl.col("arm")))
    return alt.Chart(data).mark_area().encode(
        x=alt.X("round:Q", title=t("charts.copy_round_axis")),
        y=alt.Y("share:Q", stack="normalize", title=t("charts.copy_sessions_axis"), axis=alt.Axis(format="%")),
        color=arm_colour(arms, legend),
        tooltip=[alt.Tooltip("round:Q", title=t("charts.copy_round_axis"), format=",.0f"), alt.Tooltip("arm_name:N", title=t("charts.copy_variant")),
                 alt.Tooltip("share:Q", format=".1%", title=t("charts.copy_sessions_axis"))],
    # The height is the whole chart's (axes, title, legend): the plot keeps about 100 px either way.
    ).properties(height=320 if legend else 230, width="container", title=alt.Title(title, anchor="start", limit=0))


@theme.drawn
def density_chart(density: pl.DataFrame, arms: tuple[str, ...]) -> alt.Chart:
    data = density.with_columns(arm_name=pl.col("arm").replace_strict(arm_names(arms), default=pl.col("arm")))
    return alt.Chart(data).mark_line(strokeWidth=3).encode(
        x=alt.X("rate:Q", title=t("charts.copy_rate_axis"), axis=alt.Axis(format="%")), y=alt.Y("density:Q", title=t("charts.copy_density_axis")),
        color=arm_colour(arms),
        tooltip=[alt.Tooltip("arm_name:N", title=t("charts.copy_variant")), alt.Tooltip("rate:Q", format=".2%", title=t("charts.copy_rate_axis")),
                 alt.Tooltip("density:Q", format=",.1f", title=t("charts.copy_density_axis"))],
    ).properties(height=340, width="container")


@theme.drawn
def p_best_chart(arms_by_rail: pl.DataFrame, arms: tuple[str, ...]) -> alt.Chart:
    """P(best) per variant and rail: horizontal bars with the variants' texts as row labels (two lines where
    long), so no label is dropped for lack of room."""
    rails = tuple(r for r in theme.RAILS if r in set(arms_by_rail["rail"]))
    names = {a: theme.wrap(n, 24) for a, n in arm_names(arms).items()}
    data = arms_by_rail.with_columns(arm_name=pl.col("arm").replace_strict(names, default=pl.col("arm")),
                                     rail_name=pl.col("rail").replace_strict(dict(theme.LABELS)))
    return alt.Chart(data).mark_bar().encode(
        y=alt.Y("arm_name:N", sort=[names[a] for a in arms], title=None, axis=alt.Axis(labelExpr=theme.WRAPPED, labelLimit=220)),
        yOffset=alt.YOffset("rail:N", sort=list(rails)),
        x=alt.X("p_best:Q", title=t("charts.copy_p_best_axis"), axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        color=theme.rail_color(rails=rails, orient="bottom"),
        tooltip=[alt.Tooltip("rail_name:N", title=t("charts.tip_rail")), alt.Tooltip("p_best:Q", format=".1%", title=t("charts.copy_p_best_axis")),
                 alt.Tooltip("crowned:Q", format=".0%", title=t("charts.copy_crowned"))],
    ).properties(height=theme.rows_height(len(arms), 12 * len(rails) + 18), width="container")
