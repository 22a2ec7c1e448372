"""KPIs per rail against the truth, the data-loss waterfall, and a modelled conversion estimate.

Every function takes the run's tables (polars frames, as `engine.pipeline` or `engine.store`
return them) and computes from them alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TypedDict

import polars as pl

from engine import datasets
from engine.scenario import Scenario

RAILS = ("truth", "baseline", "fullstack")
SESSION_GAP_US = 30 * 60 * 1_000_000  # the usual 30-minute inactivity rule for cookieless sessions
# region/device/channel come with every rail's core columns; the others are read only when asked for,
# so a caller that loaded only KPI_COLUMNS (the Runs page) can still ask for the first three.
EXTRA_DIMENSIONS = ("country", "browser", "path", "day")
DIMENSIONS = ("region", "device", "channel", *EXTRA_DIMENSIONS)
EVENT_TABLES = ("truth_events", "baseline_events", "fullstack_events")
METRICS = ("visitors", "sessions", "page_views", "bounce_rate", "conversions", "conversion_rate", "revenue")
# Counts a sampled full stack sees only a share of, so they scale back by 1 / sample rate (rates do not).
COUNT_METRICS = ("visitors", "sessions", "page_views", "conversions", "revenue")
Z95 = 1.959964

Tables = Mapping[str, pl.DataFrame]


# The columns kpi_table reads, so a caller loading a multi-million-event run from a store loads these, not all.
KPI_COLUMNS: dict[str, list[str]] = {
    "visitors": ["visitor_id", "region", "device"],
    "truth_events": ["visitor_id", "person_id", "session_id", "ts", "event", "revenue", "channel"],
    "baseline_events": ["visitor_hash", "ts", "event", "revenue", "country", "device_class", "channel"],
    "fullstack_events": ["device_id", "session_id", "is_ping", "ts", "event", "revenue", "country", "device_class", "channel",
                         "sample_rate"],
}


def sample_rate(tables: Tables) -> float:
    """The share of browsers the run's full stack kept (its sampling tier; 1.0 when it kept all)."""
    fs = tables["fullstack_events"]
    if "sample_rate" not in fs.columns or fs.height == 0:
        return 1.0
    rates = fs["sample_rate"].unique()
    if rates.len() != 1:
        raise ValueError(f"the full stack mixes sampling rates {sorted(rates.to_list())}; scale each part on its own")
    return float(rates[0])


def _region_of(country: pl.Expr) -> pl.Expr:
    return country.replace_strict(datasets.country_region(), default="unknown", return_dtype=pl.String)


def in_range(tables: Tables, start: dt.date, end: dt.date) -> dict[str, pl.DataFrame]:
    """The run's tables cut to the UTC days start..end (both included): events from start's midnight
    up to, not including, the midnight after end; visitors kept only if the truth saw them then."""
    lo = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    inside = pl.col("ts").is_between(pl.lit(lo), pl.lit(hi), closed="left")
    out = dict(tables)
    for name in EVENT_TABLES:
        out[name] = tables[name].filter(inside)
    if "visitors" in tables:
        out["visitors"] = tables["visitors"].join(out["truth_events"].select("visitor_id").unique(), on="visitor_id", how="semi")
    return out


def _extra(rail: str, dim: str) -> pl.Expr:
    """A dimension beyond the core ones, from the columns that rail stores (the truth's browser and
    country are the visitor's, which the truth events join in)."""
    if dim == "day":
        return pl.col("ts").dt.date().alias("day")
    col = {"country": "country", "path": "path", "browser": "browser" if rail == "truth" else "browser_family"}[dim]
    return pl.col(col).fill_null("unknown").alias(dim)


