"""Charts of the Privacy leaks page: fingerprint entropy and uniqueness, one visitor's rarity,
k-anonymity per rail and per masking step, and linkability across days."""

from __future__ import annotations

import altair as alt
import polars as pl

from engine.privacy import K_THRESHOLD
from ui.charts import theme

WORDS = "replace(datum.label, /_/g, ' ')"  # attribute names as words: "user agent", not "user_agent"


def _rail_names(rails: tuple[str, ...]) -> str:
    """An axis label expression naming the rails as the legend does."""
    return " : ".join(f"datum.label == '{r}' ? '{theme.LABELS[r]}'" for r in rails) + " : datum.label"


LINK_COLOURS = {"baseline, daily salt": theme.COLOURS["baseline"], "baseline, fixed salt": "#81c784",
                "full stack, device id": theme.COLOURS["fullstack"], "cookieless fingerprint": "#6a1b9a"}


@theme.drawn
def entropy_chart(entropy: pl.DataFrame) -> alt.Chart:
    long = entropy.select("attribute", simulated="bits", Panopticlick="panopticlick_bits", AmIUnique="amiunique_bits").unpivot(
        index="attribute", variable_name="source", value_name="bits").drop_nulls("bits")
    order = ["simulated", "Panopticlick", "AmIUnique"]
    return alt.Chart(long).mark_bar().encode(
        y=alt.Y("attribute:N", sort=entropy["attribute"].to_list(), title=None, axis=alt.Axis(labelExpr=WORDS)),
        x=alt.X("bits:Q", title="entropy (bits)"),
        yOffset=alt.YOffset("source:N", sort=order),
        color=alt.Color("source:N", scale=alt.Scale(domain=order, range=[theme.COLOURS["truth"], "#9e9e9e", "#ce93d8"]), title=None),
        tooltip=["attribute", "source", alt.Tooltip("bits:Q", format=".2f")],
    ).properties(height=alt.Step(9))


POPULATION_LABELS = {"general_audience": "general audience (simulated)", "volunteers": "test-site volunteers (simulated)"}
POPULATION_COLOURS = {"general_audience": theme.COLOURS["truth"], "volunteers": "#ce93d8"}


@theme.drawn
def population_curve_chart(curves: pl.DataFrame, unique_share: dict[str, float], study: dict) -> alt.LayerChart:
    """Unique share by population size for both simulated populations (solid: all browsers, dashed:
    desktop, dotted: mobile), with the published studies as points."""
    data = curves.with_columns(population=pl.col("population_kind").replace_strict(POPULATION_LABELS), browsers=pl.col("population"))
    domain = list(POPULATION_LABELS.values())
    groups = ["all browsers", "desktop", "mobile"]
    line = alt.Chart(data).mark_line().encode(
        x=alt.X("browsers:Q", scale=alt.Scale(type="log"), title="browsers in the population (log scale)"),
        y=alt.Y("unique_share:Q", axis=alt.Axis(format="%"), title="unique fingerprints"),
        color=alt.Color("population:N", scale=alt.Scale(domain=domain, range=list(POPULATION_COLOURS.values())), title=None,
                        legend=alt.Legend(orient="top", direction="vertical", labelLimit=400)),  # Vega cuts at 160 px
        # one legend above, one below: side by side below the chart they ran off a phone's width
        strokeDash=alt.StrokeDash("group:N", sort=groups, scale=alt.Scale(domain=groups, range=[[1, 0], [6, 3], [2, 2]]), title=None,
                                  legend=alt.Legend(orient="bottom", direction="horizontal")),
        detail="group:N",
        tooltip=["population", "group", alt.Tooltip("browsers:Q", format=","), alt.Tooltip("unique_share:Q", format=".1%")],
    )
    published = pl.DataFrame({
        "study": ["Panopticlick (volunteers)", "AmIUnique (volunteers)", "Gomez-Boix et al. desktop", "Gomez-Boix et al. mobile"],
        "browsers": [470_161, 118_934, study["population"], study["population"]],
        "unique_share": [unique_share["panopticlick"], unique_share["amiunique"], study["unique_desktop"], study["unique_mobile"]],
    })
    dots = alt.Chart(published).mark_point(shape="diamond", size=120, filled=True, color="#6a1b9a").encode(
        x="browsers:Q", y="unique_share:Q",
        tooltip=["study", alt.Tooltip("browsers:Q", format=","), alt.Tooltip("unique_share:Q", format=".1%")])
    return line + dots


@theme.drawn
def histogram_chart(hist: pl.DataFrame) -> alt.Chart:
    return alt.Chart(hist).mark_bar(color=theme.COLOURS["truth"]).encode(
        x=alt.X("set_size:N", sort=alt.SortField("order"), title="browsers sharing the same fingerprint", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("share:Q", axis=alt.Axis(format="%"), title="share of browsers"),
        tooltip=["set_size", "browsers", alt.Tooltip("share:Q", format=".1%")],
    )


@theme.drawn
def rarity_chart(rarity: pl.DataFrame) -> alt.Chart:
    return alt.Chart(rarity.drop_nulls("value")).mark_bar(color=theme.COLOURS["truth"]).encode(
        y=alt.Y("attribute:N", sort="-x", title=None, axis=alt.Axis(labelExpr=WORDS)),
        x=alt.X("bits:Q", title="bits of surprise (log2 of 'one in N')"),
        tooltip=["attribute", "value", alt.Tooltip("one_in:Q", format=",.1f")],
    )


@theme.drawn
def k_chart(k_table: pl.DataFrame) -> alt.Chart:
    rails = tuple(k_table["rail"])
    return alt.Chart(k_table).mark_bar().encode(
        x=alt.X("rail:N", sort=list(rails), title=None, axis=alt.Axis(labelAngle=0, labelExpr=_rail_names(rails))),
        y=alt.Y("share_below_k:Q", axis=alt.Axis(format="%"), title=f"records in groups of < {K_THRESHOLD} visitors"),
        color=theme.rail_color(rails=rails),
        tooltip=["rail", "quasi_identifiers", "k", alt.Tooltip("share_below_k:Q", format=".1%")],
    )


@theme.drawn
def steps_chart(steps: pl.DataFrame) -> alt.Chart:
    return alt.Chart(steps.with_columns(order=pl.int_range(pl.len()))).mark_bar(color=theme.COLOURS["baseline"]).encode(
        y=alt.Y("step:N", sort=alt.SortField("order"), title=None, axis=alt.Axis(labelLimit=260)),
        x=alt.X("share_below_k:Q", axis=alt.Axis(format="%"), title=f"visitor-days in groups of < {K_THRESHOLD} visitors"),
        tooltip=["step", "groups", alt.Tooltip("share_below_k:Q", format=".1%"), alt.Tooltip("unique_share:Q", format=".1%")],
    )


@theme.drawn
def link_chart(link: pl.DataFrame) -> alt.LayerChart:
    methods = link["method"].to_list()
    base = alt.Chart(link).encode(
        y=alt.Y("method:N", sort=methods, title=None, axis=alt.Axis(labelLimit=260)),
        x=alt.X("share_linked:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1]), title="day-to-next-day visits linked"),
        tooltip=["method", "transitions", "linked", alt.Tooltip("share_linked:Q", format=".1%")],
    )
    bars = base.mark_bar().encode(
        color=alt.Color("method:N", scale=alt.Scale(domain=methods, range=[LINK_COLOURS[m] for m in methods]), legend=None))
    return bars + base.mark_text(align="left", dx=4).encode(text=alt.Text("share_linked:Q", format=".0%"))
