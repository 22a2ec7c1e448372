"""One chart theme for every page: rail colours and names, font sizes, full width.

Every Altair chart on every page goes through `show(chart)` (or `spec(chart)` for a raw
Vega-Lite spec): it applies the shared config — axis labels 13 px and titles 16 px normally,
16 px and 20 px in presenter mode (`?present=1`, readable from the back of a room) — and
draws the chart at the container's width. Chart builders in `ui/charts/<page>.py` set data,
marks and encodings only: no font sizes, no fixed widths (use `width="container"` or nothing).

Why not a registered Altair theme: it is process-wide, and presenter mode is per session.
Streamlit's own chart theme (`theme="streamlit"`) fills in only what the chart's config leaves
open, so the config set here wins over it.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import streamlit as st

from ui.present import presenting
from ui.words import t

RAILS = ("truth", "baseline", "fullstack", "modelled")
COLOURS = {"truth": "#3b3b3b", "baseline": "#2e7d32", "fullstack": "#1565c0", "modelled": "#ef6c00"}
LOSS = "#c62828"
# Fixed font sizes (px): normal reading distance, and presenter mode's back of the room.
SIZES = {False: {"label": 13, "title": 16, "chart_title": 16}, True: {"label": 16, "title": 20, "chart_title": 22}}


def rail_label(rail: str) -> str:
    """A rail's name for people ("Privacy baseline"), from the catalogue."""
    return t(f"charts.rail_{rail}")


LABELS = {r: rail_label(r) for r in RAILS}


def rail_scale(rails: tuple[str, ...] = RAILS) -> alt.Scale:
    """Colour scale for a `rail` field holding the keys truth/baseline/fullstack/modelled."""
    return alt.Scale(domain=list(rails), range=[COLOURS[r] for r in rails])


def rail_color(field: str = "rail", rails: tuple[str, ...] = RAILS, title: str | None = None, orient: str = "top",
               columns: int = 2) -> alt.Color:
    """The rails' colours with their names in the legend. The legend sits above (`orient="top"`) or
    under the chart (`"bottom"`, in rows of `columns`): at the side it takes a third of a phone's width."""
    rows: dict[str, Any] = {"direction": "horizontal", "columns": columns} if orient in ("bottom", "top") else {}
    return alt.Color(f"{field}:N", scale=rail_scale(rails), title=title,
                     legend=alt.Legend(labelExpr=_label_expr(rails), orient=orient, labelLimit=260, **rows))


def _label_expr(rails: tuple[str, ...]) -> str:
    return label_expr({r: rail_label(r) for r in rails})


def label_expr(names: dict[str, str]) -> str:
    """A Vega label expression showing each code's name for people (legends and axes keep the codes as data)."""
    quoted = {k: v.replace("\\", "\\\\").replace("'", "\\'") for k, v in names.items()}
    parts = " : ".join(f"datum.label == '{k}' ? '{v}'" for k, v in quoted.items())
    return f"{parts} : datum.label" if parts else "datum.label"


def config(present: bool | None = None) -> dict[str, Any]:
    """The shared Vega-Lite config: font sizes for the reading distance, horizontal labels that wrap less."""
    size = SIZES[presenting() if present is None else present]
    label, title = size["label"], size["title"]
    return {
        "axis": {"labelFontSize": label, "titleFontSize": title, "labelLimit": 220},
        "legend": {"labelFontSize": label, "titleFontSize": title, "symbolSize": 160 if present else 100},
        "header": {"labelFontSize": label, "titleFontSize": title},
        "title": {"fontSize": size["chart_title"], "anchor": "start"},
        "text": {"fontSize": label},
        # Fill the width only: with "fit" (both ways) presenter mode's larger legends and labels squeeze the plot.
        "autosize": {"type": "fit-x", "contains": "padding"},
    }


def themed(chart: alt.TopLevelMixin, present: bool | None = None) -> alt.TopLevelMixin:
    """The chart with the shared config applied (the last step before drawing)."""
    cfg = config(present)
    return (chart.properties(autosize=alt.AutoSizeParams(**cfg["autosize"])).configure_axis(**cfg["axis"]).configure_legend(**cfg["legend"]).configure_header(**cfg["header"])
            .configure_title(**cfg["title"]).configure_text(**cfg["text"]))


def show(chart: alt.TopLevelMixin, *, key: str | None = None, where: Any = None) -> None:
    """Draw an Altair chart in the shared theme, at the container's width (`where`: a column or container)."""
    (where or st).altair_chart(themed(chart), width="stretch", key=key)


def spec(raw: dict[str, Any]) -> dict[str, Any]:
    """A raw Vega-Lite spec (dict) with the shared config merged in, for st.vega_lite_chart."""
    cfg = config()
    own = raw.get("config", {})
    return raw | {"config": {k: {**v, **own.get(k, {})} if isinstance(v, dict) else v for k, v in cfg.items()} | {
        k: v for k, v in own.items() if k not in cfg}}