def rail_events(tables: Tables, rail: str, extra: Sequence[str] = ()) -> pl.DataFrame:
    """One rail's non-ping events in a common shape: user, session, ts, event, revenue, region,
    device, channel (the session's landing channel), as that rail itself can tell them; plus the
    `extra` dimensions asked for (country, browser, path, day)."""
    unknown = set(extra) - set(EXTRA_DIMENSIONS)
    if unknown:
        raise ValueError(f"unknown extra dimension {sorted(unknown)}; use {EXTRA_DIMENSIONS}")
    more = [_extra(rail, d) for d in extra]
    if rail == "truth":
        vcols = ["visitor_id", "region", "device", *(c for c in ("country", "browser") if c in extra)]
        v = tables["visitors"].select(vcols)
        return tables["truth_events"].join(v, on="visitor_id", how="left").select(
            pl.col("person_id").cast(pl.String).alias("user"),
            pl.col("session_id").cast(pl.String).alias("session"),
            "ts", "event", "revenue", "region", "device", "channel", *more,
        )
    if rail == "baseline":
        # Sessionise: a new session at every new visitor hash or after 30 idle minutes. One pass
        # over the sorted rows (a window inside a window was quadratic on big runs).
        ev = tables["baseline_events"].sort("visitor_hash", "ts")
        new = (pl.col("visitor_hash") != pl.col("visitor_hash").shift()).fill_null(True) | (
            pl.col("ts").diff().dt.total_microseconds() > SESSION_GAP_US
        )
        ev = ev.with_columns(session=pl.concat_str(["visitor_hash", new.cum_sum().cast(pl.String)], separator="#"))
        user = "visitor_hash"
    elif rail == "fullstack":
        ev = tables["fullstack_events"].filter(~pl.col("is_ping")).rename({"session_id": "session"})
        user = "device_id"
    else:
        raise ValueError(f"unknown rail {rail!r}; use one of {RAILS}")
    first = pl.col("channel").sort_by("ts").first().over("session")
    return ev.select(
        pl.col(user).alias("user"),
        "session",
        "ts",
        "event",
        "revenue",
        _region_of(pl.col("country")).alias("region"),
        pl.col("device_class").fill_null("unknown").alias("device"),
        first.fill_null("direct").alias("channel"),
        *more,
    )


def _kpis(ev: pl.DataFrame, conversion_event: str, by: list[str]) -> pl.DataFrame:
    # A session belongs to its first hit's value (landing page, start day), as analytics tools count it.
    sessions = ev.group_by("session").agg(n=pl.len(), **{k: pl.col(k).sort_by("ts").first() for k in by})
    per_session = sessions.group_by(by).agg(sessions=pl.len(), bounces=(pl.col("n") == 1).sum()) if by else sessions.select(
        sessions=pl.len(), bounces=(pl.col("n") == 1).sum()
    )
    agg = [
        pl.col("user").n_unique().alias("visitors"),
        (pl.col("event") == "page_view").sum().alias("page_views"),
        (pl.col("event") == conversion_event).sum().alias("conversions"),
        pl.col("revenue").sum().alias("revenue"),
    ]
    base = ev.group_by(by).agg(agg) if by else ev.select(agg)
    out = base.join(per_session, on=by, how="left") if by else pl.concat([base, per_session], how="horizontal")
    return out.with_columns(
        bounce_rate=pl.col("bounces") / pl.col("sessions"),
        conversion_rate=pl.col("conversions") / pl.col("sessions"),
    ).select(*by, *METRICS)


def rail_kpis(tables: Tables, scenario: Scenario, rail: str, by: str | None = None) -> pl.DataFrame:
    """One rail's part of `kpis`: [by,] metric, value, rail. The truth's depends only on the traffic and
    the baseline's on no consent knob, so a caller may keep those across consent knobs."""
    if by is not None and by not in DIMENSIONS:
        raise ValueError(f"unknown dimension {by!r}; use one of {DIMENSIONS}")
    keys = [by] if by else []
    extra = [by] if by in EXTRA_DIMENSIONS else []
    k = _kpis(rail_events(tables, rail, extra), datasets.site(scenario.site.kind)["conversion_event"], keys)
    rate = sample_rate(tables) if rail == "fullstack" else 1.0
    if rate < 1:  # a sampled full stack: counts scaled back to the whole traffic
        k = k.with_columns(pl.col(m).cast(pl.Float64) / rate for m in COUNT_METRICS)
    return k.unpivot(index=keys, on=list(METRICS), variable_name="metric", value_name="value").with_columns(
        pl.col("value").cast(pl.Float64), rail=pl.lit(rail)
    )


