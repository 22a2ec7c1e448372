"""One colour and one name per rail, on every page; Altair scales built from them."""

from __future__ import annotations

import altair as alt

RAILS = ("truth", "baseline", "fullstack", "modelled")
COLOURS = {"truth": "#3b3b3b", "baseline": "#2e7d32", "fullstack": "#1565c0", "modelled": "#ef6c00"}
LABELS = {"truth": "Truth", "baseline": "Privacy baseline (Rail A)", "fullstack": "Full stack (Rail B)", "modelled": "Modelled"}


def rail_scale(rails: tuple[str, ...] = RAILS) -> alt.Scale:
    """Colour scale for a `rail` field holding the keys truth/baseline/fullstack/modelled."""
    return alt.Scale(domain=list(rails), range=[COLOURS[r] for r in rails])


def rail_color(field: str = "rail", rails: tuple[str, ...] = RAILS, title: str | None = "Rail", orient: str = "right",
               columns: int = 2) -> alt.Color:
    """`orient="bottom"` lays the legend out in rows of `columns` under the chart, leaving a wide chart its width on a phone."""
    rows = {"direction": "horizontal", "columns": columns} if orient == "bottom" else {}
    return alt.Color(f"{field}:N", scale=rail_scale(rails), title=title,
                     legend=alt.Legend(labelExpr=_label_expr(rails), orient=orient, labelFontSize=13, **rows))


def _label_expr(rails: tuple[str, ...]) -> str:
    parts = " : ".join(f"datum.label == '{r}' ? '{LABELS[r]}'" for r in rails)
    return f"{parts} : datum.label"
