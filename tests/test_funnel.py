"""Tests for engine.funnel, derived from ClickHouse windowFunnel (default mode) semantics."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.funnel import funnel_by_rail, funnel_table, window_funnel
from engine.funnel_reference import reference_levels

# --- helpers ---------------------------------------------------------------------------


def frame(rows: list[tuple], user_dtype: pl.DataType = pl.Int64, ts_dtype: pl.DataType = pl.Int64) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema={"user_id": user_dtype, "ts": ts_dtype, "event": pl.String}, orient="row"
    )


def level_of(rows: list[tuple[int, str]], steps: Sequence[str], window: float) -> int:
    """Level of a single user given (ts, event) rows."""
    out = window_funnel(frame([(1, t, e) for t, e in rows]), steps, window)
    assert out.height == 1
    return out["level"][0]


# --- documented semantics --------------------------------------------------------------


def test_full_chain() -> None:
    assert level_of([(0, "a"), (1, "b"), (2, "c")], ["a", "b", "c"], 10) == 3


def test_partial_chain_counts_consecutive_steps() -> None:
    assert level_of([(0, "a"), (1, "b"), (2, "d")], ["a", "b", "c", "d"], 10) == 2


def test_out_of_order_step_does_not_count() -> None:
    # b before a can't serve as step 2; the chain stops after a.
    assert level_of([(0, "b"), (1, "a"), (2, "c")], ["a", "b", "c"], 10) == 1
    # Reverse order gives only the first step (c4, c3, c2, c1 -> 1).
    assert level_of([(0, "c"), (1, "b"), (2, "a")], ["a", "b", "c"], 10) == 1


def test_window_boundary_is_inclusive() -> None:
    assert level_of([(100, "a"), (110, "b")], ["a", "b"], 10) == 2
    assert level_of([(100, "a"), (111, "b")], ["a", "b"], 10) == 1
    assert level_of([(100, "a"), (100, "b")], ["a", "b"], 0) == 2


def test_window_is_measured_from_step_one_not_previous_step() -> None:
    # c is 6s after b but 12s after a: outside a 10s window.
    assert level_of([(0, "a"), (6, "b"), (12, "c")], ["a", "b", "c"], 10) == 2
    assert level_of([(0, "a"), (6, "b"), (10, "c")], ["a", "b", "c"], 10) == 3


def test_max_over_chains_later_start_is_better() -> None:
    rows = [(0, "a"), (5, "b"), (15, "a"), (16, "b"), (20, "c")]
    assert level_of(rows, ["a", "b", "c"], 10) == 3


def test_max_over_chains_earlier_start_is_better() -> None:
    rows = [(0, "a"), (1, "b"), (2, "a"), (50, "c")]
    assert level_of(rows, ["a", "b", "c"], 10) == 2


def test_other_events_in_between_are_allowed() -> None:
    rows = [(0, "a"), (1, "x"), (2, "b"), (3, "a"), (4, "y"), (5, "c")]
    assert level_of(rows, ["a", "b", "c"], 10) == 3


def test_unsorted_input_is_sorted_by_timestamp() -> None:
    assert level_of([(2, "c"), (0, "a"), (1, "b")], ["a", "b", "c"], 10) == 3


def test_clickhouse_doc_example_order_by_timestamp_not_rows() -> None:
    # ClickHouse docs example: windowFunnel over eventID 1003 -> 1009 -> 1007 -> 1010 is 4.
    t = lambda *a: datetime(*a)  # noqa: E731
    events = pl.DataFrame(
        {
            "user_id": [1, 1, 1, 1],
            "ts": [t(2019, 1, 29, 10), t(2019, 1, 31, 9), t(2019, 1, 30, 8), t(2019, 2, 1, 8)],
            "event": ["1003", "1007", "1009", "1010"],
        }
    )
    assert window_funnel(events, ["1003", "1009", "1007", "1010"], 6048000000)["level"][0] == 4
    assert window_funnel(events, ["1003", "1009", "1007", "1010"], 2 * 86400)["level"][0] == 3


def test_repeated_step_names_need_distinct_events() -> None:
    assert level_of([(0, "a")], ["a", "a"], 10) == 1
    assert level_of([(0, "a"), (3, "a")], ["a", "a"], 10) == 2
    assert level_of([(0, "a"), (3, "a")], ["a", "a", "a"], 10) == 2
    assert level_of([(0, "a"), (1, "b")], ["a", "b", "a"], 10) == 2
    assert level_of([(0, "a"), (1, "b"), (2, "a")], ["a", "b", "a"], 10) == 3
    # The a at t=0 precedes b, so it can't also close the funnel after b.
    assert level_of([(0, "a"), (0, "x"), (1, "b")], ["a", "b", "a"], 10) == 2
    # b@5 opens a new instant; the a@5 after it is unused, so it can close the funnel.
    assert level_of([(0, "a"), (5, "b"), (5, "a")], ["a", "b", "a"], 10) == 3


def test_equal_timestamps_one_event_per_step() -> None:
    assert level_of([(5, "a")], ["a", "a"], 10) == 1
    assert level_of([(5, "a"), (5, "a")], ["a", "a"], 10) == 2
    assert level_of([(5, "a"), (5, "a")], ["a", "a", "a"], 10) == 2
    assert level_of([(5, "a"), (5, "b")], ["a", "b", "a"], 10) == 2
    assert level_of([(5, "a"), (5, "b"), (5, "a")], ["a", "b", "a"], 10) == 3
    # Two a's at t=5 feed steps 1 and 3 around the b at t=5; the a at t=9 is unused.
    assert level_of([(5, "a"), (5, "a"), (5, "b"), (9, "a")], ["a", "b", "a", "a"], 10) == 4


def test_equal_timestamps_later_step_counts_regardless_of_row_order() -> None:
    # ClickHouse sorts by (timestamp, condition index), so b listed before a at the
    # same timestamp still follows a.
    assert level_of([(5, "b"), (5, "a")], ["a", "b"], 10) == 2
    assert level_of([(5, "c"), (5, "b"), (5, "a")], ["a", "b", "c"], 0) == 3


def test_single_step_funnel() -> None:
    assert level_of([(0, "x"), (1, "a")], ["a"], 0) == 1
    assert level_of([(0, "x")], ["a"], 0) == 0


def test_users_without_step_one_get_level_zero_and_are_listed() -> None:
    events = frame([(1, 0, "a"), (1, 1, "b"), (2, 0, "b"), (2, 1, "c"), (3, 0, "x")])
    out = window_funnel(events, ["a", "b", "c"], 10)
    assert out.to_dicts() == [
        {"user_id": 1, "level": 2},
        {"user_id": 2, "level": 0},
        {"user_id": 3, "level": 0},
    ]


def test_null_ts_or_event_rows_never_match_but_user_is_listed() -> None:
    events = frame([(1, None, "a"), (1, 1, None), (2, 0, "a")])
    out = window_funnel(events, ["a"], 10)
    assert out.to_dicts() == [{"user_id": 1, "level": 0}, {"user_id": 2, "level": 1}]


def test_empty_events() -> None:
    out = window_funnel(frame([]), ["a", "b"], 10)
    assert out.height == 0 and out.columns == ["user_id", "level"]


@pytest.mark.parametrize("unit", ["ms", "us", "ns"])
def test_datetime_ts_window_in_seconds(unit: str) -> None:
    base = datetime(2024, 3, 1, 12, 0, 0)
    events = pl.DataFrame(
        {
            "user_id": [1, 1, 2, 2, 3, 3],
            "ts": [base, base + timedelta(hours=1)] * 2 + [base, base + timedelta(seconds=59)],
            "event": ["a", "b", "a", "b", "a", "b"],
        },
        schema_overrides={"ts": pl.Datetime(unit)},
    )
    events = events.with_columns(
        pl.when(pl.col("user_id") == 2).then(pl.col("ts") + timedelta(milliseconds=1)).otherwise(pl.col("ts")).alias("ts")
    )
    # user 1: exactly one hour -> counts; user 2: both shifted by 1 ms -> still one hour.
    assert window_funnel(events, ["a", "b"], 3600)["level"].to_list() == [2, 2, 2]
    assert window_funnel(events, ["a", "b"], 3599.999)["level"].to_list() == [1, 1, 2]
    assert window_funnel(events, ["a", "b"], 58)["level"].to_list() == [1, 1, 1]


def test_datetime_window_exclusive_just_past_boundary() -> None:
    base = datetime(2024, 3, 1, tzinfo=UTC)
    events = pl.DataFrame(
        {"user_id": [1, 1], "ts": [base, base + timedelta(seconds=10, microseconds=1)], "event": ["a", "b"]}
    )
    assert window_funnel(events, ["a", "b"], 10)["level"][0] == 1
    assert window_funnel(events, ["a", "b"], 11)["level"][0] == 2


def test_date_ts_uses_seconds() -> None:
    from datetime import date

    events = pl.DataFrame({"user_id": [1, 1], "ts": [date(2024, 1, 1), date(2024, 1, 2)], "event": ["a", "b"]})
    assert window_funnel(events, ["a", "b"], 86_400)["level"][0] == 2
    assert window_funnel(events, ["a", "b"], 86_399)["level"][0] == 1


def test_string_user_ids_preserved_and_sorted() -> None:
    events = frame([("u2", 0, "a"), ("u1", 0, "a"), ("u1", 1, "b"), ("u3", 0, "b")], user_dtype=pl.String)
    out = window_funnel(events, ["a", "b"], 5)
    assert out.schema["user_id"] == pl.String
    assert out.to_dicts() == [
        {"user_id": "u1", "level": 2},
        {"user_id": "u2", "level": 1},
        {"user_id": "u3", "level": 0},
    ]


def test_int_user_id_dtype_preserved() -> None:
    events = frame([(7, 0, "a"), (3, 1, "b")], user_dtype=pl.Int32, ts_dtype=pl.UInt32)
    out = window_funnel(events, ["a", "b"], 5)
    assert out.schema["user_id"] == pl.Int32
    assert out.to_dicts() == [{"user_id": 3, "level": 0}, {"user_id": 7, "level": 1}]


def test_float_ts_and_categorical_event() -> None:
    events = pl.DataFrame(
        {"user_id": [1, 1, 1], "ts": [0.0, 0.5, 1.5], "event": ["a", "b", "c"]},
        schema_overrides={"event": pl.Categorical},
    )
    assert window_funnel(events, ["a", "b", "c"], 1.5)["level"][0] == 3
    assert window_funnel(events, ["a", "b", "c"], 1.0)["level"][0] == 2


# --- validation ------------------------------------------------------------------------


def test_missing_columns_raise() -> None:
    with pytest.raises(ValueError, match="missing required column"):
        window_funnel(pl.DataFrame({"user_id": [1], "event": ["a"]}), ["a"], 10)


def test_empty_steps_raise() -> None:
    with pytest.raises(ValueError, match="at least one"):
        window_funnel(frame([(1, 0, "a")]), [], 10)


def test_string_steps_raise() -> None:
    with pytest.raises(ValueError, match="not a single string"):
        window_funnel(frame([(1, 0, "a")]), "ab", 10)


@pytest.mark.parametrize("window", [-1, -0.5, float("nan")])
def test_bad_window_raises(window: float) -> None:
    with pytest.raises(ValueError, match="window_seconds"):
        window_funnel(frame([(1, 0, "a")]), ["a"], window)


def test_non_numeric_window_raises() -> None:
    with pytest.raises(ValueError, match="window_seconds must be a number"):
        window_funnel(frame([(1, 0, "a")]), ["a"], "10")  # type: ignore[arg-type]


def test_bad_ts_dtype_raises() -> None:
    with pytest.raises(ValueError, match="ts must be"):
        window_funnel(frame([(1, "0", "a")], ts_dtype=pl.String), ["a"], 10)


def test_null_user_id_raises() -> None:
    with pytest.raises(ValueError, match="user_id contains nulls"):
        window_funnel(frame([(None, 0, "a")]), ["a"], 10)


# --- property test against the oracle --------------------------------------------------

events_st = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 12), st.sampled_from("abcx")), max_size=24
)
# Few distinct timestamps: many ties, which is where one-event-per-step bugs hide.
dense_events_st = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 3), st.sampled_from("abx")), max_size=24
)
repeating_steps_st = st.lists(st.sampled_from("ab"), min_size=1, max_size=5)
steps_st = st.lists(st.sampled_from("abc"), min_size=1, max_size=4)


@settings(max_examples=400, deadline=None)
@given(rows=events_st, steps=steps_st, window=st.integers(0, 8))
def test_matches_reference_oracle(rows: list[tuple[int, int, str]], steps: list[str], window: int) -> None:
    got = window_funnel(frame(rows), steps, window)
    assert dict(zip(got["user_id"], got["level"])) == reference_levels(rows, steps, window)


@settings(max_examples=200, deadline=None)
@given(rows=dense_events_st, steps=repeating_steps_st, window=st.integers(0, 3))
def test_matches_reference_oracle_datetime_string_users(
    rows: list[tuple[int, int, str]], steps: list[str], window: int
) -> None:
    base = datetime(2024, 1, 1)
    events = pl.DataFrame(
        {
            "user_id": [f"user-{u}" for u, _, _ in rows],
            "ts": [base + timedelta(seconds=t) for _, t, _ in rows],
            "event": [e for _, _, e in rows],
        },
        schema={"user_id": pl.String, "ts": pl.Datetime("us"), "event": pl.String},
    )
    got = window_funnel(events, steps, window)
    expected = reference_levels([(f"user-{u}", t, e) for u, t, e in rows], steps, window)
    assert dict(zip(got["user_id"], got["level"])) == expected


# --- funnel tables ---------------------------------------------------------------------


def _table_events() -> pl.DataFrame:
    return frame(
        [
            (1, 0, "view"), (1, 1, "cart"), (1, 2, "buy"),  # level 3
            (2, 0, "view"), (2, 1, "cart"),  # level 2
            (3, 0, "view"), (3, 100, "cart"),  # level 1 (cart outside window)
            (4, 0, "view"),  # level 1
            (5, 0, "cart"), (5, 1, "buy"),  # level 0
        ]
    )  # fmt: skip


def test_funnel_table_counts() -> None:
    table = funnel_table(_table_events(), ["view", "cart", "buy"], 10)
    assert table.to_dicts() == [
        {"step": 1, "event": "view", "users": 4, "conversion_from_start": 1.0,
         "conversion_from_previous": 1.0, "drop_off": 0},
        {"step": 2, "event": "cart", "users": 2, "conversion_from_start": 0.5,
         "conversion_from_previous": 0.5, "drop_off": 2},
        {"step": 3, "event": "buy", "users": 1, "conversion_from_start": 0.25,
         "conversion_from_previous": 0.5, "drop_off": 1},
    ]  # fmt: skip


def test_funnel_table_no_starters_gives_zero_conversion() -> None:
    table = funnel_table(frame([(1, 0, "cart")]), ["view", "cart"], 10)
    assert table["users"].to_list() == [0, 0]
    assert table["conversion_from_start"].to_list() == [0.0, 0.0]
    assert table["conversion_from_previous"].to_list() == [0.0, 0.0]


def test_funnel_by_rail() -> None:
    rails = {"email": _table_events(), "sms": frame([(9, 0, "view"), (9, 5, "cart")])}
    out = funnel_by_rail(rails, ["view", "cart", "buy"], 10)
    assert out.columns[0] == "rail"
    assert out.select("rail", "step", "users").rows() == [
        ("email", 1, 4), ("email", 2, 2), ("email", 3, 1),
        ("sms", 1, 1), ("sms", 2, 1), ("sms", 3, 0),
    ]  # fmt: skip
    assert funnel_by_rail({}, ["view"], 10).columns == out.columns


@pytest.mark.slow
def test_rail_funnels_of_a_run(base_scenario, base_tables):
    from engine import datasets
    from engine.funnel import rail_funnels

    steps = datasets.site(base_scenario.site.kind)["funnel"]
    table = rail_funnels(base_tables, steps, 3600)
    assert table["rail"].unique().sort().to_list() == ["baseline", "fullstack", "truth"]
    users = {r: table.filter(pl.col("rail") == r)["users"].to_list() for r in ("truth", "baseline", "fullstack")}
    # The truth's step 1 is every visitor with a page view; the full stack sees fewer.
    assert users["truth"][0] == base_tables["truth_events"].filter(pl.col("event") == "page_view")["person_id"].n_unique()  # the truth counts people
    assert users["fullstack"][0] < users["truth"][0]
    # The baseline records no view_item events: its funnel stops at step 1.
    assert users["baseline"][1] == 0
    for r in users:
        assert users[r] == sorted(users[r], reverse=True)
