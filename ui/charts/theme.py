"""One chart theme for every page: rail colours and names, font sizes, full width.

Every Altair chart on every page goes through `show(chart)` (or `spec(chart)` for a raw
Vega-Lite spec): it applies the shared config — axis labels 13 px and titles 16 px normally,
16 px and 20 px in presenter mode (`?present=1`, readable from the back of a room) — and
draws the chart at the container's width. Chart builders in `ui/charts/<page>.py` set data,
marks and encodings only: no font sizes, no fixed widths (use `width="container"` or nothing).

Drawing a chart costs more than computing its data: building the Altair objects (every shorthand
encoding is parsed against the schema), validating them and serialising their data to Arrow took
most of a warm rerun. A builder decorated with `@drawn` therefore returns a `Drawn` handle instead
of building: `show` looks the finished spec up in the process-wide store (ui.cache.STORE, bounded
by memory), keyed by the builder, a keyed digest of its arguments' content (frames by their rows),
presenter mode and the language; only a miss builds, validates and serialises the chart, once for
every session showing the same data.

Why not a registered Altair theme: it is process-wide, and presenter mode is per session.
Streamlit's own chart theme (`theme="streamlit"`) fills in only what the chart's config leaves
open, so the config set here wins over it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ParamSpec

import altair as alt
import polars as pl
import streamlit as st
from babel import Locale
from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

from ui import cache, words
from ui.present import presenting
from ui.words import t

P = ParamSpec("P")

RAILS = ("truth", "baseline", "fullstack", "modelled")
COLOURS = {"truth": "#3b3b3b", "baseline": "#2e7d32", "fullstack": "#1565c0", "modelled": "#ef6c00"}
LOSS = "#c62828"
# Fixed font sizes (px): normal reading distance, and presenter mode's back of the room.
SIZES = {False: {"label": 13, "title": 16, "chart_title": 16}, True: {"label": 16, "title": 20, "chart_title": 22}}


def rail_label(rail: str) -> str:
    """A rail's name for people ("Privacy baseline"), from the catalogue."""
    return t(f"charts.rail_{rail}")


class _RailNames(Mapping[str, str]):
    """The rails' names in the language spoken when read (a dict made at import would stay English)."""

    def __getitem__(self, rail: str) -> str:
        if rail not in RAILS:
            raise KeyError(rail)
        return rail_label(rail)

    def __iter__(self) -> Iterator[str]:
        return iter(RAILS)

    def __len__(self) -> int:
        return len(RAILS)


LABELS: Mapping[str, str] = _RailNames()


def value_name(code: Any) -> str:
    """A data value's name for people (a region, device, channel, event, attitude...): `charts.value_<code>`
    from the catalogue; a value without one (a country, a browser) is already a name and stays as it is."""
    # an event named as in the pages' tables and pickers, a consent choice as on Consent impact
    for key in (f"common.event.{code}", f"charts.value_{code}", f"consent_impact.choice_{code}"):
        if words.has(key):
            return t(key)
    return str(code)


def value_names(values: Any) -> dict[str, str]:
    """`value_name` for each distinct value (for `replace_strict` or `label_expr`)."""
    return {str(v): value_name(v) for v in values}


def names(codes: Any, area: str) -> dict[str, str]:
    """Codes (rails, events, banners...) -> their names for people, from the catalogue keys `area + code`."""
    return {str(c): t(f"{area}{c}") for c in codes}


WRAPPED = "split(datum.label, '|')"  # an axis label expression showing a label `wrap` broke into lines


