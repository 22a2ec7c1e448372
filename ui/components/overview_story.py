"""The Overview's story, computed from the run: the lead sentence and the diagram of where each
visitor's hits go (with the branch the full stack loses)."""

from __future__ import annotations

import polars as pl

from engine.scenario import Scenario
from ui.charts.theme import COLOURS, LOSS
from ui.words import num, pct, signed, t

# Fixed CSS (no user data): the wide diagram on a wide screen, the tall one on a phone.
# The diagram's font sizes in points (node labels, edge labels), normal and presenter mode ("big").
# Graphviz lays the boxes out for them; Streamlit's own style draws every text of a graphviz chart at
# 9.6 px whatever the DOT says, so DIAGRAM_CSS gives the texts back the sizes the layout was made for.
# The chart is then scaled to the column: on a 1440 px projector (a 980 px column beside the lesson's
# sidebar) presenter mode's left-to-right diagram draws its texts at 16 px or more.
DIAGRAM_FONTS = {False: (13, 11), True: (20, 19)}
_DIAGRAM_CLASS = {False: "drcl-diagram", True: "drcl-diagram big"}


def _diagram_fonts_css() -> str:
    rules = []
    for big, (node, edge) in DIAGRAM_FONTS.items():
        graph = "".join(f".{c}" for c in _DIAGRAM_CLASS[big].split())
        scope = f"{graph}:not(.big)" if not big else graph
        rules.append(f"svg g{scope} g.node text {{font-size: {node}px;}} svg g{scope} g.edge text {{font-size: {edge}px;}}")
    return " ".join(rules)


DIAGRAM_CSS = ("<style>@media (max-width: 640px) {.st-key-diagram-lr {display: none;}}"
               "@media (min-width: 641px) {.st-key-diagram-tb {display: none;}}" + _diagram_fonts_css() + "</style>")


def _row(kpi: pl.DataFrame, metric: str) -> dict:
    return kpi.filter(pl.col("metric") == metric).row(0, named=True)


