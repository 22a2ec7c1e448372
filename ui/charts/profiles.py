"""Charts of the Profiles page: how often each rail's profiles give away the right persona."""

from __future__ import annotations

import altair as alt
import polars as pl

from ui.charts import theme


@theme.drawn
def accuracy_chart(summary: pl.DataFrame) -> alt.LayerChart:
    """Accuracy per setting (bars in the rail's colour) with the majority guess as a black tick."""
    base = alt.Chart(summary).encode(y=alt.Y("setting:N", title=None, sort=None,
                                           # two lines ("Full stack" / "consenting visitors only"), so a phone keeps room for the bars
                                           axis=alt.Axis(labelExpr="split(datum.label, ', ')", labelLimit=180)))
    bars = base.mark_bar().encode(
        x=alt.X("accuracy:Q", title="personas guessed right (test visitors)", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        # The setting's name already says the rail: the colour needs no legend.
        color=alt.Color("rail:N", scale=theme.rail_scale(("baseline", "fullstack")), legend=None),
        tooltip=["setting", alt.Tooltip("accuracy:Q", format=".0%"), alt.Tooltip("majority_guess:Q", format=".0%", title="majority guess"),
                 alt.Tooltip("share_profiled:Q", format=".0%", title="visitors profiled")],
    )
    ticks = base.mark_tick(color=theme.COLOURS["truth"], thickness=3, size=36).encode(x="majority_guess:Q")
    return alt.layer(bars, ticks).properties(height=70 * summary.height + 40)
