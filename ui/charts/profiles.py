"""Charts of the Profiles page: how often each rail's profiles give away the right persona."""

from __future__ import annotations

import altair as alt
import polars as pl

from ui.charts import theme
from ui.words import t

# The service's settings (their English names, or their keys) -> catalogue key part.
SETTINGS = {"Full stack, consenting visitors only": "fullstack", "Full stack, if everyone consented": "everyone",
            "Privacy baseline only": "baseline", "fullstack": "fullstack", "everyone": "everyone", "baseline": "baseline"}


def _named(summary: pl.DataFrame) -> pl.DataFrame:
    return summary.with_columns(setting=pl.col("setting").replace_strict(
        {s: t(f"charts.profiles_setting_{SETTINGS[s]}") for s in summary["setting"].unique() if s in SETTINGS}, default=pl.col("setting")))


@theme.drawn
def accuracy_chart(summary: pl.DataFrame, pinned: pl.DataFrame | None = None) -> alt.LayerChart:
    """Accuracy per setting (bars in the rail's colour) with the majority guess as a black tick. With a
    pinned scenario's summary, its accuracy is drawn faintly on the bars, as a dark dot (the tick is taken)."""
    summary = _named(summary)
    # The service's order; with a pin, said explicitly: a second data source's layer would otherwise reorder the rows.
    y = alt.Y("setting:N", title=None, sort=None if pinned is None else summary["setting"].to_list(),
              # two lines ("Full stack" / "consenting visitors only"), so a phone keeps room for the bars
              axis=alt.Axis(labelExpr="split(datum.label, ', ')", labelLimit=180))
    base = alt.Chart(summary).encode(y=y)
    bars = base.mark_bar().encode(
        x=alt.X("accuracy:Q", title=t("charts.profiles_accuracy_axis"), axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        # The setting's name already says the rail: the colour needs no legend.
        color=alt.Color("rail:N", scale=theme.rail_scale(("baseline", "fullstack")), legend=None),
        tooltip=[alt.Tooltip("setting:N", title=t("charts.profiles_setting")), alt.Tooltip("accuracy:Q", format=".0%", title=t("charts.profiles_accuracy_axis")),
                 alt.Tooltip("majority_guess:Q", format=".0%", title=t("charts.profiles_majority")),
                 alt.Tooltip("share_profiled:Q", format=".0%", title=t("charts.profiles_profiled"))],
    )
    ticks = base.mark_tick(color=theme.COLOURS["truth"], thickness=3, size=36).encode(x="majority_guess:Q")
    layers = [bars, ticks]
    if pinned is not None:
        before = _named(pinned).filter(pl.col("setting").is_in(summary["setting"].to_list()))
        dots = alt.Chart(before).mark_point(shape="circle", filled=True, size=140, color=theme.COLOURS["truth"], opacity=0.6)
        layers.append(dots.encode(
            y=y, x=alt.X("accuracy:Q"),
            tooltip=[alt.Tooltip("setting:N", title=t("charts.profiles_setting")),
                     alt.Tooltip("accuracy:Q", format=".0%", title=t("charts.scenario_pinned"))]))
    return alt.layer(*layers).properties(height=70 * summary.height + 40, width="container")