def kpis(tables: Tables, scenario: Scenario, by: str | None = None, known: Mapping[str, pl.DataFrame] | None = None) -> pl.DataFrame:
    """Long table: [by,] metric, rail, value, truth, error_pct (rail vs truth, in %). `known`: rails'
    `rail_kpis` the caller already has (the same tables and `by`), not computed again."""
    keys = [by] if by else []
    if by is not None and by not in DIMENSIONS:
        raise ValueError(f"unknown dimension {by!r}; use one of {DIMENSIONS}")
    known = known or {}
    long = pl.concat([known[rail] if rail in known else rail_kpis(tables, scenario, rail, by) for rail in RAILS])
    truth = long.filter(pl.col("rail") == "truth").select(*keys, "metric", truth="value")
    out = long.join(truth, on=[*keys, "metric"], how="left").with_columns(
        error_pct=pl.when(pl.col("truth").fill_null(0) != 0).then((pl.col("value").fill_null(0) - pl.col("truth")) / pl.col("truth") * 100)
    )
    return out.select(*keys, "metric", "rail", "value", "truth", "error_pct").sort([*keys, "metric", "rail"])


def kpi_table(tables: Tables, scenario: Scenario, known: Mapping[str, pl.DataFrame] | None = None) -> pl.DataFrame:
    """Wide headline table: metric, truth, baseline, fullstack, modelled and their errors in %
    (`known`: as in `kpis`)."""
    long = kpis(tables, scenario, known=known)
    wide = long.pivot(on="rail", index="metric", values="value")
    err = long.filter(pl.col("rail") != "truth").pivot(on="rail", index="metric", values="error_pct")
    err = err.rename({c: f"{c}_error_pct" for c in err.columns if c != "metric"})
    model = modelled_conversions(tables, scenario)
    out = wide.join(err, on="metric").with_columns(
        modelled=pl.when(pl.col("metric") == "conversions").then(pl.lit(model["modelled"])),
        modelled_error_pct=pl.when(pl.col("metric") == "conversions").then(pl.lit(model["error_pct"])),
    )
    order = {m: i for i, m in enumerate(METRICS)}
    return out.sort(pl.col("metric").replace_strict(order, return_dtype=pl.Int32)).select(
        "metric", "truth", "baseline", "fullstack", "modelled", "baseline_error_pct", "fullstack_error_pct", "modelled_error_pct"
    )


def sampling_error(tables: Tables, scenario: Scenario) -> pl.DataFrame:
    """The full stack's scaled counts with the error sampling adds: metric, value (scaled back),
    observed (in the sample), se, ci_low, ci_high (95 %). Horvitz-Thompson variance of a Poisson sample
    of browsers, clustered by device id: se^2 = (1 - p) / p^2 * sum over sampled devices of y^2. Zero at 100 %."""
    conv = datasets.site(scenario.site.kind)["conversion_event"]
    p = sample_rate(tables)
    per_user = rail_events(tables, "fullstack").group_by("user").agg(
        visitors=pl.lit(1.0).first(),
        sessions=pl.col("session").n_unique().cast(pl.Float64),
        page_views=(pl.col("event") == "page_view").sum().cast(pl.Float64),
        conversions=(pl.col("event") == conv).sum().cast(pl.Float64),
        revenue=pl.col("revenue").fill_null(0).sum(),
    )
    # Sessions of a device are counted per device here; _kpis counts distinct sessions overall (the same number,
    # as a session id belongs to one device).
    sums = per_user.select(
        *(pl.col(m).sum().alias(m) for m in COUNT_METRICS), *(pl.col(m).pow(2).sum().alias(f"{m}_sq") for m in COUNT_METRICS)
    ).row(0, named=True)
    rows = []
    for m in COUNT_METRICS:
        observed = float(sums[m] or 0.0)
        se = ((1 - p) / p**2 * float(sums[f"{m}_sq"] or 0.0)) ** 0.5
        value = observed / p
        rows.append({"metric": m, "value": value, "observed": observed, "se": se,
                     "ci_low": max(value - Z95 * se, 0.0), "ci_high": value + Z95 * se})
    return pl.DataFrame(rows).with_columns(sample_rate=pl.lit(p))


class SamplingNoise(TypedDict):
    rate: float  # share of browsers the full stack kept
    metric: str
    value: float  # the full stack's scaled count
    truth: float
    half_width: float  # half the 95 % interval sampling adds
    share_of_gap: float | None  # half_width / |value - truth|; None when there is no gap


def sampling_noise(tables: Tables, scenario: Scenario, metric: str = "visitors") -> SamplingNoise:
    """How much of the full stack's gap to the truth in `metric` (a count) sampling noise could explain."""
    if metric not in COUNT_METRICS:
        raise ValueError(f"sampling noise is about counts; use one of {COUNT_METRICS}")
    err = sampling_error(tables, scenario).filter(pl.col("metric") == metric).row(0, named=True)
    truth = float(rail_kpis(tables, scenario, "truth").filter(pl.col("metric") == metric)["value"][0])
    half = Z95 * float(err["se"])
    gap = abs(float(err["value"]) - truth)
    return {"rate": float(err["sample_rate"]), "metric": metric, "value": float(err["value"]), "truth": truth,
            "half_width": half, "share_of_gap": half / gap if gap else None}


