"""What consent does to the numbers: consent rates by banner and by visitor trait, full-stack KPIs
of two banners on the same visitors, Consent Mode basic vs advanced (pings, modelled conversions,
GA4's modelling thresholds), the consent bias in conversion rates, and funnels broken down by
truth-side traits.

Pure functions on a run's tables (polars frames) or its traffic; no Streamlit, no I/O.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any, get_args

import polars as pl

from engine import datasets
from engine.funnel import scale_fullstack_counts, window_funnel
from engine.metrics import RAILS, modelled_conversions, sample_rate
from engine.pipeline import decisions
from engine.scenario import Banner, ConsentConfig, Scenario
from engine.truth import Traffic

Tables = Mapping[str, pl.DataFrame]

BANNERS: tuple[str, ...] = get_args(Banner)
CHOICE_ORDER = ("accept_all", "custom", "reject_all", "gpc", "ignored", "no_banner")
DECIDED = ("accept_all", "custom", "reject_all")  # answered the banner (GPC is automatic, not a banner answer)
CONSENTING = ("accept_all", "custom")  # said yes to analytics on the banner
COMPARED_METRICS = ("visitors", "sessions", "conversions", "revenue")
BREAKDOWN_DIMS = ("device", "region", "consent_choice")


def published_accept_rate(banner: str) -> float | None:
    """Didomi's accept-all rate among deciders for a banner design; None where none is published."""
    value = datasets.calibration()["consent"]["accept_rate_given_decision"].get(banner)
    return float(value) if isinstance(value, int | float) else None


# --- consent rates ----------------------------------------------------------------------------


def consent_rates(decisions: pl.DataFrame, visitors: pl.DataFrame | None = None, by: str | None = None) -> pl.DataFrame:
    """Per group (or overall): visitors, the share of each choice, the analytics-granted share,
    deciders (banner answers) and the accept-all rate among them.

    `decisions` is `engine.consent.decide`'s output; `visitors` supplies the `by` column."""
    frame = decisions
    keys = [by] if by else []
    if by is not None:
        if visitors is None:
            raise ValueError("a breakdown needs the visitors table")
        frame = decisions.join(visitors.select("visitor_id", by), on="visitor_id", how="left")
    aggs = [
        pl.len().alias("visitors"),
        *[(pl.col("choice") == c).mean().alias(c) for c in CHOICE_ORDER],
        pl.col("analytics_storage").mean().alias("analytics_granted"),
        pl.col("choice").is_in(DECIDED).sum().alias("deciders"),
        (pl.col("choice") == "accept_all").sum().alias("_accepted"),
    ]
    out = frame.group_by(keys).agg(aggs).sort(keys) if keys else frame.select(aggs)
    return out.with_columns(
        accept_rate_deciders=pl.when(pl.col("deciders") > 0).then(pl.col("_accepted") / pl.col("deciders"))
    ).drop("_accepted")


def rates_by_banner(traffic: Traffic, cfg: ConsentConfig, banners: Sequence[str] = BANNERS) -> pl.DataFrame:
    """Consent rates of every banner design on the same visitors (their fixed draws), with the
    published accept rate among deciders beside the simulated one."""
    frames = [
        consent_rates(decisions(traffic, cfg.model_copy(update={"banner": b}))).select(
            pl.lit(b).alias("banner"), pl.all(), published_accept_rate=pl.lit(published_accept_rate(b), pl.Float64)
        )
        for b in banners
    ]
    return pl.concat(frames)


def shares_long(rates: pl.DataFrame, by: str) -> pl.DataFrame:
    """The choice shares of a `consent_rates` table as rows (by, choice, share, order), for stacked bars."""
    order = {c: i for i, c in enumerate(CHOICE_ORDER)}
    return (
        rates.unpivot(index=by, on=list(CHOICE_ORDER), variable_name="choice", value_name="share")
        .filter(pl.col("share") > 0)
        .with_columns(order=pl.col("choice").replace_strict(order, return_dtype=pl.Int32))
    )


# --- two banners, same visitors ----------------------------------------------------------------


