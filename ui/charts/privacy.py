"""Charts of the Privacy leaks page: fingerprint entropy and uniqueness, one visitor's rarity,
k-anonymity per rail and per masking step, and linkability across days. Attributes, masking steps,
linking methods and populations by their names for people, from the catalogue."""

from __future__ import annotations

import altair as alt
import polars as pl

from engine.privacy import K_THRESHOLD
from engine.privacy.kanonymity import MASKING_STEPS
from ui.charts import theme
from ui.knob_words import option
from ui.words import num, t

# The engine's linking methods (its English keys) -> catalogue key part and colour.
LINKS = {"baseline, daily salt": ("baseline_daily", theme.COLOURS["baseline"]), "baseline, fixed salt": ("baseline_fixed", "#81c784"),
         "full stack, device id": ("fullstack_device", theme.COLOURS["fullstack"]), "cookieless fingerprint": ("fingerprint", "#6a1b9a")}
LINK_COLOURS = {m: colour for m, (_, colour) in LINKS.items()}
SOURCES = ("simulated", "Panopticlick", "AmIUnique")  # the studies keep their names


def attribute_name(attribute: str) -> str:
    """A fingerprint attribute's name for people ("User agent" for user_agent)."""
    return t(f"charts.attr_{attribute}")


def _attributes(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(attribute_name=pl.col("attribute").replace_strict({a: attribute_name(a) for a in frame["attribute"].unique()}))


@theme.drawn
def entropy_chart(entropy: pl.DataFrame) -> alt.Chart:
    long = _attributes(entropy.select("attribute", simulated="bits", Panopticlick="panopticlick_bits", AmIUnique="amiunique_bits").unpivot(
        index="attribute", variable_name="source", value_name="bits").drop_nulls("bits"))
    sources = {s: t("charts.privacy_simulated") if s == "simulated" else s for s in SOURCES}
    long = long.with_columns(source_name=pl.col("source").replace_strict(sources))
    return alt.Chart(long).mark_bar().encode(
        y=alt.Y("attribute_name:N", sort=[attribute_name(a) for a in entropy["attribute"]], title=None, axis=alt.Axis(labelLimit=180)),
        x=alt.X("bits:Q", title=t("charts.privacy_entropy_axis")),
        yOffset=alt.YOffset("source:N", sort=list(SOURCES)),
        color=alt.Color("source:N", scale=alt.Scale(domain=list(SOURCES), range=[theme.COLOURS["truth"], "#9e9e9e", "#ce93d8"]), title=None,
                        # In rows of two: three in one row ran past a phone's width ("AmIUniqu…").
                        legend=alt.Legend(orient="top", direction="horizontal", columns=2, labelExpr=theme.label_expr(sources))),
        tooltip=[alt.Tooltip("attribute_name:N", title=t("charts.tip_attribute")), alt.Tooltip("source_name:N", title=t("charts.tip_source")),
                 alt.Tooltip("bits:Q", format=".2f", title=t("charts.privacy_entropy_axis"))],
    ).properties(height=theme.rows_height(entropy.height, 30), width="container")


POPULATIONS = ("general_audience", "volunteers")
POPULATION_COLOURS = {"general_audience": theme.COLOURS["truth"], "volunteers": "#ce93d8"}
GROUPS = ("all", "desktop", "mobile")


@theme.drawn
def population_curve_chart(curves: pl.DataFrame, unique_share: dict[str, float], study: dict) -> alt.LayerChart:
    """Unique share by population size for both simulated populations (solid: all browsers, dashed:
    desktop, dotted: mobile), with the published studies as points."""
    populations = {p: t("charts.privacy_population", name=option(p)) for p in POPULATIONS}
    groups = {g: t(f"charts.privacy_group_{g}") for g in GROUPS}
    engine_groups = {"all browsers": "all", "desktop": "desktop", "mobile": "mobile"}
    data = curves.with_columns(population=pl.col("population_kind").replace_strict(populations), browsers=pl.col("population"),
                               group=pl.col("group").replace_strict({k: groups[v] for k, v in engine_groups.items()}, default=pl.col("group")))
    line = alt.Chart(data).mark_line(strokeWidth=3).encode(
        x=alt.X("browsers:Q", scale=alt.Scale(type="log"), title=t("charts.privacy_browsers_axis")),
        y=alt.Y("unique_share:Q", axis=alt.Axis(format="%"), title=t("charts.privacy_unique_axis")),
        color=alt.Color("population:N", scale=alt.Scale(domain=list(populations.values()), range=list(POPULATION_COLOURS.values())), title=None,
                        legend=alt.Legend(orient="top", direction="vertical", labelLimit=400)),  # Vega cuts at 160 px
        # one legend above, one below: side by side below the chart they ran off a phone's width
        strokeDash=alt.StrokeDash("group:N", sort=list(groups.values()), scale=alt.Scale(domain=list(groups.values()), range=[[1, 0], [6, 3], [2, 2]]),
                                  title=None, legend=alt.Legend(orient="bottom", direction="horizontal")),
        detail="group:N",
        tooltip=[alt.Tooltip("population:N", title=t("charts.tip_population")), alt.Tooltip("group:N", title=t("charts.tip_group")),
                 alt.Tooltip("browsers:Q", format=",.0f", title=t("charts.privacy_browsers_axis")),
                 alt.Tooltip("unique_share:Q", format=".1%", title=t("charts.privacy_unique_axis"))],
    )
    published = pl.DataFrame({
        "study": [t("charts.privacy_study_panopticlick"), t("charts.privacy_study_amiunique"), t("charts.privacy_study_desktop"),
                  t("charts.privacy_study_mobile")],
        "browsers": [470_161, 118_934, study["population"], study["population"]],
        "unique_share": [unique_share["panopticlick"], unique_share["amiunique"], study["unique_desktop"], study["unique_mobile"]],
    })
    dots = alt.Chart(published).mark_point(shape="diamond", size=120, filled=True, color="#6a1b9a").encode(
        x="browsers:Q", y="unique_share:Q",
        tooltip=[alt.Tooltip("study:N", title=t("charts.tip_study")), alt.Tooltip("browsers:Q", format=",.0f", title=t("charts.privacy_browsers_axis")),
                 alt.Tooltip("unique_share:Q", format=".1%", title=t("charts.privacy_unique_axis"))])
    return (line + dots).properties(width="container")


def set_size_name(label: str) -> str:
    """An anonymity-set bin ("1 (unique)", "2–4", "1000+") in the reader's words and number format."""
    if label.startswith("1 ("):
        return t("charts.privacy_set_unique")
    if label.endswith("+"):
        return num(int(label[:-1])) + "+"
    if "–" in label:
        lo, hi = label.split("–")
        return f"{num(int(lo))}–{num(int(hi))}"
    return num(int(label)) if label.isdigit() else label


@theme.drawn
def histogram_chart(hist: pl.DataFrame) -> alt.Chart:
    hist = hist.with_columns(set_size=theme.each(hist["set_size"], set_size_name))
    return alt.Chart(hist).mark_bar(color=theme.COLOURS["truth"]).encode(
        x=alt.X("set_size:N", sort=alt.SortField("order"), title=t("charts.privacy_set_axis"), axis=alt.Axis(labelAngle=0)),
        y=alt.Y("share:Q", axis=alt.Axis(format="%"), title=t("charts.privacy_share_browsers")),
        tooltip=[alt.Tooltip("set_size:N", title=t("charts.privacy_set_axis")), alt.Tooltip("browsers:Q", format=",.0f", title=t("charts.tip_browsers")),
                 alt.Tooltip("share:Q", format=".1%", title=t("charts.privacy_share_browsers"))],
    ).properties(width="container")


@theme.drawn
def rarity_chart(rarity: pl.DataFrame) -> alt.Chart:
    data = _attributes(rarity.drop_nulls("value"))
    return alt.Chart(data).mark_bar(color=theme.COLOURS["truth"]).encode(
        y=alt.Y("attribute_name:N", sort="-x", title=None, axis=alt.Axis(labelLimit=180)),
        x=alt.X("bits:Q", title=t("charts.privacy_surprise_axis")),
        tooltip=[alt.Tooltip("attribute_name:N", title=t("charts.tip_attribute")), alt.Tooltip("value:N", title=t("charts.tip_value")),
                 alt.Tooltip("one_in:Q", format=",.1f", title=t("charts.privacy_one_in"))],
    ).properties(height=theme.rows_height(data.height, 26), width="container")


@theme.drawn
def k_chart(k_table: pl.DataFrame, pinned: pl.DataFrame | None = None) -> alt.Chart | alt.LayerChart:
    rails = tuple(k_table["rail"])
    data = k_table.with_columns(rail_name=pl.col("rail").replace_strict(dict(theme.LABELS)))
    x = alt.X("rail:N", sort=list(rails), title=None,
              axis=alt.Axis(labelAngle=0, labelExpr=theme.label_expr({r: theme.LABELS[r] for r in rails})))
    bars = alt.Chart(data).mark_bar().encode(
        x=x,
        y=alt.Y("share_below_k:Q", axis=alt.Axis(format="%"), title=t("charts.privacy_below_k_axis", k=K_THRESHOLD)),
        color=alt.Color("rail:N", scale=theme.rail_scale(rails), legend=None),  # the axis names the rails
        tooltip=[alt.Tooltip("rail_name:N", title=t("charts.tip_rail")), alt.Tooltip("k:Q", title="k"),
                 alt.Tooltip("share_below_k:Q", format=".1%", title=t("charts.privacy_below_k_axis", k=K_THRESHOLD))],
    )
    if pinned is None:
        return bars.properties(width="container")
    # The pinned scenario's shares as faint dark ticks across the bars, on the same explicit rail order.
    before = pinned.filter(pl.col("rail").is_in(rails)).with_columns(rail_name=pl.col("rail").replace_strict(dict(theme.LABELS)))
    ticks = theme.pinned_ticks(before, x=x, y=alt.Y("share_below_k:Q"), tooltip=[
        alt.Tooltip("rail_name:N", title=t("charts.tip_rail")),
        alt.Tooltip("share_below_k:Q", format=".1%", title=t("charts.scenario_pinned"))])
    return alt.layer(bars, ticks).properties(width="container")


@theme.drawn
def steps_chart(steps: pl.DataFrame) -> alt.Chart:
    """k-anonymity after each masking step (the engine's steps, in its order, named from the catalogue)."""
    english = {label: i for i, (label, _, _) in enumerate(MASKING_STEPS)}
    data = steps.with_columns(order=pl.int_range(pl.len())).with_columns(
        step=pl.col("step").replace_strict({s: t(f"charts.privacy_step_{i}") for s, i in english.items()}, default=pl.col("step")))
    # Two lines at the comma (IP | user agent): a break by length split "user | agent".
    data = data.with_columns(step_line=theme.each(data["step"], lambda s: s.replace(", ", ",|", 1) if ", " in s else theme.wrap(s, 24)))
    return alt.Chart(data).mark_bar(color=theme.COLOURS["baseline"]).encode(
        y=alt.Y("step_line:N", sort=alt.SortField("order"), title=None, axis=alt.Axis(labelLimit=220, labelExpr=theme.WRAPPED)),
        x=alt.X("share_below_k:Q", axis=alt.Axis(format="%"), title=t("charts.privacy_steps_axis", k=K_THRESHOLD)),
        tooltip=[alt.Tooltip("step:N", title=t("charts.tip_step")), alt.Tooltip("groups:Q", format=",.0f", title=t("charts.privacy_groups")),
                 alt.Tooltip("share_below_k:Q", format=".1%", title=t("charts.privacy_steps_axis", k=K_THRESHOLD)),
                 alt.Tooltip("unique_share:Q", format=".1%", title=t("charts.privacy_unique_axis"))],
    ).properties(height=theme.rows_height(data.height, 40), width="container")


def _link_named(link: pl.DataFrame) -> pl.DataFrame:
    names = {m: t(f"charts.privacy_link_{LINKS[m][0]}") if m in LINKS else m for m in link["method"]}
    return link.with_columns(method_name=pl.col("method").replace_strict(names))


@theme.drawn
def link_chart(link: pl.DataFrame, pinned: pl.DataFrame | None = None) -> alt.LayerChart:
    """Per method, the share of returning visitors it follows from one active day to the next (a bar
    labelled with its share). With a pinned scenario's table, its shares as faint dark ticks on the bars."""
    data = _link_named(link)
    y = alt.Y("method_name:N", sort=data["method_name"].to_list(), title=None, axis=alt.Axis(labelLimit=260))  # both layers keep it
    base = alt.Chart(data).encode(
        y=y,
        # Room right of a full bar for its label, but ticks only up to 100 % (a "110 %" tick read as a share).
        x=alt.X("share_linked:Q", axis=alt.Axis(format="%", values=[0, 0.2, 0.4, 0.6, 0.8, 1.0]), scale=alt.Scale(domain=[0, 1.12], nice=False),
                title=t("charts.privacy_link_axis")),
        tooltip=[alt.Tooltip("method_name:N", title=t("charts.tip_method")), alt.Tooltip("transitions:Q", format=",.0f", title=t("charts.privacy_transitions")),
                 alt.Tooltip("linked:Q", format=",.0f", title=t("charts.privacy_linked")),
                 alt.Tooltip("share_linked:Q", format=".1%", title=t("charts.privacy_link_axis"))],
    )
    bars = base.mark_bar().encode(
        color=alt.Color("method:N", scale=alt.Scale(domain=list(link["method"]), range=[LINK_COLOURS.get(m, "#757575") for m in link["method"]]),
                        legend=None))
    layers = [bars]
    if pinned is not None:
        before = _link_named(pinned).filter(pl.col("method").is_in(link["method"].to_list()))
        layers.append(theme.pinned_ticks(before, y=y, x=alt.X("share_linked:Q"), tooltip=[
            alt.Tooltip("method_name:N", title=t("charts.tip_method")),
            alt.Tooltip("share_linked:Q", format=".1%", title=t("charts.scenario_pinned"))]))
    text = base.mark_text(align="left", dx=4, fontWeight="bold").encode(text=alt.Text("share_linked:Q", format=".0%"))
    return alt.layer(*layers, text).properties(height=theme.rows_height(data.height, 36), width="container")