def visitor_outcomes(tables: Tables, scenario: Scenario) -> pl.DataFrame:
    """Per truth visitor: did analytics end up granted, and were they blocked."""
    defaults = scenario.consent.defaults.model_dump()
    v = tables["visitors"]
    default_granted = pl.col("region").replace_strict({k: val == "granted" for k, val in defaults.items()}, return_dtype=pl.Boolean)
    decided = pl.col("consent_choice").is_in(["accept_all", "custom", "reject_all", "gpc"])
    granted = pl.when(decided).then(pl.col("consent_choice").is_in(["accept_all", "custom"])).otherwise(default_granted)
    blocked = pl.col("adblock") & (not scenario.rails.server_side_proxy)
    return v.select("visitor_id", "consent_choice", granted=granted, blocked=blocked, decided=decided, default_granted=default_granted)


def waterfall(tables: Tables, scenario: Scenario) -> pl.DataFrame:
    """From truth visitors to the visitors (device ids) the full stack observes, step by step."""
    o = visitor_outcomes(tables, scenario)
    total = o.height
    no_decision = o.filter(~pl.col("decided") & ~pl.col("default_granted")).height
    rejected = o.filter(pl.col("decided") & ~pl.col("granted")).height
    blocked = o.filter(pl.col("granted") & pl.col("blocked")).height
    reached = total - no_decision - rejected - blocked
    fs = tables["fullstack_events"]
    # A sampled full stack's count is scaled back like every other count (metrics.kpis).
    observed = round(fs.filter(~pl.col("is_ping"))["device_id"].n_unique() / sample_rate(tables))
    steps = [
        ("truth visitors", total, total),
        ("no decision (default denied)", -no_decision, total - no_decision),
        ("rejected (incl. GPC)", -rejected, total - no_decision - rejected),
        ("blocked by ad blocker", -blocked, reached),
        ("identity split (cookie resets)", observed - reached, observed),
        ("observed by the full stack", observed, observed),
    ]
    return pl.DataFrame(steps, schema={"step": pl.String, "change": pl.Int64, "running": pl.Int64}, orient="row")


class ModelledConversions(TypedDict):
    modelled: float  # estimated from the full stack
    truth: int
    observed: int  # what the full stack saw (pings excluded), scaled back by its sampling rate
    error_pct: float | None  # modelled vs truth; None without true conversions


def modelled_conversions(tables: Tables, scenario: Scenario) -> ModelledConversions:
    """Total conversions estimated from the full stack (+ cookieless pings), scaled per stratum
    (region x device class) by the page views the server-side baseline saw; error vs truth."""
    conv = datasets.site(scenario.site.kind)["conversion_event"]
    strata = ["region", "device"]
    fs = tables["fullstack_events"].with_columns(region=_region_of(pl.col("country")), device=pl.col("device_class"))
    seen = fs.group_by(strata).agg(pv_seen=(pl.col("event") == "page_view").sum(), conv_seen=(pl.col("event") == conv).sum())
    base = tables["baseline_events"].with_columns(region=_region_of(pl.col("country")), device=pl.col("device_class"))
    allpv = base.group_by(strata).agg(pv_all=(pl.col("event") == "page_view").sum())
    j = allpv.join(seen, on=strata, how="left").fill_null(0)
    # Strata the full stack never saw get the overall conversion-per-page-view ratio.
    overall = int(j["conv_seen"].sum()) / max(int(j["pv_seen"].sum()), 1)  # counts of page views and conversions
    est = j.select(
        pl.when(pl.col("pv_seen") > 0).then(pl.col("conv_seen") * pl.col("pv_all") / pl.col("pv_seen")).otherwise(pl.col("pv_all") * overall)
    ).to_series().sum()
    truth = int((tables["truth_events"]["event"] == conv).sum())
    return {
        "modelled": float(est),
        "truth": truth,
        "observed": round(int(fs.filter(~pl.col("is_ping"))["event"].eq(conv).sum()) / sample_rate(tables)),
        "error_pct": (float(est) - truth) / truth * 100 if truth else None,
    }
