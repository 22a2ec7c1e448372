"""Charts of the Copy tests page: regret over the test, where the sessions go, and what the test
believes at the end."""

from __future__ import annotations

import altair as alt
import polars as pl

from engine.bandit import POLICY_LABELS
from ui.charts import theme

POLICY_COLOURS = {"uniform": "#757575", "epsilon_greedy": "#8e24aa", "ucb1": "#00897b", "thompson": "#d81b60",
                  "contextual_thompson": "#f9a825"}
ARM_COLOURS = ["#6d4c41", "#e53935", "#3949ab", "#43a047", "#fb8c00", "#00acc1"]


# Legends below the charts: at the side they leave a phone's chart no room for its marks.
_BOTTOM = alt.Legend(orient="bottom", direction="horizontal", columns=2, labelLimit=300)


def arm_colour(arms: tuple[str, ...], legend: bool = True) -> alt.Color:
    return alt.Color("arm:N", scale=alt.Scale(domain=list(arms), range=ARM_COLOURS[: len(arms)]), title="Copy variant",
                     legend=_BOTTOM if legend else None)


def policy_colour(policies: list[str]) -> alt.Color:
    """Colour per policy; the legend names the policies as the page does, not by their ids."""
    names = " : ".join(f"datum.label == '{p}' ? '{POLICY_LABELS[p]}'" for p in policies) + " : datum.label"
    return alt.Color("policy:N", scale=alt.Scale(domain=policies, range=[POLICY_COLOURS[p] for p in policies]), title="Policy",
                     legend=alt.Legend(orient="bottom", direction="horizontal", columns=2, labelLimit=300, labelExpr=names))


@theme.drawn
def regret_chart(curves: pl.DataFrame, field: str, color: alt.Color) -> alt.LayerChart:
    """Mean cumulative regret (line) and its band over seeds (area), one colour per `field` value."""
    base = alt.Chart(curves).encode(x=alt.X("round:Q", title="round (session)"), color=color)
    band = base.mark_area(opacity=0.18).encode(y=alt.Y("low:Q", title="cumulative regret (expected orders lost)"), y2="high:Q")
    line = base.mark_line().encode(y="mean:Q", tooltip=[field, "round",
                                                        alt.Tooltip("mean:Q", format=",.1f"), alt.Tooltip("low:Q", format=",.1f"),
                                                        alt.Tooltip("high:Q", format=",.1f")])
    return (band + line).properties(height=400)  # the whole chart: the legend below takes its share


@theme.drawn
def allocation_chart(alloc: pl.DataFrame, arms: tuple[str, ...], title: str, legend: bool = True) -> alt.Chart:
    """Share of sessions per variant over the test, for one policy (the page draws one per policy,
    each as wide as the page: a faceted chart keeps a fixed width and scrolled sideways on a phone)."""
    return alt.Chart(alloc).mark_area().encode(
        x=alt.X("round:Q", title="round (session)"), y=alt.Y("share:Q", stack="normalize", title="share of sessions", axis=alt.Axis(format="%")),
        color=arm_colour(arms, legend), tooltip=["policy", "round", "arm", alt.Tooltip("share:Q", format=".1%")],
    # The height is the whole chart's (axes, title, legend): the plot keeps about 100 px either way.
    ).properties(height=320 if legend else 230, title=alt.Title(title, anchor="start"))


@theme.drawn
def density_chart(density: pl.DataFrame, arms: tuple[str, ...]) -> alt.Chart:
    return alt.Chart(density).mark_line().encode(
        x=alt.X("rate:Q", title="conversion rate", axis=alt.Axis(format="%")), y=alt.Y("density:Q", title="posterior density"),
        color=arm_colour(arms), tooltip=["arm", alt.Tooltip("rate:Q", format=".2%"), alt.Tooltip("density:Q", format=",.1f")],
    ).properties(height=340)


@theme.drawn
def p_best_chart(arms_by_rail: pl.DataFrame, arms: tuple[str, ...]) -> alt.Chart:
    rails = tuple(r for r in theme.RAILS if r in set(arms_by_rail["rail"]))
    return alt.Chart(arms_by_rail).mark_bar().encode(
        x=alt.X("arm:N", sort=list(arms), title=None, axis=alt.Axis(labelAngle=0)), xOffset=alt.XOffset("rail:N", sort=list(rails)),
        y=alt.Y("p_best:Q", title="P(best), mean over seeds", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        color=theme.rail_color(rails=rails, orient="bottom"), tooltip=["rail", "arm", alt.Tooltip("p_best:Q", format=".1%"), alt.Tooltip("crowned:Q", format=".0%")],
    ).properties(height=340)
