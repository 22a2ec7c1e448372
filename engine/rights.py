"""Data-subject rights on a run: find a person, export what is held about them, erase them, and
see what each table's retention removes at a given "now". Pure polars: no streamlit, no I/O.

The rails store no e-mail and no visitor id, so a site finds a person only through what it can
recompute: the keyed hash of their e-mail (the full stack's `user_id`), the device ids seen on
those rows, and the keyed hash of the consent ID they present (the consent log's `anonymous_id`).
The truth tables (`visitors`, `truth_events`) are the simulator's and are searched by visitor id.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from engine import keys, masking, retention, schema
from engine.consent import consent_cookie
from engine.rails import CONSENT_ID_LABEL, DEVICE_ID_LABEL, USER_ID_LABEL
from engine.scenario import Scenario

Tables = Mapping[str, pl.DataFrame]

# Key labels of the keyed hashes, as engine.rails uses them: user_id (fullstack) and anonymous_id (consent_log).

HOW_LINKED = {
    "visitors": "ground truth: the simulator's visitor row (by visitor id)",
    "truth_events": "ground truth: the visitor's events (by visitor id)",
    "fullstack_events": "user_id = keyed hash of the e-mail (same key and rotation as the rail), "
                        "plus every row carrying a device_id seen on those rows (events before login)",
    "baseline_events": "not linkable: the visitor hash is a keyed hash of IP and user agent (salt rotated daily by default); "
                       "the site keeps neither, and nobody knows which IP they had on which day, so it cannot be recomputed",
    "consent_log": "anonymous_id = keyed hash of the consent ID (consent-manager cookie) that the visitor's browser "
                   "sent with their decision hit; the visitor presents it (banners show it for this purpose) and the site "
                   "hashes it with the log's key",
}
# How a collector (which holds no truth table and no e-mail) links its rows to the anonymous id a
# browser presents: the first-party analytics cookie, which the consent manager also sends.
HOW_LINKED_ANONYMOUS = {
    "fullstack_events": "device_id = keyed hash of the anonymous id (same key as the rail: fixed, or the key of each "
                        "day held), plus every row carrying a user_id seen on those rows (the same person logged in elsewhere)",
    "consent_log": "anonymous_id = keyed hash of the anonymous id with the consent log's key",
    "baseline_events": HOW_LINKED["baseline_events"],
}
TRUTH_ONLY = "ground truth only: the site cannot find these"
RAIL_EVENTS = ("baseline_events", "fullstack_events")
CONSENT_CONFLICT = (
    "The consent log keeps {n} rows about this visitor: a controller must be able to prove consent (GDPR Art. 7(1)), and "
    "the right to erasure does not apply where keeping data is a legal obligation (Art. 17(3)(b)). They go when the "
    "log's own retention ends: {days} days for these rows ({level})."
)
_VISITOR_ID = re.compile(r"[0-9]{1,18}")
_MAX_SLICES = 256


@dataclass(frozen=True)
class Subject:
    """A person the site can look up, and the identifiers it computed for them."""

    visitor_id: int
    email: str | None
    user_ids: tuple[str, ...]
    device_ids: tuple[str, ...]
    anonymous_ids: tuple[str, ...]


# --- find ----------------------------------------------------------------------------------------


def find(tables: Tables, query: str, scenario: Scenario) -> Subject | None:
    """The visitor whose truth id is `query` (digits) or whose e-mail is `query` (trimmed, any case)."""
    q = query.strip()
    visitors = tables["visitors"]
    if not q:
        return None
    if _VISITOR_ID.fullmatch(q):
        hit = visitors.filter(pl.col("visitor_id") == int(q))
    else:
        wanted = pl.Series([q]).str.to_lowercase()[0]
        hit = visitors.filter(pl.col("email").str.strip_chars().str.to_lowercase() == wanted)
    if hit.height == 0:
        return None
    row = hit.sort("visitor_id").row(0, named=True)
    # A person with a second device is one subject: their first browser's id is their person id.
    return subject_of(tables, row["person_id"], row["email"], scenario)


def subject_of(tables: Tables, visitor_id: int, email: str | None, scenario: Scenario) -> Subject:
    """The identifiers a site can compute for this person (`visitor_id`: their person id) from their
    e-mail and the consent ID of each of their browsers."""
    fullstack = tables["fullstack_events"]
    user_ids = _user_ids(email, fullstack["date"].unique().sort(), scenario.masking.key_rotation == "daily")
    devices = fullstack.filter(_in("user_id", user_ids))["device_id"].drop_nulls().unique().sort()
    browsers = tables["visitors"].filter(pl.col("person_id") == visitor_id)["visitor_id"]
    consent_cookie = consent_ids(browsers, scenario.seed)
    anonymous = masking.keyed_hash(consent_cookie, keys.derive(CONSENT_ID_LABEL))
    return Subject(int(visitor_id), email, user_ids, tuple(devices.to_list()), tuple(anonymous.to_list()))


def _user_ids(email: str | None, dates: pl.Series, rotate: bool) -> tuple[str, ...]:
    # With a daily key the site hashes the e-mail once per day it holds data for.
    if email is None:
        return ()
    days = dates if rotate else pl.Series([None], dtype=pl.Date)
    hashes = masking.keyed_hash_daily(pl.Series([email] * len(days), dtype=pl.String), days, USER_ID_LABEL, rotate)
    return tuple(sorted(set(hashes.drop_nulls().to_list())))


def anonymous_links(anonymous_id: str, dates: pl.Series) -> tuple[tuple[str, ...], str]:
    """The full stack's device ids and the consent log's anonymous_id that a raw anonymous id (the
    browser's first-party cookie) hashes to. Device ids under both key settings: the fixed key, and
    the daily key of each day in `dates` (a store may hold runs made with either)."""
    ids = pl.Series([anonymous_id] * len(dates), dtype=pl.String)
    devices = pl.concat([
        masking.keyed_hash_daily(ids, dates.cast(pl.Date), DEVICE_ID_LABEL, True),
        masking.keyed_hash_daily(pl.Series([anonymous_id], dtype=pl.String), pl.Series([None], dtype=pl.Date), DEVICE_ID_LABEL, False),
    ])
    consent = masking.keyed_hash(pl.Series([anonymous_id], dtype=pl.String), keys.derive(CONSENT_ID_LABEL))[0]
    return tuple(sorted(set(devices.drop_nulls().to_list()))), consent


def consent_ids(visitor_ids: pl.Series, seed: int) -> pl.Series:
    """The consent-manager cookie each visitor's browser holds (as engine.hits sets it)."""
    return consent_cookie(visitor_ids, seed)


def _in(column: str, values: tuple) -> pl.Expr:
    return pl.col(column).is_in(list(values)).fill_null(False)


def linkable(subject: Subject) -> dict[str, pl.Expr]:
    """Per table, the rows the site can tie to this person (tables missing here hold none)."""
    return {
        "visitors": pl.col("person_id") == subject.visitor_id,
        "truth_events": pl.col("person_id") == subject.visitor_id,
        "fullstack_events": _in("user_id", subject.user_ids) | _in("device_id", subject.device_ids),
        "consent_log": _in("anonymous_id", subject.anonymous_ids),
    }


def examples(tables: Tables, n: int = 6) -> pl.DataFrame:
    """Simulated visitors with an e-mail for learners to try: about half whose logins reached the full
    stack (picked with the truth) and half whose did not."""
    logins = tables["fullstack_events"].filter(pl.col("user_id").is_not_null()).select("event_id")
    reached = tables["truth_events"].join(logins, on="event_id", how="semi")["person_id"].unique()
    # One row per person: their first browser (a second device carries the same e-mail).
    people = (tables["visitors"].filter(pl.col("email").is_not_null(), pl.col("visitor_id") == pl.col("person_id")).sort("visitor_id")
              .select("visitor_id", "email", in_fullstack=pl.col("visitor_id").is_in(reached.implode())))
    return pl.concat([people.filter("in_fullstack").head(n - n // 2), people.filter(~pl.col("in_fullstack")).head(n // 2)]).sort("visitor_id")


# --- access and export -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Holdings:
    """What the run holds about a person: the rows the site can link, per table, and (rails only) the
    rows that are theirs per the truth but that the site cannot find."""

    subject: Subject
    rows: dict[str, pl.DataFrame]
    truth_only: dict[str, pl.DataFrame]


def holdings(tables: Tables, subject: Subject) -> Holdings:
    """Everything held about the person, per table (tables nobody can link give empty frames)."""
    masks = linkable(subject)
    rows = {t: (f.filter(masks[t]) if t in masks else f.clear()) for t, f in tables.items()}
    # Rail rows that are theirs per the truth (same event id) but that the site cannot link.
    theirs = _in("event_id", tuple(rows["truth_events"]["event_id"].to_list()))
    truth_only = {t: tables[t].filter(theirs & ~masks.get(t, pl.lit(False))) for t in RAIL_EVENTS if t in tables}
    return Holdings(subject, rows, truth_only)


def summary(h: Holdings) -> pl.DataFrame:
    """Per table: rows the site can link to the person, how, and rows only the truth can attribute."""
    return pl.DataFrame(
        {
            "table": list(h.rows),
            "linked_rows": [f.height for f in h.rows.values()],
            "ground_truth_only_rows": [h.truth_only[t].height if t in h.truth_only else 0 for t in h.rows],
            "how_linked": [HOW_LINKED.get(t, "") for t in h.rows],
        },
        schema_overrides={"linked_rows": pl.Int64, "ground_truth_only_rows": pl.Int64},
    )


def export(h: Holdings) -> dict[str, pl.DataFrame]:
    """Everything the site can find about the person, table -> rows (the access/portability copy)."""
    return dict(h.rows)


def export_json(h: Holdings) -> str:
    """The export as one JSON document: the subject's identifiers, how each table was searched, the rows."""
    s = h.subject
    doc = {
        "visitor_id": s.visitor_id,
        "identifiers": {"user_ids": list(s.user_ids), "device_ids": list(s.device_ids), "anonymous_ids": list(s.anonymous_ids)},
        "how_linked": {t: HOW_LINKED.get(t, "") for t in h.rows},
        "tables": {t: json.loads(f.write_json()) for t, f in export(h).items()},
    }
    return json.dumps(doc, indent=1, ensure_ascii=False)


# --- erasure ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Erasure:
    """New tables without the person's linkable rows, what was removed and kept, and the conflict."""

    tables: dict[str, pl.DataFrame]
    report: pl.DataFrame
    conflict: str | None


def erase(tables: Tables, subject: Subject) -> Erasure:
    """Remove the person's linkable rows from every table except the consent log, which is kept as proof
    of consent. The input frames are not changed (other sessions share them)."""
    h = holdings(tables, subject)
    masks = linkable(subject)
    out, rows = {}, []
    for t, frame in tables.items():
        linked, hidden = h.rows[t].height, (h.truth_only[t].height if t in h.truth_only else 0)
        if t == "consent_log":
            out[t], removed, kept, note = frame, 0, linked, "kept: proof of consent (GDPR Art. 7(1), 17(3)(b))"
        elif t in masks:
            out[t], removed, kept, note = _without(frame, frame.select(masks[t]).to_series()), linked, hidden, "erased"
        else:
            out[t], removed, kept, note = frame, 0, hidden, "not linkable"
        if hidden:
            note += f"; {hidden} more rows are theirs ({TRUTH_ONLY})"
        rows.append({"table": t, "rows_before": frame.height, "removed": removed, "rows_after": out[t].height,
                     "theirs_kept": kept, "note": note})
    return Erasure(out, pl.DataFrame(rows), consent_conflict(h.rows.get("consent_log")))


def consent_conflict(consent: pl.DataFrame | None) -> str | None:
    """Why the person's consent-log rows stay after an erasure, and until when (None if there are none)."""
    if consent is None or consent.height == 0:
        return None
    level = schema.Level(int(row_levels("consent_log", consent).max()))
    return CONSENT_CONFLICT.format(n=consent.height, days=schema.RETENTION_DAYS[level] or "forever", level=level.name)


def _without(frame: pl.DataFrame, drop: pl.Series) -> pl.DataFrame:
    """The frame minus the rows where `drop` is true. A person's rows are a few contiguous runs, so the
    kept rows are zero-copy slices: an erased session copy shares memory with the shared run."""
    keep = ~drop.fill_null(False)
    if keep.all():
        return frame
    runs = (
        pl.DataFrame({"k": keep}).with_row_index("i").with_columns(run=pl.col("k").rle_id()).filter("k")
        .group_by("run", maintain_order=True).agg(start=pl.col("i").first(), n=pl.len())
    )
    if runs.height == 0:
        return frame.clear()
    if runs.height > _MAX_SLICES:
        return frame.filter(keep)
    return pl.concat([frame.slice(s, n) for s, n in runs.select("start", "n").iter_rows()], rechunk=False)


# --- retention ---------------------------------------------------------------------------------------


def row_levels(table: str, frame: pl.DataFrame) -> pl.Series:
    """Each row's PII level: the highest level among its non-null classified columns, at least the table's floor."""
    return retention.row_levels(table, frame)


def expired(table: str, frame: pl.DataFrame, now: dt.datetime) -> pl.Series:
    """True for rows past their level's retention at `now` (counted from the table's retention clock)."""
    return retention.expired(table, frame, now)


def retention_report(tables: Tables, now: dt.datetime) -> pl.DataFrame:
    """Per table and row PII level: rows held, rows past retention at `now`, rows kept."""
    return retention.frames_report(tables, now)


def policy() -> pl.DataFrame:
    """The project's retention policy: days kept per PII level (null: kept forever)."""
    days = [schema.RETENTION_DAYS[lv] for lv in schema.Level]
    return pl.DataFrame(
        {"level": [lv.name for lv in schema.Level], "retention_days": days, "kept": [_human_days(d) for d in days]},
        schema_overrides={"retention_days": pl.Int64},
    )


def _human_days(days: int | None) -> str:
    if days is None:
        return "forever"
    return f"{days // 365} years" if days % 365 == 0 else f"{days} days"
