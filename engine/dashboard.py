"""The screens of a web analytics tool (KPI strip, traffic over time, top rows per dimension), as each
rail would show them, with each row's error against the truth. Built on `engine.metrics.kpis`."""

from __future__ import annotations

import datetime as dt
from typing import TypedDict

import polars as pl

from engine import metrics
from engine.scenario import Scenario

Tables = metrics.Tables
SHOWN_RAILS = ("baseline", "fullstack", "modelled")  # what the page's rail switch offers
PRESETS = ("last 7 days", "last 30 days", "whole run")
# Rows smaller than this share of the truth's visitors are left out of the takeaway: a 3-visitor
# country off by 100% is noise, not a finding.
MIN_SHARE = 0.05


def run_days(scenario: Scenario) -> tuple[dt.date, dt.date]:
    """First and last UTC day of the run (its own dates, not today's)."""
    t = scenario.traffic
    return t.start_date, t.start_date + dt.timedelta(days=t.days - 1)


def preset_range(scenario: Scenario, preset: str) -> tuple[dt.date, dt.date]:
    """A date preset as whole UTC days, counted back from the run's last day and clipped to the run."""
    first, last = run_days(scenario)
    if preset == "whole run":
        return first, last
    n = {"last 7 days": 7, "last 30 days": 30}.get(preset)
    if n is None:
        raise ValueError(f"unknown preset {preset!r}; use one of {PRESETS}")
    return max(first, last - dt.timedelta(days=n - 1)), last


def _rail_of(rail: str) -> str:
    # The modelled estimate corrects only conversions; everything else it shows is the full stack's.
    return "fullstack" if rail == "modelled" else rail


def breakdown(tables: Tables, scenario: Scenario, by: str, metric: str, top: int | None = 10) -> pl.DataFrame:
    """One row per value of `by`: the metric per rail (truth, baseline, fullstack) and each rail's
    error vs the truth in %, from `metrics.kpis(by=...)`. A row a rail never saw counts 0 there
    (-100%); rows only a rail has (no truth) keep a null error. Sorted by the truth, top rows only."""
    long = metrics.kpis(tables, scenario, by).filter(pl.col("metric") == metric)
    wide = long.pivot(on="rail", index=by, values="value")
    for r in metrics.RAILS:
        if r not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Float64).alias(r))
    counted = metric not in ("bounce_rate", "conversion_rate")  # a missing rate is unknown, not 0
    wide = wide.with_columns(pl.col("baseline", "fullstack").fill_null(0) if counted else pl.col("baseline", "fullstack"))
    err = {
        f"{r}_error_pct": pl.when(pl.col("truth").fill_null(0) != 0).then((pl.col(r) - pl.col("truth")) / pl.col("truth") * 100)
        for r in ("baseline", "fullstack")
    }
    out = wide.with_columns(**err).sort("truth", descending=True, nulls_last=True)
    out = out.select(by, "truth", "baseline", "fullstack", "baseline_error_pct", "fullstack_error_pct")
    return out.head(top) if top else out


def daily(tables: Tables, scenario: Scenario, metric: str = "visitors") -> pl.DataFrame:
    """Traffic over time: day, rail, value (a visitor counted once per day; a session on its start day)."""
    k = metrics.kpis(tables, scenario, "day").filter(pl.col("metric") == metric)
    return k.select("day", "rail", "value").sort("day", "rail")


def strip(tables: Tables, scenario: Scenario, rail: str) -> pl.DataFrame:
    """The KPI strip for one rail: metric, value, truth, error_pct. For the modelled rail, conversions
    are the modelled estimate and the rest the full stack's (the model exists only for conversions)."""
    k = metrics.kpis(tables, scenario).filter(pl.col("rail") == _rail_of(rail))
    out = k.select("metric", "value", "truth", "error_pct", source=pl.lit(_rail_of(rail)))
    if rail == "modelled":
        m = metrics.modelled_conversions(tables, scenario)
        is_conv = pl.col("metric") == "conversions"
        out = out.with_columns(
            value=pl.when(is_conv).then(pl.lit(m["modelled"])).otherwise("value"),
            error_pct=pl.when(is_conv).then(pl.lit(m["error_pct"], dtype=pl.Float64)).otherwise("error_pct"),
            source=pl.when(is_conv).then(pl.lit("modelled")).otherwise("source"),
        )
    order = {m: i for i, m in enumerate(metrics.METRICS)}
    return out.sort(pl.col("metric").replace_strict(order, return_dtype=pl.Int32))