def fullstack_comparison(kpi_a: pl.DataFrame, kpi_b: pl.DataFrame,
                         metrics: Sequence[str] = COMPARED_METRICS) -> pl.DataFrame:
    """Full-stack KPIs of two scenarios (`metrics.kpi_table` outputs) next to their common truth.

    Raises ValueError if the truths differ: the comparison only means something on the same visitors."""
    a = kpi_a.filter(pl.col("metric").is_in(list(metrics))).select("metric", "truth", a="fullstack", a_error_pct="fullstack_error_pct")
    b = kpi_b.filter(pl.col("metric").is_in(list(metrics))).select("metric", truth_b="truth", b="fullstack", b_error_pct="fullstack_error_pct")
    out = a.join(b, on="metric", how="inner")
    gap, scale = out.select(gap=(pl.col("truth") - pl.col("truth_b")).abs().max(), scale=pl.col("truth").abs().max()).row(0)
    if out.height != len(metrics) or gap > 1e-9 * max(scale, 1):
        raise ValueError("the two scenarios do not share the same truth (different visitors)")
    order = {m: i for i, m in enumerate(metrics)}
    return out.drop("truth_b").with_columns(b_minus_a=pl.col("b") - pl.col("a")).sort(
        pl.col("metric").replace_strict(order, return_dtype=pl.Int32)
    )


# --- Consent Mode basic vs advanced -------------------------------------------------------------


def consent_mode_summary(runs: Mapping[str, Tables], scenario: Scenario,
                         thresholds: Mapping[str, Any] | None = None) -> pl.DataFrame:
    """Per Consent Mode (key of `runs`): cookieless pings, conversions the full stack observed,
    the modelled estimate, both errors vs the truth (in %) and whether GA4's behavioural-modelling
    thresholds would be met (`ga4_verdict`; the calibration's values unless `thresholds` given)."""
    thresholds = thresholds or datasets.calibration()["consent_mode"]["ga4_modelling_thresholds"]
    per_day = scenario.traffic.visitors / scenario.traffic.days
    rows = []
    for mode, tables in runs.items():
        m = modelled_conversions(tables, scenario)
        truth = m["truth"] or 0
        verdict = ga4_verdict(ga4_daily(tables["fullstack_events"]), thresholds, per_day, scenario.traffic.days)
        rows.append({
            "mode": mode,
            "pings": int(tables["fullstack_events"]["is_ping"].sum()),
            "observed_conversions": m["observed"],
            "modelled_conversions": m["modelled"],
            "truth_conversions": truth,
            "observed_error_pct": (m["observed"] - truth) / truth * 100 if truth else None,
            "modelled_error_pct": m["error_pct"],
            "denied_days": verdict["denied_days"],
            "granted_days": verdict["granted_days"],
            "ga4_thresholds_met": verdict["met"],
        })
    return pl.DataFrame(rows, schema={"mode": pl.String, "pings": pl.Int64, "observed_conversions": pl.Int64,
                                      "modelled_conversions": pl.Float64, "truth_conversions": pl.Int64,
                                      "observed_error_pct": pl.Float64, "modelled_error_pct": pl.Float64,
                                      "denied_days": pl.Int64, "granted_days": pl.Int64, "ga4_thresholds_met": pl.Boolean})


def ga4_daily(fullstack_events: pl.DataFrame) -> pl.DataFrame:
    """Per date: events with analytics denied (the cookieless pings) and users with analytics
    granted (distinct device ids), as GA4 would count them for behavioural modelling."""
    return (
        fullstack_events.group_by("date")
        .agg(denied_events=pl.col("is_ping").sum().cast(pl.Int64),
             granted_users=pl.col("device_id").filter(~pl.col("is_ping")).drop_nulls().n_unique().cast(pl.Int64))
        .sort("date")
    )


def _factor(values: pl.Series, threshold: float, days: int) -> float:
    """Traffic multiple at which `days` of these daily values reach `threshold` (inf if none can)."""
    top = values.sort(descending=True).head(days)
    kth = float(top[-1]) if top.len() else 0.0
    return threshold / kth if kth > 0 else math.inf


