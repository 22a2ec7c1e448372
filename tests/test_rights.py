"""engine.rights: find a visitor, export, erase (consent log kept), retention in polars == DuckDB's."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from conftest import small
from polars.testing import assert_frame_equal

from engine import pipeline, retention, rights, schema, store
from engine.consent import SIGNALS
from simulators.run import build_run

DAY = dt.timedelta(days=1)


def _owner(tables, frame: pl.DataFrame) -> pl.Series:
    """Truth visitor behind each rail row (tests may join by event id; the site cannot)."""
    return frame.join(tables["truth_events"].select("event_id", "person_id"), on="event_id", how="left", maintain_order="left")["person_id"]


def _logged_in_rows(tables, visitor_id: int) -> pl.DataFrame:
    """Oracle from the truth: full-stack rows of this visitor's logged-in events that carry a user id."""
    theirs = tables["truth_events"].filter(pl.col("person_id") == visitor_id, pl.col("logged_in")).select("event_id")
    return tables["fullstack_events"].join(theirs, on="event_id", how="semi").filter(pl.col("user_id").is_not_null())


def _with_logins(tables, n: int) -> list[tuple[int, str]]:
    """Visitors (id, e-mail) whose logins reached the full stack, picked through the truth."""
    logins = tables["fullstack_events"].filter(pl.col("user_id").is_not_null()).select("event_id")
    ids = tables["truth_events"].join(logins, on="event_id", how="semi")["visitor_id"].unique().sort().head(n)
    people = tables["visitors"].filter(pl.col("visitor_id").is_in(ids.implode())).sort("visitor_id")
    return list(people.select("visitor_id", "email").iter_rows())


@pytest.fixture(scope="module")
def person(base_tables, base_scenario):
    """A visitor who logged in with consent and decided on the banner, with their holdings."""
    for _vid, email in _with_logins(base_tables, 50):
        subject = rights.find(base_tables, email, base_scenario)
        h = rights.holdings(base_tables, subject)
        if h.rows["consent_log"].height:
            return subject, h
    raise AssertionError("no visitor with logins and a consent decision in the base run")


# --- find ---------------------------------------------------------------------------------------


def test_find_by_id_and_by_email(base_tables, base_scenario):
    vis = base_tables["visitors"]
    vid, email = vis.filter(pl.col("email").is_not_null()).select("visitor_id", "email").row(3)
    by_id = rights.find(base_tables, str(vid), base_scenario)
    assert by_id is not None and by_id.visitor_id == vid and by_id.email == email
    by_mail = rights.find(base_tables, f"  {email.upper()}\t", base_scenario)
    assert by_mail == by_id
    anonymous = vis.filter(pl.col("email").is_null())["visitor_id"][0]
    nobody = rights.find(base_tables, f" {anonymous} ", base_scenario)
    assert nobody is not None and nobody.email is None and nobody.user_ids == () and nobody.device_ids == ()
    assert rights.holdings(base_tables, nobody).rows["fullstack_events"].height == 0


@pytest.mark.parametrize("query", ["", "   ", "nobody@example.invalid", "12abc", "'; DROP TABLE visitors; --", "@", "-1"])
def test_find_unknown_is_none(base_tables, base_scenario, query):
    assert rights.find(base_tables, query, base_scenario) is None


def test_find_id_past_the_last_visitor_is_none(base_tables, base_scenario):
    vis = base_tables["visitors"]
    last = vis["visitor_id"].max()
    assert rights.find(base_tables, str(last + 1), base_scenario) is None
    # The last id is a second device's browser: looking it up finds its person.
    person = vis.filter(pl.col("visitor_id") == last)["person_id"][0]
    assert last != person and rights.find(base_tables, str(last), base_scenario).visitor_id == person


def test_examples_split_by_what_the_site_can_link(base_tables, base_scenario):
    ex = rights.examples(base_tables, 6)
    assert ex.height == 6 and ex["email"].null_count() == 0
    assert ex["in_fullstack"].sum() == 3
    for vid, email, in_fullstack in ex.iter_rows():
        h = rights.holdings(base_tables, rights.find(base_tables, email, base_scenario))
        assert h.subject.visitor_id == vid
        linked_by_login = h.rows["fullstack_events"].filter(pl.col("user_id").is_in(list(h.subject.user_ids))).height
        assert (linked_by_login > 0) == in_fullstack, (vid, email)