def lead(kpi: pl.DataFrame, scenario: Scenario, pinned_kpi: pl.DataFrame | None = None) -> str:
    """One sentence: how much of the same visitors and orders each rail sees (and the change against a pin)."""
    v, c = _row(kpi, "visitors"), _row(kpi, "conversions")
    orders = t(f"overview.orders_{scenario.site.kind}")
    seen = t("overview.lead_fullstack", visitors=num(v["truth"]), banner=t(f"overview.banner_{scenario.consent.banner}"),
             visitor_share=pct(v["fullstack"] / v["truth"]) if v["truth"] else pct(0))
    if not c["truth"]:
        text = t("overview.lead_no_orders", seen=seen, orders=orders)
    else:
        fs_orders = pct(c["fullstack"] / c["truth"])
        if round(c["baseline"]) == round(c["truth"]):
            baseline = t("overview.lead_baseline_all", order=t(f"overview.order_{scenario.site.kind}"))
        else:
            baseline = t("overview.lead_baseline_share", share=pct(c["baseline"] / c["truth"]), orders=orders)
        text = t("overview.lead", seen=seen, order_share=fs_orders, orders=orders, baseline=baseline)
    if pinned_kpi is not None:
        pv, pc = _row(pinned_kpi, "visitors"), _row(pinned_kpi, "conversions")
        text += " " + t("overview.lead_pinned", visitors=signed(v["fullstack"] - pv["fullstack"]),
                        conversions=signed(c["fullstack"] - pc["fullstack"]), orders=orders)
    return text


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def diagram(wf: pl.DataFrame, scenario: Scenario, direction: str = "LR", big: bool = False) -> str:
    """Graphviz DOT: visitors -> privacy baseline; visitors -> banner -> full stack, or lost to it
    (ignored, refused, blocked, with their shares of the visitors), and pings -> modelled estimate.
    `direction`: "LR" (a wide screen) or "TB" (a phone: scaled to its width, a wide diagram is unreadable);
    `big`: presenter mode's larger text."""
    node, edge = DIAGRAM_FONTS[big]
    change = dict(zip(wf["step"], wf["change"], strict=True))
    total = max(int(wf["running"][0]), 1)
    ignored, refused, blocked = (-int(change[s]) for s in ("no decision (default denied)", "rejected (incl. GPC)",
                                                              "blocked by ad blocker"))
    lost = ignored + refused + blocked
    nodes = {
        "truth": (t("overview.node_truth"), COLOURS["truth"], "box"),
        "base": (t("overview.node_baseline"), COLOURS["baseline"], "box"),
        "banner": (t("overview.node_banner"), "#777777", "diamond"),
        "full": (t("overview.node_fullstack"), COLOURS["fullstack"], "box"),
        "lost": (t("overview.node_lost", share=pct(lost / total)), LOSS, "box"),
        "model": (t("overview.node_modelled"), COLOURS["modelled"], "box"),
    }
    edges = [
        ("truth", "base", t("overview.edge_always")),
        ("truth", "banner", ""),
        ("banner", "full", t("overview.edge_granted")),
        ("banner", "lost", t("overview.edge_lost", ignored=pct(ignored / total), refused=pct(refused / total),
                                 blocked=pct(blocked / total))),
        ("full", "model", ""),
    ]
    if scenario.consent.mode == "advanced":
        edges.append(("lost", "model", t("overview.edge_pings")))
    # Presenter mode packs the ranks closer: the width that labels do not need is what shrinks its text.
    nodesep, ranksep, margin = ("0.1", "0.2", "0.08,0.03") if big else ("0.15", "0.35", "0.12,0.05")
    lines = [f'digraph {{ rankdir={"TB" if direction == "TB" else "LR"}; nodesep={nodesep}; ranksep={ranksep}; '
             f'bgcolor="transparent"; class="{_DIAGRAM_CLASS[big]}";',
             f'node [style="rounded,filled", fontname="sans-serif", fontcolor=white, fontsize={node}, margin="{margin}"];',
             f'edge [fontname="sans-serif", fontsize={edge}, color="#777777"];']
    lines += [f"{k} [label={_quoted(label)}, fillcolor={_quoted(colour)}, shape={shape}];" for k, (label, colour, shape) in nodes.items()]
    lines += [f"{a} -> {b} [label={_quoted(label)}];" if label else f"{a} -> {b};" for a, b, label in edges]
    return "\n".join([*lines, "}"])


def counts_takeaway(kpi: pl.DataFrame) -> str:
    """The counts section's sentence: how much each rail records of the visitors and page views."""
    v, p = _row(kpi, "visitors"), _row(kpi, "page_views")
    if not v["truth"]:
        return t("overview.counts_empty")
    key = "overview.counts_takeaway_over" if v["baseline"] > v["truth"] else "overview.counts_takeaway"
    return t(key, full=pct(v["fullstack"] / v["truth"]), full_pv=pct(p["fullstack"] / p["truth"]) if p["truth"] else pct(0),
             base=pct(v["baseline"] / v["truth"]))


def waterfall_in_words(wf: pl.DataFrame) -> pl.DataFrame:
    """The waterfall's steps named for people (the table under its chart)."""
    from ui.charts.overview import STEP_KEYS

    return wf.with_columns(pl.col("step").replace_strict({s: t(f"overview.{k}") for s, k in STEP_KEYS.items()}, default=pl.col("step")))


def waterfall_takeaway(wf: pl.DataFrame) -> str:
    """The loss section's sentence: the step that costs the full stack most visitors."""
    from ui.charts.overview import STEP_KEYS

    losses = wf.filter(pl.col("change") < 0).sort("change")
    if losses.is_empty():
        return t("overview.waterfall_none")
    worst = losses.row(0, named=True)
    total = max(int(wf["running"][0]), 1)
    return t("overview.waterfall_takeaway", visitors=num(-worst["change"]), share=pct(-worst["change"] / total),
             step=t(f"overview.{STEP_KEYS[worst['step']]}"), lost=pct(-losses["change"].sum() / total))
