"""Charts of the Overview page: what each rail records against the truth, and where the full stack loses visitors."""

from __future__ import annotations

from typing import cast

import altair as alt
import polars as pl

from ui.charts import theme
from ui.words import num, signed, t

COUNTED = ["visitors", "sessions", "page_views", "conversions"]
SHOWN_RAILS = ("baseline", "fullstack", "modelled")
STEP_KEYS = {"truth visitors": "wf_truth", "no decision (default denied)": "wf_no_decision", "rejected (incl. GPC)": "wf_rejected",
             "blocked by ad blocker": "wf_blocked", "identity split (cookie resets)": "wf_split",
             "observed by the full stack": "wf_observed"}
GAIN = "#7e57c2"  # counted twice: neither a loss (red) nor the full stack's own blue


def _shares(kpi: pl.DataFrame, scenario: str) -> pl.DataFrame:
    return kpi.filter(pl.col("metric").is_in(COUNTED)).unpivot(
        index=["metric", "truth"], on=list(SHOWN_RAILS), variable_name="rail", value_name="value"
    ).drop_nulls("value").with_columns(
        share=pl.when(pl.col("truth") > 0).then(pl.col("value") / pl.col("truth")),
        what=pl.col("metric").replace_strict({m: t(f"charts.metric_{m}") for m in COUNTED}),
        rail_name=pl.col("rail").replace_strict(dict(theme.LABELS)),
        scenario=pl.lit(scenario),
        scenario_name=pl.lit(t(f"charts.scenario_{scenario}")),
    )


@theme.drawn
def rail_counts(kpi: pl.DataFrame, pinned_kpi: pl.DataFrame | None = None) -> alt.LayerChart:
    """Per count (visitors, sessions, page views, conversions), each rail as a share of the truth: one
    horizontal bar per rail (it fits a phone), the truth a rule at 100%; a pinned scenario faint beside."""
    data = _shares(kpi, "current")
    if pinned_kpi is not None:
        data = pl.concat([_shares(pinned_kpi, "pinned"), data])
    whats = [t(f"charts.metric_{m}") for m in COUNTED]
    offset = ["pinned|" + r for r in SHOWN_RAILS] + ["current|" + r for r in SHOWN_RAILS] if pinned_kpi is not None else None
    data = data.with_columns(slot=pl.col("scenario") + "|" + pl.col("rail"))
    bars_per_row = data.select(pl.len().over("what")).max().item() if data.height else 1
    bars = alt.Chart(data).mark_bar().encode(
        y=alt.Y("what:N", sort=whats, title=None),
        yOffset=alt.YOffset("slot:N", sort=offset or ["current|" + r for r in SHOWN_RAILS]),
        x=alt.X("share:Q", title=t("overview.counts_axis"), axis=alt.Axis(format="%")),
        color=theme.rail_color(rails=SHOWN_RAILS),
        # Ordinal, in the order given: a nominal opacity made Vega-Lite warn "unsorted discrete field".
        opacity=alt.Opacity("scenario:O", sort=["pinned", "current"], scale=alt.Scale(domain=["pinned", "current"], range=[0.3, 1.0]),
                            legend=None),
        tooltip=[alt.Tooltip("what:N", title=t("charts.tip_count")), alt.Tooltip("rail_name:N", title=t("charts.tip_rail")),
                 alt.Tooltip("scenario_name:N", title=t("charts.tip_scenario")),
                 alt.Tooltip("value:Q", format=",.0f", title=t("charts.tip_value")), alt.Tooltip("truth:Q", format=",.0f", title=t("charts.rail_truth")),
                 alt.Tooltip("share:Q", format=".0%", title=t("charts.tip_share_of_truth"))],
    )
    truth = alt.Chart(pl.DataFrame({"x": [1.0]})).mark_rule(color=theme.COLOURS["truth"], strokeWidth=2, strokeDash=[6, 3]).encode(x="x:Q")
    return alt.layer(bars, truth).properties(height=theme.rows_height(len(COUNTED), 12 * bars_per_row + 12), width="container")


@theme.drawn
def waterfall(wf: pl.DataFrame) -> alt.LayerChart:
    """Floating horizontal bars from every browser to the full stack's count: the first bar the truth's grey,
    losses red, cookie splits purple, the last bar the full stack's blue; each bar says its number."""
    last = wf.height - 1
    steps = wf.with_columns(order=pl.int_range(pl.len())).with_columns(
        start=pl.when(pl.col("step").is_in(["truth visitors", "observed by the full stack"])).then(0).otherwise(pl.col("running") - pl.col("change")),
        kind=pl.when(pl.col("order") == 0).then(pl.lit("total")).when(pl.col("order") == last).then(pl.lit("fullstack"))
        .when(pl.col("change") < 0).then(pl.lit("loss")).otherwise(pl.lit("gain")),
        name=pl.col("step").replace_strict({s: t(f"overview.{k}") for s, k in STEP_KEYS.items()}),
    ).with_columns(
        end=pl.max_horizontal("start", "running"),
    )
    steps = steps.with_columns(
        label=theme.each(steps["name"], theme.wrap),
        # The number each bar stands for, in the reader's format: totals as counts, steps with their sign.
        text=pl.when(pl.col("kind").is_in(["total", "fullstack"])).then(theme.each(steps["running"], num))
        .otherwise(theme.each(steps["change"], signed)),
    )
    kinds = {"total": (t("overview.wf_total"), theme.COLOURS["truth"]), "loss": (t("overview.wf_loss"), theme.LOSS),
             "gain": (t("overview.wf_gain"), GAIN), "fullstack": (theme.rail_label("fullstack"), theme.COLOURS["fullstack"])}
    shown = [k for k in kinds if k in set(steps["kind"])]
    colour = alt.Scale(domain=shown, range=[kinds[k][1] for k in shown])
    top = float(cast(float, steps["end"].max()) or 1) * 1.18  # room right of the longest bar for its number
    x = alt.X("start:Q", title=t("overview.waterfall_axis"), scale=alt.Scale(domain=[0, top], nice=False), axis=alt.Axis(tickCount=5))
    y = alt.Y("label:N", sort=alt.SortField("order"), title=None, axis=alt.Axis(labelExpr=theme.WRAPPED, labelLimit=200))
    tip = [alt.Tooltip("name:N", title=t("charts.tip_step")), alt.Tooltip("text:N", title=t("charts.tip_value"))]
    # One legend for every channel on `kind` (a channel with legend=None beside one with a legend makes Vega-Lite
    # warn "Conflicting legend property").
    # In rows of two: four entries in one row ran past a phone's width (the last one cut off).
    legend = alt.Legend(orient="top", title=None, direction="horizontal", columns=2, symbolType="square", labelLimit=220,
                        labelExpr=theme.label_expr({k: kinds[k][0] for k in shown}))
    bars = alt.Chart(steps).mark_bar(strokeWidth=3).encode(
        y=y, x=x, x2="running:Q",
        color=alt.Color("kind:N", scale=colour, title=None, legend=legend),
        # The outline in the bar's colour: a step of 40 browsers out of 20,000 is still a visible sliver.
        stroke=alt.Stroke("kind:N", scale=colour, title=None, legend=legend),
        tooltip=tip,
    )
    text = alt.Chart(steps).mark_text(align="left", dx=6, fontWeight="bold").encode(
        y=y, x=alt.X("end:Q", scale=alt.Scale(domain=[0, top], nice=False)), text="text:N",
        color=alt.Color("kind:N", scale=colour, title=None, legend=legend), tooltip=tip)
    return alt.layer(bars, text).properties(height=theme.rows_height(steps.height, 44), width="container")