def ga4_verdict(daily: pl.DataFrame, thresholds: Mapping[str, Any], visitors_per_day: float,
                run_days: int | None = None) -> dict[str, Any]:
    """Whether GA4's behavioural-modelling prerequisites hold on `ga4_daily` output, and from about
    how many visitors a day they would (scaling the run's best days linearly).

    `run_days` is the run's length (default: the dates in `daily`); sessions spilling past the
    last midnight add a partial date that must not count as a day of traffic. A run shorter than
    the required number of days can never meet them, whatever its size."""
    d_min, d_days = thresholds["denied_events_per_day"], thresholds["denied_days"]
    g_min, g_days, window = thresholds["granted_users_per_day"], thresholds["granted_days_of_last_28"], 28
    run_days = run_days or daily.height
    last = daily.filter(pl.col("date") > pl.col("date").max() - dt.timedelta(days=window)) if daily.height else daily
    denied_days = int((daily["denied_events"] >= d_min).sum())
    granted_days = int((last["granted_users"] >= g_min).sum())
    f_denied = _factor(daily["denied_events"], d_min, min(d_days, run_days))
    f_granted = _factor(last["granted_users"], g_min, min(g_days, run_days))
    factor = max(f_denied, f_granted)
    return {
        "days": run_days,
        "denied_days": denied_days,
        "granted_days": granted_days,
        "denied_ok": denied_days >= d_days,
        "granted_ok": granted_days >= g_days,
        "met": denied_days >= d_days and granted_days >= g_days,
        "long_enough": run_days >= max(d_days, g_days),
        "visitors_per_day": visitors_per_day,
        "visitors_per_day_needed": None if math.isinf(factor) else math.ceil(visitors_per_day * factor),
        "missing": "denied" if math.isinf(f_denied) else "granted" if math.isinf(f_granted) else None,
    }


# --- the consent bias ---------------------------------------------------------------------------


def conversion_by_consent(visitors: pl.DataFrame, truth_events: pl.DataFrame, conversion_event: str,
                          consenting: Sequence[str] = CONSENTING) -> pl.DataFrame:
    """Truth-side, per visitor: share converting (at least one conversion event) per consent
    choice, for consenting and not-consenting visitors and for everyone; ratio vs everyone."""
    converted = truth_events.group_by("visitor_id").agg(converted=(pl.col("event") == conversion_event).any())
    v = visitors.select("visitor_id", "consent_choice").join(converted, on="visitor_id", how="left").with_columns(
        pl.col("converted").fill_null(False), consenting=pl.col("consent_choice").is_in(list(consenting))
    )
    agg = [pl.len().alias("visitors"), pl.col("converted").sum().cast(pl.Int64).alias("converters")]
    groups = pl.concat([
        v.group_by(group="consent_choice").agg(agg).sort("group"),
        v.group_by("consenting").agg(agg).select(
            pl.when(pl.col("consenting")).then(pl.lit("consenting")).otherwise(pl.lit("not consenting")).alias("group"), "visitors", "converters"
        ).sort("group"),
        v.select(pl.lit("everyone").alias("group"), *agg),
    ], how="vertical_relaxed")
    rate = pl.col("converters") / pl.col("visitors")
    everyone = v["converted"].mean() if v.height else None
    return groups.with_columns(conversion_rate=rate).with_columns(
        ratio_vs_everyone=pl.col("conversion_rate") / everyone if everyone else pl.lit(None, pl.Float64)
    )


def bias_ratios(table: pl.DataFrame) -> dict[str, float | None]:
    """From `conversion_by_consent`: consenting vs everyone and consenting vs not consenting."""
    rate = dict(zip(table["group"], table["conversion_rate"], strict=True))

    def ratio(a: str, b: str) -> float | None:
        return rate[a] / rate[b] if rate.get(a) is not None and rate.get(b) else None

    return {"vs_everyone": ratio("consenting", "everyone"), "vs_not_consenting": ratio("consenting", "not consenting")}


# --- funnels broken down by truth-side traits ----------------------------------------------------


def rail_user_events(tables: Tables, rail: str) -> pl.DataFrame:
    """event_id, user_id (the rail's own id: visitor id, daily visitor hash, device cookie), ts,
    event. Full-stack pings carry no id and are left out (as in `engine.funnel.rail_funnels`)."""
    if rail == "truth":
        ev, user = tables["truth_events"], pl.col("person_id").cast(pl.String)
    elif rail == "baseline":
        ev, user = tables["baseline_events"], pl.col("visitor_hash")
    elif rail == "fullstack":
        ev, user = tables["fullstack_events"].filter(~pl.col("is_ping")), pl.col("device_id")
    else:
        raise ValueError(f"unknown rail {rail!r}; use one of {RAILS}")
    return ev.select("event_id", user.alias("user_id"), "ts", "event").drop_nulls("user_id")