# --- the full stack: user_id and device ids -----------------------------------------------------------


def test_fullstack_rows_found_via_user_id_belong_to_the_visitor(base_tables, base_scenario):
    device_only = 0
    people = _with_logins(base_tables, 20)
    assert len(people) == 20
    for vid, email in people:
        subject = rights.find(base_tables, email, base_scenario)
        fs = rights.holdings(base_tables, subject).rows["fullstack_events"]
        assert fs.height > 0
        assert _owner(base_tables, fs).to_list() == [vid] * fs.height, vid
        by_user = fs.filter(pl.col("user_id").is_in(list(subject.user_ids)))
        assert set(by_user["event_id"]) == set(_logged_in_rows(base_tables, vid)["event_id"]), vid
        assert set(fs["device_id"].drop_nulls()) == set(subject.device_ids)
        device_only += fs.height - by_user.height
    # the device ids on the login rows also find events before the login
    assert device_only > 0


def test_daily_key_rotation_is_matched_day_by_day(base_traffic):
    scenario = small({"masking.key_rotation": "daily"})
    tables = build_run(scenario, base_traffic)
    found_days = 0
    for vid, email in _with_logins(tables, 40):
        subject = rights.find(tables, email, scenario)
        fs = rights.holdings(tables, subject).rows["fullstack_events"]
        assert _owner(tables, fs).to_list() == [vid] * fs.height
        want = _logged_in_rows(tables, vid)
        assert set(fs.filter(pl.col("user_id").is_not_null())["event_id"]) == set(want["event_id"]), vid
        found_days = max(found_days, want["date"].n_unique())
        assert fs.filter(pl.col("user_id").is_not_null())["user_id"].n_unique() == want["date"].n_unique()
    assert found_days >= 2  # someone logged in on several days, each with its own user id


# --- consent log ----------------------------------------------------------------------------------


def test_consent_ids_are_the_cookies_the_hits_carry(base_scenario, base_traffic):
    hits = pipeline.browser_hits(base_scenario, base_traffic)
    decided = (
        hits.filter(pl.col("consent_id").is_not_null()).select("event_id", "consent_id")
        .join(base_traffic.events.select("event_id", "visitor_id"), on="event_id")
    )
    assert decided.height > 0
    assert rights.consent_ids(decided["visitor_id"], base_scenario.seed).to_list() == decided["consent_id"].to_list()


def test_consent_rows_found_are_the_visitors_decision(base_tables, base_scenario):
    vis = base_tables["visitors"]
    browsers = vis.group_by("person_id").agg(n=pl.len(), decided=pl.col("consent_at").is_not_null().sum())
    one = browsers.filter(pl.col("n") == 1)["person_id"].implode()
    # "ignored" visitors have no decision time
    decided = vis.filter(pl.col("consent_at").is_not_null(), pl.col("person_id").is_in(one)).head(30)
    for vid, choice, at in decided.select("visitor_id", "consent_choice", "consent_at").iter_rows():
        log = rights.holdings(base_tables, rights.find(base_tables, str(vid), base_scenario)).rows["consent_log"]
        assert log.height == len(SIGNALS), vid
        assert set(log["consent_type"]) == set(SIGNALS)
        assert set(log["method"]) == {choice} and set(log["ts"]) == {at}
    # Consent is stored per browser: a person who answered on two devices has both answers.
    both = browsers.filter(pl.col("decided") == 2)["person_id"][0]
    log = rights.holdings(base_tables, rights.find(base_tables, str(both), base_scenario)).rows["consent_log"]
    assert log.height == 2 * len(SIGNALS) and log["anonymous_id"].n_unique() == 2
    undecided = vis.filter(pl.col("consent_at").is_null(), pl.col("person_id").is_in(one))["visitor_id"][0]
    assert rights.holdings(base_tables, rights.find(base_tables, str(undecided), base_scenario)).rows["consent_log"].height == 0


# --- export ---------------------------------------------------------------------------------------


