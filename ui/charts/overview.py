"""Charts of the Overview page: what each rail records against the truth, and where the full stack loses visitors."""

from __future__ import annotations

import altair as alt
import polars as pl

from ui.charts import theme
from ui.words import t

COUNTED = ["visitors", "sessions", "page_views", "conversions"]
SHOWN_RAILS = ("baseline", "fullstack", "modelled")
STEP_KEYS = {"truth visitors": "wf_truth", "no decision (default denied)": "wf_no_decision", "rejected (incl. GPC)": "wf_rejected",
             "blocked by ad blocker": "wf_blocked", "identity split (cookie resets)": "wf_split",
             "observed by the full stack": "wf_observed"}


def _shares(kpi: pl.DataFrame, scenario: str) -> pl.DataFrame:
    return kpi.filter(pl.col("metric").is_in(COUNTED)).unpivot(
        index=["metric", "truth"], on=list(SHOWN_RAILS), variable_name="rail", value_name="value"
    ).drop_nulls("value").with_columns(
        share=pl.when(pl.col("truth") > 0).then(pl.col("value") / pl.col("truth")),
        what=pl.col("metric").replace_strict({m: t(f"charts.metric_{m}") for m in COUNTED}),
        scenario=pl.lit(scenario),
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
    bars = alt.Chart(data).mark_bar().encode(
        y=alt.Y("what:N", sort=whats, title=None),
        yOffset=alt.YOffset("slot:N", sort=offset or ["current|" + r for r in SHOWN_RAILS]),
        x=alt.X("share:Q", title=t("overview.counts_axis"), axis=alt.Axis(format="%")),
        color=theme.rail_color(rails=SHOWN_RAILS),
        opacity=alt.Opacity("scenario:N", scale=alt.Scale(domain=["pinned", "current"], range=[0.3, 1.0]), legend=None),
        tooltip=[alt.Tooltip("what:N", title=None), alt.Tooltip("rail:N"), alt.Tooltip("scenario:N"),
                 alt.Tooltip("value:Q", format=",.0f"), alt.Tooltip("truth:Q", format=",.0f"), alt.Tooltip("share:Q", format=".0%")],
    )
    truth = alt.Chart(pl.DataFrame({"x": [1.0]})).mark_rule(color=theme.COLOURS["truth"], strokeWidth=2, strokeDash=[6, 3]).encode(x="x:Q")
    return alt.layer(bars, truth).properties(height=alt.Step(9 if pinned_kpi is None else 6), width="container")


@theme.drawn
def waterfall(wf: pl.DataFrame) -> alt.Chart:
    """Floating horizontal bars from every visitor to the full stack's count: losses red, cookie splits blue."""
    steps = wf.with_columns(
        start=pl.when(pl.col("step").is_in(["truth visitors", "observed by the full stack"])).then(0).otherwise(pl.col("running") - pl.col("change")),
        kind=pl.when(pl.col("change") < 0).then(pl.lit("loss")).when(pl.col("step").str.starts_with("identity")).then(pl.lit("gain")).otherwise(pl.lit("total")),
        label=pl.col("step").replace_strict({s: t(f"overview.{k}") for s, k in STEP_KEYS.items()}),
        order=pl.int_range(pl.len()),
    ).with_columns(kind_label=pl.col("kind").replace_strict({k: t(f"overview.wf_{k}") for k in ("loss", "gain", "total")}))
    kinds = [t(f"overview.wf_{k}") for k in ("total", "loss", "gain")]
    return alt.Chart(steps).mark_bar().encode(
        y=alt.Y("label:N", sort=alt.SortField("order"), title=None),
        x=alt.X("start:Q", title=t("overview.waterfall_axis")),
        x2="running:Q",
        color=alt.Color("kind_label:N", scale=alt.Scale(domain=kinds, range=[theme.COLOURS["truth"], theme.LOSS, theme.COLOURS["fullstack"]]),
                        title=None, legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("label:N", title=None), alt.Tooltip("change:Q", format="+,"), alt.Tooltip("running:Q", format=",")],
    ).properties(height=alt.Step(30), width="container")
