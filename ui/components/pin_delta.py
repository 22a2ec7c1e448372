"""A headline number's change against the pinned scenario (ui.pin), for st.metric's delta: neutral grey
(a change is not good or bad by itself), with its arrow. Shares change in percentage points."""

from __future__ import annotations

from typing import Any

from ui.words import signed, t


def _arrow(change: float) -> str:
    # Set explicitly: the texts carry a typographic minus, which Streamlit's own sign detection misses.
    return "up" if change > 0 else ("down" if change < 0 else "off")


def points(value: float | None, before: float | None, digits: int = 1) -> dict[str, Any]:
    """st.metric keywords showing how a share (0..1) moved against the pinned scenario, in points; none without a pin."""
    if before is None or value is None:
        return {}
    change = round(100 * (value - before), digits)
    return {"delta": t("compare.points_vs_pinned", change=signed(change, digits)), "delta_color": "off",
            "delta_arrow": _arrow(change)}


def pair(precision: float, recall: float, before: tuple[float, float] | None) -> dict[str, Any]:
    """st.metric keywords for a precision/recall pair's change against the pinned scenario (recall's direction)."""
    if before is None:
        return {}
    dp, dr = round(100 * (precision - before[0]), 1), round(100 * (recall - before[1]), 1)
    return {"delta": t("compare.pair_vs_pinned", precision=signed(dp, 1), recall=signed(dr, 1)), "delta_color": "off",
            "delta_arrow": _arrow(dr)}