def funnel_breakdown(tables: Tables, steps: Sequence[str], window_seconds: float,
                     dims: Sequence[str] = BREAKDOWN_DIMS) -> pl.DataFrame:
    """Funnel per rail and per value of each truth-side visitor trait in `dims`.

    Each rail user is counted under the trait of the truth visitor behind their first event
    (rail row -> event_id -> truth_events -> visitors). Long: rail, dimension, value, step,
    event, users, conversion_from_start, conversion_from_previous, drop_off (a sampled full stack's
    users and drop-off scaled back by its sampling rate)."""
    steps = list(steps)
    link = tables["truth_events"].select("event_id", "visitor_id").join(
        tables["visitors"].select("visitor_id", *dims), on="visitor_id", how="left"
    )
    frames = []
    for rail in RAILS:
        ev = rail_user_events(tables, rail)
        levels = window_funnel(ev.select("user_id", "ts", "event"), steps, window_seconds)
        first = ev.sort("ts").unique("user_id", keep="first").join(link, on="event_id", how="left")
        users = levels.join(first.select("user_id", *dims), on="user_id", how="left")
        for dim in dims:
            counts = users.group_by(value=pl.col(dim).cast(pl.String).fill_null("unknown")).agg(
                [(pl.col("level") >= k).sum().cast(pl.Int64).alias(str(k)) for k in range(1, len(steps) + 1)]
            )
            frames.append(counts.unpivot(index="value", variable_name="step", value_name="users").select(
                pl.lit(rail).alias("rail"), pl.lit(dim).alias("dimension"), "value", pl.col("step").cast(pl.Int64), "users"
            ))
    long = pl.concat(frames).sort("rail", "dimension", "value", "step")
    grp = ["rail", "dimension", "value"]
    first_users = pl.col("users").first().over(grp)
    prev = pl.col("users").shift(1).over(grp).fill_null(pl.col("users"))
    out = long.with_columns(
        event=pl.col("step").replace_strict(dict(enumerate(steps, start=1)), return_dtype=pl.String),
        conversion_from_start=pl.when(first_users > 0).then(pl.col("users") / first_users).otherwise(0.0),
        conversion_from_previous=pl.when(prev > 0).then(pl.col("users") / prev).otherwise(0.0),
        drop_off=prev - pl.col("users"),
    ).select("rail", "dimension", "value", "step", "event", "users", "conversion_from_start", "conversion_from_previous", "drop_off")
    return scale_fullstack_counts(out, sample_rate(tables), ("users", "drop_off"))


def missing_steps(tables: Tables, steps: Sequence[str]) -> dict[str, list[str]]:
    """Per rail, the funnel steps whose event that rail never records (the baseline keeps only
    page views and server-known events), so a zero there is blindness, not drop-off."""
    out = {}
    for rail in RAILS:
        seen = set(rail_user_events(tables, rail)["event"].unique().to_list())
        if missing := [s for s in steps if s not in seen]:
            out[rail] = missing
    return out


def describe_ga4(verdict: Mapping[str, Any], thresholds: Mapping[str, Any]) -> str:
    """One or two plain sentences on a `ga4_verdict`: met or not, and from what traffic it would be."""
    d_min, d_days = thresholds["denied_events_per_day"], thresholds["denied_days"]
    g_min, g_days = thresholds["granted_users_per_day"], thresholds["granted_days_of_last_28"]
    counts = (f"{verdict['denied_days']} days with ≥{d_min:,} denied events (needs {d_days}) and "
              f"{verdict['granted_days']} days with ≥{g_min:,} granted users (needs {g_days} of the last 28)")
    text = f"{'This run meets them' if verdict['met'] else 'This run does not meet them'}: {counts}."
    per_day, needed = verdict["visitors_per_day"], verdict["visitors_per_day_needed"]
    if needed is None:
        who = "events with analytics denied" if verdict["missing"] == "denied" else "users with analytics granted"
        return text + f" No {who} reach the full stack, so no traffic volume would be enough."
    about = math.ceil(needed / 100) * 100
    size = f" Scaling this run's daily counts, they hold from about {about:,} new visitors a day (this run: {per_day:,.0f} a day)"
    if verdict["met"] and needed > 0.9 * per_day:
        size = " It is a narrow call." + size
    if not verdict["long_enough"]:
        size += f", and only in a run of at least {max(d_days, g_days)} days"
    return text + size + "."
