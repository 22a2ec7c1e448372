"""AppTest of the Data rights page: search, export tables, session-local erasure, the retention slider."""

from __future__ import annotations

import json

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from apptest_helpers import first_text, open_data, open_page
from apptest_helpers import table_with as _frame
from streamlit.testing.v1 import AppTest

from engine import schema
from engine.consent import SIGNALS
from ui.services import data_rights, simulation
from ui.words import num, pct, t

PAGE = "app_pages/data_rights.py"






def _search(at: AppTest, query: str) -> AppTest:
    at.text_input(key="dr.query").input(query).run()
    assert not at.exception
    return at


TABLES = ("visitors", "truth_events", "baseline_events", "fullstack_events", "consent_log")


def _by_code(frame: pd.DataFrame) -> pd.DataFrame:
    """The page names its tables in words; back to their codes (and no code is left on the page)."""
    names = {t(f"data_rights.table.{c}"): c for c in TABLES}
    assert set(frame["table"]) <= set(names), set(frame["table"])
    return frame.assign(table=frame["table"].map(names))


def _linked(at: AppTest) -> dict[str, int]:
    summary = _by_code(_frame(at, "table", "linked_rows", "ground_truth_only_rows"))
    return dict(zip(summary["table"], summary["linked_rows"], strict=True))


def _retention(at: AppTest) -> pd.DataFrame:
    return _by_code(_frame(at, "table", "level_name", "rows", "expired", "kept"))


def _chart_rows(at: AppTest) -> pd.DataFrame:
    """The data behind the page's one chart (Streamlit sends it as an Arrow stream next to the spec)."""
    (chart,) = at.get("vega_lite_chart")
    return pa.ipc.open_stream(chart.proto.datasets[0].data.data).read_all().to_pandas()


@pytest.fixture(scope="module")
def example() -> str:
    """An example e-mail whose owner logged in with consent (the page lists some; this one is on the full stack)."""
    at = open_page(PAGE)
    options = at.selectbox(key="dr.example").options
    assert len(options) >= 2
    for email in options:
        if _linked(_search(at, email))["fullstack_events"] > 0:
            return email
    raise AssertionError("no example visitor with full-stack rows")


def test_page_leads_with_who_the_site_can_find():
    at = open_page(PAGE)
    assert first_text(at) == at.markdown[0].value
    head = data_rights.headline(at.session_state["scenario"])
    tables = simulation.run(at.session_state["scenario"])
    people = tables["visitors"].filter(pl.col("visitor_id") == pl.col("person_id"))
    assert head["people"] == people.height and head["with_email"] == people["email"].count()
    assert 0 < head["findable"] < head["with_email"] and head["baseline_rows"] == tables["baseline_events"].height
    for n in (head["people"], head["with_email"], head["findable"], head["baseline_rows"]):
        assert f"**{num(n)}**" in first_text(at)
    assert f"**{pct(head['findable'] / head['with_email'])}**" in first_text(at)
    # the method is one click away, not on the first screen
    assert any(e.label == t("data_rights.method_title") for e in at.expander)


def test_page_opens_with_a_visitor_who_has_rows_in_every_rail():
    at = open_page(PAGE)
    example = data_rights.example_visitor(at.session_state["scenario"])
    assert example and at.text_input(key="dr.query").value == example and not at.info
    summary = _by_code(_frame(at, "table", "linked_rows", "ground_truth_only_rows"))
    rows = {r.table: (r.linked_rows, r.ground_truth_only_rows) for r in summary.itertuples()}
    assert rows["truth_events"][0] > 0  # the truth
    assert sum(rows["baseline_events"]) > 0  # the privacy baseline (never linkable: its rows are the truth's to attribute)
    assert rows["fullstack_events"][0] > 0  # the full stack, found by their login
    # and the page says so at once, one number per rail
    strip = {m.label: int(m.value.replace(",", "")) for m in at.metric}
    assert strip[t("data_rights.strip_truth")] == rows["truth_events"][0]
    assert strip[t("data_rights.strip_baseline")] == rows["baseline_events"][1] > 0
    assert strip[t("data_rights.strip_fullstack")] == rows["fullstack_events"][0]
    assert strip[t("data_rights.strip_consent")] == rows["consent_log"][0] > 0  # and their consent decision, found by its ID
    # an empty search box asks for a query instead
    _search(at, "")
    assert at.info and "visitor id" in at.info[0].value


def test_page_renders_policy_and_chart():
    at = open_page(PAGE)
    policy = next(df.value for df in open_data(at).dataframe if list(df.value.columns) == ["retention_days", "kept", "level_name"])
    shown = {lv: None if pd.isna(d) else int(d) for lv, d in zip(policy["level_name"], policy["retention_days"], strict=True)}
    assert shown == {t(f"data_rights.level.{lv.name}"): d for lv, d in schema.RETENTION_DAYS.items()}
    assert t("data_rights.forever") in set(policy["kept"])
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1
    spec = json.loads(charts[0].proto.spec)
    encoding = spec["encoding"]
    assert encoding["color"]["field"] == "status" and encoding["color"]["scale"]["domain"] == [t("data_rights.kept"), t("data_rights.removed")]
    assert encoding["y"]["field"] == "table_label" and encoding["x"]["stack"] == "normalize"
    # One chart as wide as its container, never a fixed width: no sideways scrolling on a phone.
    assert "column" not in encoding and spec.get("width", "container") == "container"
    assert any("retention keeps" in c.value for c in at.caption)


