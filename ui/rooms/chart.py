"""The poll's histogram: the room's guesses in 10 % bins, with the run's true value as a rule.
(Kept beside the room: ui/charts' theme supplies fonts and sizes when it is registered.)"""

from __future__ import annotations

import altair as alt
import polars as pl

from ui.words import t

GUESS = "#1565c0"  # the full stack's blue: the room guesses what the full stack reports
TRUTH = "#3b3b3b"  # the truth's grey


def guesses(values: list[float], truth: float) -> alt.LayerChart:
    """Bars of guesses per 10 % bin (0-100 %), and a rule at the run's value."""
    # Whole percents (a slider's values) binned by integer division: no float edge puts 70 % in the 60s.
    bins = pl.DataFrame({"guess": values}, schema={"guess": pl.Float64}).select(
        k=((pl.col("guess") * 100).round() // 10).clip(0, 9).cast(pl.Int32)
    ).group_by("k").len("learners")
    frame = pl.DataFrame({"k": list(range(10))}, schema={"k": pl.Int32}).join(bins, on="k", how="left").fill_null(0)
    frame = frame.select(bin=pl.col("k") / 10, end=(pl.col("k") + 1) / 10, learners="learners")
    x_title, y_title = t("room.poll.axis_guess"), t("room.poll.axis_count")
    bars = alt.Chart(frame).mark_bar(color=GUESS, opacity=0.8).encode(
        x=alt.X("bin:Q", bin="binned", title=x_title, scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%", labelAngle=0)),
        x2="end:Q",
        y=alt.Y("learners:Q", title=y_title, axis=alt.Axis(tickMinStep=1)),
        tooltip=[alt.Tooltip("bin:Q", format="%", title=x_title), alt.Tooltip("learners:Q", title=y_title)],
    )
    rule_data = pl.DataFrame({"truth": [truth], "label": [t("room.poll.truth_label")]})
    rule = alt.Chart(rule_data).mark_rule(color=TRUTH, strokeWidth=4).encode(x="truth:Q")
    label = alt.Chart(rule_data).mark_text(align="left", dx=6, dy=-6, baseline="bottom", color=TRUTH, fontWeight="bold").encode(
        x="truth:Q", y=alt.value(0), text="label:N")
    return alt.LayerChart(layer=[bars, rule, label], height=200, width="container")
