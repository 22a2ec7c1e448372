"""Charts of the Profiles page: how often each rail's profiles give away the right persona."""

from __future__ import annotations

import altair as alt
import polars as pl

from ui.charts import theme
from ui.words import t

# The service's settings (their English names, or their keys) -> catalogue key part.
SETTINGS = {"Full stack, consenting visitors only": "fullstack", "Full stack, if everyone consented": "everyone",
            "Privacy baseline only": "baseline", "fullstack": "fullstack", "everyone": "everyone", "baseline": "baseline"}


@theme.drawn
def accuracy_chart(summary: pl.DataFrame) -> alt.LayerChart:
    """Accuracy per setting (bars in the rail's colour) with the majority guess as a black tick."""
    summary = summary.with_columns(setting=pl.col("setting").replace_strict(
        {s: t(f"charts.profiles_setting_{SETTINGS[s]}") for s in summary["setting"].unique() if s in SETTINGS}, default=pl.col("setting")))
    base = alt.Chart(summary).encode(y=alt.Y("setting:N", title=None, sort=None,
                                           # two lines ("Full stack" / "consenting visitors only"), so a phone keeps room for the bars
                                           axis=alt.Axis(labelExpr="split(datum.label, ', ')", labelLimit=180)))
    bars = base.mark_bar().encode(
        x=alt.X("accuracy:Q", title=t("charts.profiles_accuracy_axis"), axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        # The setting's name already says the rail: the colour needs no legend.
        color=alt.Color("rail:N", scale=theme.rail_scale(("baseline", "fullstack")), legend=None),
        tooltip=[alt.Tooltip("setting:N", title=t("charts.profiles_setting")), alt.Tooltip("accuracy:Q", format=".0%", title=t("charts.profiles_accuracy_axis")),
                 alt.Tooltip("majority_guess:Q", format=".0%", title=t("charts.profiles_majority")),
                 alt.Tooltip("share_profiled:Q", format=".0%", title=t("charts.profiles_profiled"))],
    )
    ticks = base.mark_tick(color=theme.COLOURS["truth"], thickness=3, size=36).encode(x="majority_guess:Q")
    return alt.layer(bars, ticks).properties(height=70 * summary.height + 40, width="container")