def test_search_by_email_shows_their_rows(example):
    at = _search(open_page(PAGE), f"  {example.upper()} ")
    assert not at.warning
    linked = _linked(at)
    visitors = _frame(at, "visitor_id", "email", "first_seen")
    # One row per browser of the person (a second device carries the same e-mail).
    assert set(visitors["email"]) == {example} and 1 <= len(visitors) <= 2
    truth = _frame(at, "event_id", "visitor_id", "session_index")
    assert linked["visitors"] == len(visitors) and linked["truth_events"] == len(truth) > 0
    assert set(truth["visitor_id"]) == set(visitors["visitor_id"])
    # the full-stack rows the page found are among the visitor's own events (by event id, per the truth)
    full = _frame(at, "event_id", "device_id", "user_id")
    assert len(full) == linked["fullstack_events"] > 0
    assert set(full["event_id"]) <= set(truth["event_id"])
    consent = _frame(at, "anonymous_id", "consent_type")
    assert len(consent) == linked["consent_log"] and len(consent) in [len(SIGNALS) * k for k in range(len(visitors) + 1)]
    assert any(b.proto.label.startswith("Download everything") for b in at.get("download_button"))
    # the query is echoed as plain text
    assert any(example.upper() in t.value for t in at.text)


def test_search_text_is_never_formatted():
    query = "**bold** <b>x</b> [link](http://example.invalid)"
    at = _search(open_page(PAGE), query)
    assert [c.value for c in at.code] == [query]
    assert at.warning and "No visitor" in at.warning[0].value
    assert not any("bold" in m.value for m in at.markdown)


def test_selecting_an_example_fills_the_search(example):
    at = open_page(PAGE)
    at.selectbox(key="dr.example").set_value(example).run()
    assert at.text_input(key="dr.query").value == example
    assert set(_frame(at, "visitor_id", "email", "first_seen")["email"]) == {example}


def test_erase_is_local_to_the_session(example):
    first, other = _search(open_page(PAGE), example), _search(open_page(PAGE), example)
    linked = _linked(first)
    totals = _retention(first).groupby("table")["rows"].sum().to_dict()

    first.button(key="dr.erase").click().run()
    assert not first.exception
    report = _by_code(_frame(first, "table", "rows_before", "removed", "rows_after", "theirs_kept")).set_index("table")
    for name in ("visitors", "truth_events", "fullstack_events"):
        assert report.loc[name, "removed"] == linked[name] > 0, name
        assert report.loc[name, "rows_after"] == report.loc[name, "rows_before"] - linked[name] == totals[name] - linked[name], name
    assert report.loc["consent_log", "removed"] == 0 and report.loc["consent_log", "theirs_kept"] == linked["consent_log"]
    if linked["consent_log"]:
        assert any("Art. 7(1)" in w.value and "17(3)(b)" in w.value for w in first.warning)
    assert any("Erased" in w.value for w in first.warning)
    after = _retention(first).groupby("table")["rows"].sum().to_dict()
    assert after == {name: totals[name] - int(report.loc[name, "removed"]) for name in totals}

    # another session (same scenario, same shared cache) still sees everything
    other.run()
    assert _linked(other) == linked
    assert _retention(other).groupby("table")["rows"].sum().to_dict() == totals
    fresh = _search(open_page(PAGE), example)
    assert _linked(fresh) == linked

    first.button(key="dr.restore").click().run()
    assert _linked(first) == linked and not first.success

    # an erasure belongs to its run: another scenario starts from its own shared run
    first.button(key="dr.erase").click().run()
    assert first.success
    first.sidebar.selectbox(key="consent.banner").set_value("no_reject").run()
    assert not first.exception and not first.success
    assert _linked(first)["visitors"] == linked["visitors"]


def test_now_slider_moves_removed_rows_not_rows_held():
    at = open_page(PAGE)
    reports = {}
    for days in (0, 20, 60, 800):
        at.slider(key="dr.now_days").set_value(days).run()
        assert not at.exception
        reports[days] = _retention(at)
        lead = next(m.value for m in at.markdown if "days after the run started" in m.value)
        assert lead.startswith(f"**{days}** days after the run started")
        assert f"**{num(reports[days]['rows'].sum())}** rows" in lead
        if days:
            assert f"**{num(reports[days]['expired'].sum())}**" in lead
        bars = _chart_rows(at)
        assert bars[bars["status"] == t("data_rights.removed")]["count"].sum() == reports[days]["expired"].sum()
        assert bars[bars["status"] == t("data_rights.kept")]["count"].sum() == reports[days]["kept"].sum()
    held = {d: r.groupby("table")["rows"].sum().to_dict() for d, r in reports.items()}
    assert all(h == held[0] for h in held.values())  # the run itself does not move
    removed = [int(reports[d]["expired"].sum()) for d in (0, 20, 60, 800)]
    assert removed[0] == 0  # at the start no retention period has passed
    assert removed == sorted(removed) and len(set(removed)) == len(removed)
    late = reports[800]
    assert (late[late["retention_days"].notna()]["expired"] == late[late["retention_days"].notna()]["rows"]).all()
    assert late[late["retention_days"].isna()]["expired"].sum() == 0
