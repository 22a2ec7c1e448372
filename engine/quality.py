"""Data quality per rail, in one implementation: DuckDB SQL over a run's frames (registered in an
in-memory connection) or over a store's tables (the collector). Capture against the truth, duplicate
rate, missing-field rate per field, late arrival (receive time - event time) and clock skew
(client clock - event time).

The full stack's client clock and delivery delay are simulated from assumptions (datasets/
calibration.toml [quality]); the baseline runs on the site's server, so its event time is the
server's own clock on arrival: it has no client clock and nothing arrives late.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import duckdb
import polars as pl

from engine import datasets
from engine.schema import columns

RAIL_TABLES = {"baseline": "baseline_events", "fullstack": "fullstack_events"}
# Buckets of a delay or a clock offset, upper bounds in seconds.
BUCKETS: tuple[tuple[float, str], ...] = (
    (1.0, "under 1 s"), (10.0, "1–10 s"), (60.0, "10 s–1 min"), (300.0, "1–5 min"),
    (3600.0, "5 min–1 h"), (86400.0, "1 h–1 day"), (math.inf, "over 1 day"),
)
SUMMARY_COLUMNS = ("rail", "rows", "duplicate_rate", "late_share", "delay_p50_s", "delay_p90_s", "delay_p99_s",
                   "skew_abs_p50_s", "skew_abs_p99_s", "skew_over_1s_share", "skew_over_1h_share")
_SUMMARY_SCHEMA = {"rail": pl.String, "rows": pl.Int64, **{c: pl.Float64 for c in SUMMARY_COLUMNS[2:]}}


def late_after_s() -> float:
    """Seconds after the event beyond which a hit counts as late (an assumption, see calibration)."""
    return float(datasets.calibration()["quality"]["delivery_delay"]["late_after_s"])


@dataclass(frozen=True)
class QualityReport:
    summary: pl.DataFrame  # SUMMARY_COLUMNS, one row per rail
    missing: pl.DataFrame  # rail, field, missing_rate
    timing: pl.DataFrame  # rail, measure ("delay" or "clock skew"), bucket, order, events, share
    capture: pl.DataFrame  # rail, event ("all" first), truth, recorded, capture_rate (empty without a truth)


def _where(run_id: str | None) -> tuple[str, dict[str, object]]:
    return ("WHERE run_id = $run", {"run": run_id}) if run_id else ("", {})


def _seconds(a: str, b: str) -> str:
    return f'(epoch_us("{a}") - epoch_us("{b}")) / 1e6'


def _summary(cur: duckdb.DuckDBPyConnection, rail: str, rel: str, present: set[str], run_id: str | None,
             late_s: float, server_clock: bool) -> dict[str, object]:
    where, params = _where(run_id)
    timed = {"received_at", "client_ts"} <= present
    delay, skew = _seconds("received_at", "ts"), f'abs({_seconds("client_ts", "ts")})'
    parts = ["count(*) AS rows", "count(*) - count(DISTINCT event_id) AS dups"]
    if timed:
        parts += [
            f"count(*) FILTER (WHERE {delay} > $late) AS late",
            "count(received_at) AS n_received",
            f"quantile_cont({delay}, [0.5, 0.9, 0.99]) AS dq",
            f"quantile_cont({skew}, [0.5, 0.99]) AS sq",
            f"count(*) FILTER (WHERE {skew} > 1) AS s1",
            f"count(*) FILTER (WHERE {skew} > 3600) AS s3600",
            "count(client_ts) AS n_client",
        ]
        params = {**params, "late": late_s}
    row = cur.execute(f'SELECT {", ".join(parts)} FROM "{rel}" {where}', params or None).fetchall()[0]
    n = int(row[0])
    out: dict[str, object] = {c: None for c in SUMMARY_COLUMNS}
    out.update(rail=rail, rows=n, duplicate_rate=(int(row[1]) / n) if n else None)
    if timed:
        late, n_received, dq, sq, s1, s3600, n_client = row[2:]
        if n_received:
            out.update(late_share=late / n_received, delay_p50_s=dq[0], delay_p90_s=dq[1], delay_p99_s=dq[2])
        if n_client:
            out.update(skew_abs_p50_s=sq[0], skew_abs_p99_s=sq[1], skew_over_1s_share=s1 / n_client,
                       skew_over_1h_share=s3600 / n_client)
    elif n and server_clock:
        # Server side: the event time is the server's clock on arrival. Not at the collector, whose
        # baseline keeps the event's own timestamp and no receive time: there its delay is unknown (None).
        out.update(late_share=0.0, delay_p50_s=0.0, delay_p90_s=0.0, delay_p99_s=0.0)
    return out


def _missing(cur: duckdb.DuckDBPyConnection, rail: str, rel: str, fields: Iterable[str], run_id: str | None) -> pl.DataFrame:
    where, params = _where(run_id)
    fields = list(fields)
    counts = ", ".join(f'count("{f}")' for f in fields)
    row = cur.execute(f'SELECT count(*), {counts} FROM "{rel}" {where}', params or None).fetchall()[0]
    n = int(row[0])
    return pl.DataFrame(
        {"rail": rail, "field": fields, "missing_rate": [(1 - int(c) / n) if n else None for c in row[1:]]},
        schema={"rail": pl.String, "field": pl.String, "missing_rate": pl.Float64},
    )


def _bucket_sql(expr: str) -> str:
    whens = " ".join(f"WHEN {expr} < {hi} THEN {i}" for i, (hi, _) in enumerate(BUCKETS) if math.isfinite(hi))
    return f"CASE {whens} ELSE {len(BUCKETS) - 1} END"


def _timing(cur: duckdb.DuckDBPyConnection, rail: str, rel: str, present: set[str], run_id: str | None) -> pl.DataFrame:
    schema = {"rail": pl.String, "measure": pl.String, "bucket": pl.String, "order": pl.Int32, "events": pl.Int64, "share": pl.Float64}
    if not {"received_at", "client_ts"} <= present:
        return pl.DataFrame(schema=schema)
    where, params = _where(run_id)
    parts = []
    for measure, col, expr in (("delay", "received_at", _seconds("received_at", "ts")),
                               ("clock skew", "client_ts", f'abs({_seconds("client_ts", "ts")})')):
        cond = f'{where + " AND" if where else "WHERE"} "{col}" IS NOT NULL'
        counts = cur.sql(f'SELECT {_bucket_sql(expr)} AS "order", count(*) AS events FROM "{rel}" {cond} GROUP BY 1',
                         params=params or None).pl()
        full = pl.DataFrame({"order": list(range(len(BUCKETS))), "bucket": [b for _, b in BUCKETS]},
                            schema={"order": pl.Int32, "bucket": pl.String})
        j = full.join(counts.cast({"order": pl.Int32, "events": pl.Int64}), on="order", how="left").fill_null(0)
        total = int(j["events"].sum())
        parts.append(j.with_columns(rail=pl.lit(rail), measure=pl.lit(measure),
                                    share=pl.col("events") / total if total else pl.lit(None, pl.Float64)))
    return pl.concat(parts).select(list(schema)).cast(schema)  # type: ignore[arg-type]


def _capture(cur: duckdb.DuckDBPyConnection, rail: str, rel: str) -> pl.DataFrame:
    q = f"""
        WITH t AS (SELECT event_id, event FROM "_truth"),
             r AS (SELECT DISTINCT event_id FROM "{rel}"),
             j AS (SELECT t.event, (r.event_id IS NOT NULL) AS hit FROM t LEFT JOIN r USING (event_id))
        SELECT coalesce(event, 'all') AS event, count(*) AS truth, count(*) FILTER (WHERE hit) AS recorded
        FROM j GROUP BY ROLLUP (event)"""
    out = cur.sql(q).pl().with_columns(rail=pl.lit(rail), capture_rate=pl.col("recorded") / pl.col("truth"))
    return out.sort(pl.col("event") != "all", "event").select("rail", "event", "truth", "recorded", "capture_rate")


def _report(cur: duckdb.DuckDBPyConnection, relations: Mapping[str, tuple[str, set[str]]], run_id: str | None,
            with_truth: bool) -> QualityReport:
    """`with_truth`: a simulated run (capture against the truth; the baseline's event time is its server's
    clock) rather than a store written by the collector."""
    late_s = late_after_s()
    summary, missing, timing, capture = [], [], [], []
    for rail, (rel, present) in relations.items():
        fields = [c for c in columns(RAIL_TABLES[rail], run_id=False) if c in present]
        summary.append(_summary(cur, rail, rel, present, run_id, late_s, server_clock=with_truth))
        missing.append(_missing(cur, rail, rel, fields, run_id))
        timing.append(_timing(cur, rail, rel, present, run_id))
        if with_truth:
            capture.append(_capture(cur, rail, rel))
    cap_schema = {"rail": pl.String, "event": pl.String, "truth": pl.Int64, "recorded": pl.Int64, "capture_rate": pl.Float64}
    return QualityReport(
        summary=pl.DataFrame(summary, schema=_SUMMARY_SCHEMA),
        missing=pl.concat(missing),
        timing=pl.concat(timing),
        capture=pl.concat([c.cast(cap_schema) for c in capture]) if capture else pl.DataFrame(schema=cap_schema),  # type: ignore[arg-type]
    )


def frames_report(tables: Mapping[str, pl.DataFrame]) -> QualityReport:
    """Data quality of a run's rails, from its frames (truth_events is the reference for capture)."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        relations = {}
        for rail, table in RAIL_TABLES.items():
            con.register(f"_{rail}", tables[table])
            relations[rail] = (f"_{rail}", set(tables[table].columns))
        con.register("_truth", tables["truth_events"].select("event_id", "event"))
        return _report(con, relations, None, with_truth=True)
    finally:
        con.close()