def wrap(text: str, width: int = 22) -> str:
    """A long label broken into lines of about `width` characters at spaces, joined by "|" (shown by the
    axis with `labelExpr=WRAPPED`): two short lines read better than one cut off ("no decision (defa…")."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "|".join(lines)


def each(values: pl.Series, fn: Callable[[Any], str]) -> pl.Series:
    """`fn` of each value of a chart's small frame (a bar's label, a formatted number), in this thread: polars'
    map_elements may call `fn` in a worker thread, where the session's language is unknown (German pages got
    English numbers)."""
    return pl.Series(values.name, [fn(v) for v in values.to_list()], dtype=pl.String)


def rows_height(rows: int, step: int = 30, extra: int = 0) -> int:
    """A horizontal bar chart's height in pixels for `rows` bands of `step` px (a number, not a Step: a
    discrete height made Vega-Lite drop the container fit and warn "Dropping fit-y" in the browser)."""
    return max(rows, 1) * step + extra


def pinned_ticks(data: pl.DataFrame, **encoding: Any) -> alt.Chart:
    """A pinned scenario's values as faint dark ticks, for a layer over the current bars (no colour: no
    legend entry). Give the layers one explicit sort order: a sort by field is dropped across data sources."""
    return alt.Chart(data).mark_tick(color=COLOURS["truth"], opacity=0.6, thickness=3).encode(**encoding)


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


# Dates on a time axis, per language: "Nov 2" / "2. Nov."
DAY_FORMAT = {"en": "%b %-d", "de": "%-d. %b"}


def day_format() -> str:
    """The d3 time format of a day on an axis in the language spoken ("Nov 2" / "2. Nov.")."""
    return DAY_FORMAT.get(words.language(), DAY_FORMAT[words.DEFAULT])


@functools.cache
def locale(lang: str) -> dict[str, Any]:
    """Vega's number and time locale for `lang` (d3-format / d3-time-format definitions), from Babel's data,
    so an axis reads "20.000" and "64 %" in German as the page's text does."""
    loc = Locale.parse(lang)
    sym = loc.number_symbols.get("latn", loc.number_symbols)
    percent = "\u00a0%" if " " in loc.percent_formats[None].pattern or "\u00a0" in loc.percent_formats[None].pattern else "%"
    months, days = loc.months["format"], loc.days["format"]
    return {
        "number": {"decimal": sym["decimal"], "thousands": sym["group"], "grouping": [3], "currency": ["", "\u00a0€"] if lang == "de" else ["$", ""],
                   "percent": percent, "minus": "\u2212"},
        "time": {"dateTime": "%x, %X", "date": "%d.%m.%Y" if lang == "de" else "%-m/%-d/%Y", "time": "%H:%M:%S" if lang == "de" else "%-I:%M:%S %p",
                 "periods": ["AM", "PM"],
                 # Vega counts days from Sunday, Babel from Monday
                 "days": [days["wide"][i] for i in (6, 0, 1, 2, 3, 4, 5)], "shortDays": [days["abbreviated"][i] for i in (6, 0, 1, 2, 3, 4, 5)],
                 "months": [months["wide"][i] for i in range(1, 13)],
                 "shortMonths": [loc.months["stand-alone"]["abbreviated"][i] for i in range(1, 13)]},
    }