def test_export_contents_match_the_tables(base_tables, person):
    subject, h = person
    vid = subject.visitor_id
    exp = rights.export(h)
    assert set(exp) == set(base_tables)
    assert_frame_equal(exp["visitors"], base_tables["visitors"].filter(pl.col("visitor_id") == vid))
    assert_frame_equal(exp["truth_events"], base_tables["truth_events"].filter(pl.col("visitor_id") == vid))
    assert exp["baseline_events"].height == 0 and exp["baseline_events"].columns == base_tables["baseline_events"].columns
    # the baseline rows are theirs per the truth, but only the truth knows
    want_baseline = base_tables["baseline_events"].join(exp["truth_events"].select("event_id"), on="event_id", how="semi")
    assert want_baseline.height > 0
    assert_frame_equal(h.truth_only["baseline_events"], want_baseline)
    summary = rights.summary(h)
    assert dict(summary.select("table", "linked_rows").iter_rows()) == {t: f.height for t, f in exp.items()}
    assert dict(summary.select("table", "ground_truth_only_rows").iter_rows())["baseline_events"] == want_baseline.height

    doc = json.loads(rights.export_json(h))
    assert doc["visitor_id"] == vid
    assert {t: len(rows) for t, rows in doc["tables"].items()} == {t: f.height for t, f in exp.items()}
    assert [r["event_id"] for r in doc["tables"]["fullstack_events"]] == exp["fullstack_events"]["event_id"].to_list()
    assert doc["tables"]["visitors"][0]["email"] == subject.email
    assert doc["identifiers"]["user_ids"] == list(subject.user_ids)
    for t, f in exp.items():
        assert f.write_csv().count("\n") == f.height + 1, t


# --- erase ----------------------------------------------------------------------------------------


def test_erase_removes_exactly_the_linkable_rows(base_tables, base_scenario, person):
    subject, h = person
    vid = subject.visitor_id
    before = {t: f.height for t, f in base_tables.items()}
    done = rights.erase(base_tables, subject)
    fs_ids = h.rows["fullstack_events"]["event_id"].implode()
    assert_frame_equal(done.tables["visitors"], base_tables["visitors"].filter(pl.col("visitor_id") != vid))
    assert_frame_equal(done.tables["truth_events"], base_tables["truth_events"].filter(pl.col("visitor_id") != vid))
    assert_frame_equal(done.tables["fullstack_events"], base_tables["fullstack_events"].filter(~pl.col("event_id").is_in(fs_ids)))
    assert_frame_equal(done.tables["baseline_events"], base_tables["baseline_events"])
    assert_frame_equal(done.tables["consent_log"], base_tables["consent_log"])  # proof of consent is kept
    assert {t: f.height for t, f in base_tables.items()} == before  # the input (shared) tables are unchanged

    report = {r["table"]: r for r in done.report.iter_rows(named=True)}
    for t, f in h.rows.items():
        assert report[t]["rows_before"] == before[t]
        assert report[t]["rows_after"] == done.tables[t].height == before[t] - report[t]["removed"]
        assert report[t]["removed"] == (0 if t == "consent_log" else f.height), t
    assert report["consent_log"]["theirs_kept"] == h.rows["consent_log"].height > 0
    assert report["baseline_events"]["theirs_kept"] == h.truth_only["baseline_events"].height > 0
    assert "7(1)" in done.conflict and "17(3)(b)" in done.conflict and str(h.rows["consent_log"].height) in done.conflict

    assert rights.find(done.tables, str(vid), base_scenario) is None
    assert rights.find(done.tables, subject.email, base_scenario) is None
    other = rights.find(done.tables, str(vid + 1), base_scenario)
    assert other is not None and other == rights.find(base_tables, str(vid + 1), base_scenario)


def test_erase_without_a_consent_decision_reports_no_conflict(base_tables, base_scenario):
    vid = base_tables["visitors"].filter(pl.col("consent_at").is_null())["visitor_id"][0]
    done = rights.erase(base_tables, rights.find(base_tables, str(vid), base_scenario))
    assert done.conflict is None
    assert dict(done.report.select("table", "removed").iter_rows())["visitors"] == 1


# --- retention --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def duck(base_scenario, base_tables):
    con = store.connect(":memory:")
    # The project's timestamps are UTC; DuckDB subtracts day intervals in its session time zone.
    con.execute("SET TimeZone = 'UTC'")
    store.write_tables(con, base_scenario.run_id, base_tables)
    yield con
    con.close()