def store_report(con: duckdb.DuckDBPyConnection, run_id: str) -> QualityReport:
    """Data quality of what a store holds for one run (the collector's view: no truth to capture against)."""
    cur = con.cursor()
    try:
        relations = {}
        for rail, table in RAIL_TABLES.items():
            present = {r[0] for r in cur.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()}
            relations[rail] = (table, present)
        return _report(cur, relations, run_id, with_truth=False)
    finally:
        cur.close()


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%" if x < 0.1 else f"{x * 100:.0f}%"


def takeaway(report: QualityReport) -> str:
    """One sentence on the report's most important finding, computed from it."""
    s = {r["rail"]: r for r in report.summary.iter_rows(named=True)}
    full, base = s.get("fullstack"), s.get("baseline")
    parts = []
    cap = {(r["rail"], r["event"]): r["capture_rate"] for r in report.capture.iter_rows(named=True)}
    if ("fullstack", "page_view") in cap and ("baseline", "page_view") in cap:
        parts.append(f"The full stack recorded {_pct(cap[('fullstack', 'page_view')])} of the true page views, "
                     f"the baseline {_pct(cap[('baseline', 'page_view')])}")
    if full and full["late_share"] is not None:
        late = f"{_pct(full['late_share'])} of the full stack's hits arrived late (over {late_after_s() / 60:.0f} minutes)"
        skew = (f" and {_pct(full['skew_over_1h_share'])} carried a client clock off by over an hour"
                if full["skew_over_1h_share"] is not None else "")
        parts.append(late + skew)
    if base and base["rows"]:
        parts.append("the server-side baseline has no client clock to drift")
    if not parts:
        return "No rail recorded any event yet."
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."