def config(present: bool | None = None) -> dict[str, Any]:
    """The shared Vega-Lite config: font sizes for the reading distance, horizontal labels that wrap less,
    numbers and dates in the language spoken, never in scientific notation."""
    size = SIZES[presenting() if present is None else present]
    label, title = size["label"], size["title"]
    return {
        "locale": locale(words.language()),
        # Numbers without a format of their own: thousands grouped, no "2e+16", trailing zeros trimmed.
        "numberFormat": ",~f",
        "axis": {"labelFontSize": label, "titleFontSize": title, "labelLimit": 220, "labelAngle": 0},
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
    return (chart.properties(autosize=alt.AutoSizeParams(**cfg["autosize"])).configure(locale=cfg["locale"], numberFormat=cfg["numberFormat"])
            .configure_axis(**cfg["axis"]).configure_legend(**cfg["legend"]).configure_header(**cfg["header"])
            .configure_title(**cfg["title"]).configure_text(**cfg["text"]))


@dataclass(frozen=True)
class Drawn:
    """A chart not built yet: the builder and its arguments, and the digest `show` keys the spec by."""

    build: Callable[[], alt.TopLevelMixin]
    name: str
    digest: str


_DIGEST_KEY = os.urandom(32)  # the specs live in this process only: a key of its own, never written anywhere
_OWNER = cache.new_owner()
MAX_SPECS = 2000  # every chart of every page for many scenarios; the store's memory limit applies as well


def _feed(h: Any, value: Any) -> None:
    """Feed a builder argument's content to the digest: frames by their schema and row hashes, containers
    item by item, Altair objects by their dict, anything else by its repr (numbers, strings, None)."""
    if isinstance(value, pl.DataFrame):
        h.update(f"frame{value.shape}{value.schema}".encode())
        if value.height:
            try:
                h.update(value.hash_rows(seed=0).to_numpy().tobytes())
            except pl.exceptions.PolarsError:  # a column type without a row hash: its Arrow IPC bytes
                h.update(value.write_ipc(None).getvalue())
    elif isinstance(value, pl.Series):
        _feed(h, value.to_frame())
    elif isinstance(value, dict):
        h.update(f"dict{len(value)}".encode())
        for k, v in sorted(value.items(), key=lambda kv: repr(kv[0])):
            _feed(h, k)
            _feed(h, v)
    elif isinstance(value, list | tuple):
        h.update(f"{type(value).__name__}{len(value)}".encode())
        for v in value:
            _feed(h, v)
    elif isinstance(value, alt.SchemaBase):
        h.update(json.dumps(value.to_dict(validate=False), sort_keys=True, default=repr).encode())
    elif value is None or isinstance(value, str | int | float | bool):
        h.update(f"{type(value).__name__}:{value!r};".encode())
    else:
        raise TypeError(f"a @drawn chart's argument of type {type(value).__name__} has no digest")


def drawn(builder: Callable[P, alt.TopLevelMixin]) -> Callable[P, Drawn]:
    """Make a chart builder lazy: it returns a `Drawn` handle whose spec `show` computes once per content."""
    name = f"{builder.__module__}.{builder.__qualname__}"

    @functools.wraps(builder)
    def handle(*args: P.args, **kwargs: P.kwargs) -> Drawn:
        h = hashlib.blake2b(key=_DIGEST_KEY, digest_size=20)
        _feed(h, (args, kwargs))
        return Drawn(functools.partial(builder, *args, **kwargs), name, h.hexdigest())

    handle.build = builder  # type: ignore[attr-defined]  # the chart itself, for a caller that composes it
    return handle


def _spec(chart: alt.TopLevelMixin | Drawn, present: bool) -> dict[str, Any]:
    """The finished Vega-Lite spec, data as Arrow datasets, as Streamlit's altair_chart makes it."""
    built = chart.build() if isinstance(chart, Drawn) else chart
    return _convert_altair_to_vega_lite_spec(themed(built, present))  # type: ignore[arg-type]  # any top-level chart


def _copy(spec: dict[str, Any]) -> dict[str, Any]:
    """A spec Streamlit may change: Streamlit 1.67 changes only its top level (it sets `autosize` and moves the
    datasets out of a top-level copy), so the top level and the datasets' dict are copied and the rest is
    shared (a deep copy per chart per render cost more than drawing it; tests/test_chart_drawing.py keeps
    the cached spec unchanged across renders)."""
    return {k: (dict(v) if k == "datasets" else v) for k, v in spec.items()}


def show(chart: alt.TopLevelMixin | Drawn, *, key: str | None = None, where: Any = None) -> None:
    """Draw a chart in the shared theme, at the container's width (`where`: a column or container). A
    `Drawn` chart (from a `@drawn` builder) is built at most once per content, presenter mode and language."""
    present = presenting()
    if isinstance(chart, Drawn):
        entry = (_OWNER, chart.name, chart.digest, present, words.language())
        spec = cache.STORE.get_or_compute(entry, _OWNER, lambda: _spec(chart, present), ttl=cache.TTL_SECONDS,
                                          max_entries=MAX_SPECS)
    else:
        spec = _spec(chart, present)
    (where or st).vega_lite_chart(spec=_copy(spec), width="stretch", key=key)


def spec(raw: dict[str, Any]) -> dict[str, Any]:
    """A raw Vega-Lite spec (dict) with the shared config merged in, for st.vega_lite_chart."""
    cfg = config()
    own = raw.get("config", {})
    return raw | {"config": {k: {**v, **own.get(k, {})} if isinstance(v, dict) else v for k, v in cfg.items()} | {
        k: v for k, v in own.items() if k not in cfg}}