def _nows(tables) -> list[dt.datetime]:
    first, last = tables["truth_events"]["ts"].min(), tables["truth_events"]["ts"].max()
    mid = first + (last - first) / 2
    # inside the run, past CRITICAL, cutting HIGH and MEDIUM mid-run, past everything
    return sorted([first, last + DAY, mid + 7 * DAY, mid + 30 * DAY, mid + 90 * DAY, first + 400 * DAY, mid + 730 * DAY, first + 800 * DAY])


def test_retention_agrees_with_the_store(base_scenario, base_tables, duck):
    cols = ["table", "level", "level_name", "retention_days", "rows", "expired"]
    partial = 0
    for now in _nows(base_tables):
        mine = rights.retention_report(base_tables, now)
        theirs = store.retention_report(duck, base_scenario.run_id, now)
        assert_frame_equal(mine.select(cols), theirs.select(cols), check_dtypes=False)
        assert (mine["kept"] == mine["rows"] - mine["expired"]).all()
        partial += mine.filter((pl.col("expired") > 0) & (pl.col("expired") < pl.col("rows"))).height
    assert partial > 0  # some cut falls inside a level's rows, not only before or after all of them


def test_row_levels_match_row_level_sql(base_tables):
    """Row by row (also rows whose only non-null columns are NONE-level, where the consent log's floor shows)."""
    con = store.connect(":memory:")
    try:
        for t in store.DATA_TABLES:
            head = base_tables[t].head(20)
            bare = head.head(5).with_columns(
                [pl.lit(None, dtype=head.schema[c]).alias(c) for c, col in schema.TABLES[t].items() if col.level > 0 and c in head.columns]
            )
            frame = pl.concat([head, bare])
            store.write_tables(con, "00000000000000aa", {t: frame})
            sql = store.query(con, f'SELECT {retention.row_level_sql(t)} AS level FROM "{t}"')["level"]
            assert sorted(rights.row_levels(t, frame).to_list()) == sorted(sql.to_list()), t
            want_bare = schema.RETENTION_FLOOR.get(t, schema.Level.NONE)
            assert rights.row_levels(t, bare).to_list() == [int(want_bare)] * 5, t
    finally:
        con.close()


def test_retention_grows_with_now_and_spares_none_level(base_tables):
    totals = [rights.retention_report(base_tables, now)["expired"].sum() for now in _nows(base_tables)[1:]]
    assert totals == sorted(totals) and totals[0] < totals[-1]
    late = rights.retention_report(base_tables, _nows(base_tables)[-1])
    assert late.filter(pl.col("retention_days").is_null())["expired"].sum() == 0
    assert (late.filter(pl.col("retention_days").is_not_null()).select(pl.col("expired") == pl.col("rows")).to_series()).all()
    assert late.filter(pl.col("table") == "consent_log")["level"].min() >= int(schema.Level.LOW)


def test_naive_now_is_utc(base_tables):
    now = _nows(base_tables)[3]
    assert_frame_equal(rights.retention_report(base_tables, now.replace(tzinfo=None)), rights.retention_report(base_tables, now))


def test_frame_retention_matches_purge(base_scenario, base_tables):
    now = _nows(base_tables)[3]
    con = store.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        store.write_tables(con, base_scenario.run_id, base_tables)
        deleted = store.purge_expired(con, now, base_scenario.run_id)
        for t in store.DATA_TABLES:
            gone = rights.expired(t, base_tables[t], now)
            assert gone.len() == base_tables[t].height and gone.sum() == deleted[t], t
            assert base_tables[t].height - deleted[t] == store.query(con, f'SELECT count(*) AS n FROM "{t}"')["n"][0], t
        # row by row: the mask, applied in the frame's row order, keeps exactly the rows the store kept
        kept_ids = store.query(con, "SELECT event_id FROM truth_events ORDER BY event_id")["event_id"]
        mine = base_tables["truth_events"].filter(~rights.expired("truth_events", base_tables["truth_events"], now))
        assert mine["event_id"].sort().equals(kept_ids)
    finally:
        con.close()


def test_policy_is_the_masking_policy():
    pol = rights.policy()
    assert dict(pol.select("level", "retention_days").iter_rows()) == {lv.name: d for lv, d in schema.RETENTION_DAYS.items()}
    assert dict(pol.select("level", "kept").iter_rows())["NONE"] == "forever"