class Miss(TypedDict):
    dimension: str
    row: str
    truth: float
    value: float
    error_pct: float


def worst_rows(rows: dict[str, pl.DataFrame], rail: str, n: int = 2) -> list[Miss]:
    """The rows (across dimensions) where a rail's count is furthest from the truth, among rows holding
    at least MIN_SHARE of their dimension's truth; `rows` maps a dimension to its `breakdown`."""
    r = _rail_of(rail)
    found = []
    for dim, frame in rows.items():
        total = float(frame["truth"].fill_null(0).sum())
        big = frame.filter((pl.col("truth") >= MIN_SHARE * total) & pl.col(f"{r}_error_pct").is_not_null())
        found.append(big.select(
            dimension=pl.lit(dim), row=pl.col(dim).cast(pl.String), truth="truth", value=r, error_pct=f"{r}_error_pct"))
    if not found:
        return []
    allrows = pl.concat(found).sort(pl.col("error_pct").abs(), descending=True).head(n)
    return [Miss(**row) for row in allrows.iter_rows(named=True)]  # type: ignore[typeddict-item]


def most_misread(rows: pl.DataFrame, rail: str, by: str) -> str | None:
    """The row of a `breakdown` the rail gets furthest from the truth (any size), or None."""
    col = f"{_rail_of(rail)}_error_pct"
    found = rows.drop_nulls(col).sort(pl.col(col).abs(), descending=True)
    return str(found[by][0]) if found.height else None


# The rail column that shows a visitor-level dimension of the truth (pages and channels are per event).
RAIL_COLUMN = {"device": "device_class", "browser": "browser_family", "country": "country"}


class Whereabouts(TypedDict):
    dimension: str
    row: str
    true_visitors: int
    counted_here: int
    counted_elsewhere: int  # recorded by the rail, but never under this row
    elsewhere_as: str | None  # the row most of them were counted under instead
    elsewhere_truth: str | None  # the commonest true "os browser" among them
    unseen: int  # no row of theirs in the rail at all


def whereabouts(tables: Tables, rail: str, dim: str, row: str) -> Whereabouts | None:
    """Where the truth's visitors of one row went in a rail: counted under it, counted only under
    other values (a misread user agent, an IP placed in another country), or not recorded at all
    (no consent, a blocker). Rail rows are matched to the truth through event_id, which only the lab
    can do. None for a dimension the rail reads per event (pages, channels)."""
    col = RAIL_COLUMN.get(dim)
    if col is None:
        return None
    r = _rail_of(rail)
    ev = tables[f"{r}_events"]
    if r == "fullstack":
        ev = ev.filter(~pl.col("is_ping"))
    vis = tables["visitors"].select("visitor_id", dim, truth_of=pl.concat_str(["os", "browser"], separator=" "))
    truth = tables["truth_events"].select("event_id", "visitor_id", "person_id").join(vis, on="visitor_id").filter(
        pl.col(dim) == row)
    got = truth.join(ev.select("event_id", shown=pl.col(col).fill_null("unknown")), on="event_id", how="left")
    per = got.group_by("person_id").agg(
        here=(pl.col("shown") == row).any(),
        seen=pl.col("shown").is_not_null().any(),
        other=pl.col("shown").filter(pl.col("shown") != row).mode().sort().first(),
        truth_of=pl.col("truth_of").first(),
    )
    elsewhere = per.filter(pl.col("seen") & ~pl.col("here"))

    def commonest(c: str) -> str | None:
        counts = elsewhere.group_by(c).len().sort("len", c, descending=[True, False])
        return counts[c][0] if counts.height else None

    return Whereabouts(
        dimension=dim, row=row, true_visitors=per.height, counted_here=int(per["here"].sum()),
        counted_elsewhere=elsewhere.height, elsewhere_as=commonest("other"), elsewhere_truth=commonest("truth_of"),
        unseen=int((~per["seen"]).sum()),
    )
