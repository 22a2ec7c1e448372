"""engine.attribution: hand-made cases per model, sums, lookback edges, ties, the reference oracle on
random data, and the journeys each rail stitches on a real run."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from engine import attribution as A
from engine import datasets
from engine.attribution_reference import reference_credit

T0 = dt.datetime(2026, 3, 1, 12, 0)
DAY = dt.timedelta(days=1)


def _touches(*rows: tuple[str, dt.datetime, str]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"journey_id": pl.String, "ts": pl.Datetime("us"), "channel": pl.String}, orient="row")


def _convs(*rows: tuple[str, dt.datetime, float]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"journey_id": pl.String, "ts": pl.Datetime("us"), "value": pl.Float64}, orient="row")


def _credit(touches: pl.DataFrame, convs: pl.DataFrame, model: str, **kw: float) -> dict[str, float]:
    out = A.credit(touches, convs, model, **kw)
    assert out.columns == ["channel", "credit"] and out["channel"].is_unique().all()
    return {k: v for k, v in out.iter_rows() if v != 0.0}


def _approx(a: dict[str, float], b: dict[str, float]) -> None:
    keys = {k for k, v in a.items() if abs(v) > 1e-12} | {k for k, v in b.items() if abs(v) > 1e-12}
    for k in keys:
        assert math.isclose(a.get(k, 0.0), b.get(k, 0.0), rel_tol=1e-9, abs_tol=1e-9), (k, a, b)


@pytest.mark.parametrize("model", A.MODELS)
def test_one_touch_takes_everything(model):
    got = _credit(_touches(("j", T0 - DAY, "email")), _convs(("j", T0, 80.0)), model)
    _approx(got, {"email": 80.0})


@pytest.mark.parametrize(("model", "expected"), [
    ("first_touch", {"paid": 100.0}),
    ("last_touch", {"email": 100.0}),
    ("linear", {"paid": 50.0, "email": 50.0}),
    ("position_based", {"paid": 50.0, "email": 50.0}),
    # 2 days older with a 2-day half-life: half the weight -> 1/3 vs 2/3.
    ("time_decay", {"paid": 100 / 3, "email": 200 / 3}),
])
def test_two_touches(model, expected):
    t = _touches(("j", T0 - 3 * DAY, "paid"), ("j", T0 - DAY, "email"))
    _approx(_credit(t, _convs(("j", T0, 100.0)), model, half_life_days=2.0), expected)


def test_position_based_splits_40_20_40_over_four_touches():
    t = _touches(*[("j", T0 - d * DAY, c) for d, c in [(4, "paid"), (3, "social"), (2, "organic"), (1, "email")]])
    _approx(_credit(t, _convs(("j", T0, 100.0)), "position_based"), {"paid": 40.0, "social": 10.0, "organic": 10.0, "email": 40.0})


def test_lookback_is_inclusive_and_touches_after_the_conversion_do_not_count():
    t = _touches(("j", T0 - 30 * DAY, "paid"),  # exactly on the lookback edge: in
                 ("j", T0 - 30 * DAY - dt.timedelta(microseconds=1), "social"),  # just outside
                 ("j", T0, "email"),  # at the conversion instant: in
                 ("j", T0 + dt.timedelta(seconds=1), "organic"))  # after: out
    c = _convs(("j", T0, 60.0))
    _approx(_credit(t, c, "linear"), {"paid": 30.0, "email": 30.0})
    _approx(_credit(t, c, "first_touch"), {"paid": 60.0})
    _approx(_credit(t, c, "first_touch", lookback_days=7), {"email": 60.0})


def test_conversion_without_touches_goes_to_none():
    t = _touches(("j", T0 - 40 * DAY, "paid"), ("other", T0 - DAY, "email"))
    got = _credit(t, _convs(("j", T0, 25.0), ("k", T0, 5.0)), "last_touch")
    _approx(got, {A.NONE_CHANNEL: 30.0})


def test_two_conversions_in_one_journey_each_see_their_own_window():
    t = _touches(("j", T0 - 10 * DAY, "paid"), ("j", T0 - DAY, "email"), ("j", T0 + DAY, "social"))
    c = _convs(("j", T0, 100.0), ("j", T0 + 2 * DAY, 10.0))
    # First conversion: paid, email. Second: paid, email, social.
    _approx(_credit(t, c, "last_touch"), {"email": 100.0, "social": 10.0})
    _approx(_credit(t, c, "first_touch"), {"paid": 110.0})
    _approx(_credit(t, c, "linear"), {"paid": 50 + 10 / 3, "email": 50 + 10 / 3, "social": 10 / 3})
    # A 2-day lookback leaves the first conversion only email and the second only social.
    _approx(_credit(t, c, "first_touch", lookback_days=2), {"email": 100.0, "social": 10.0})


def test_ties_in_time_order_by_channel_name():
    t = _touches(("j", T0 - DAY, "social"), ("j", T0 - DAY, "email"), ("j", T0 - DAY, "paid"))
    c = _convs(("j", T0, 90.0))
    _approx(_credit(t, c, "first_touch"), {"email": 90.0})  # alphabetically first
    _approx(_credit(t, c, "last_touch"), {"social": 90.0})  # alphabetically last
    _approx(_credit(t, c, "position_based"), {"email": 36.0, "paid": 18.0, "social": 36.0})
    _approx(_credit(t, c, "time_decay"), {"email": 30.0, "paid": 30.0, "social": 30.0})
    # The input order does not matter.
    _approx(_credit(t.reverse(), c, "first_touch"), {"email": 90.0})


def test_unknown_model_and_bad_parameters_are_refused():
    t, c = _touches(("j", T0, "paid")), _convs(("j", T0, 1.0))
    with pytest.raises(ValueError, match="unknown model"):
        A.credit(t, c, "shapley")
    with pytest.raises(ValueError):
        A.credit(t, c, "time_decay", half_life_days=0)


def _random(seed: int, n_conv: int = 400, n_touch: int = 2000, journeys: int = 150) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    # Whole hours over 60 days: many exact ties in time, and touches on both sides of the lookback.
    t = pl.DataFrame({"journey_id": rng.integers(0, journeys, n_touch), "ts": rng.integers(0, 60 * 24, n_touch) * 3600,
                      "channel": np.array(["direct", "email", "organic", "paid", "social"])[rng.integers(0, 5, n_touch)]})
    c = pl.DataFrame({"journey_id": rng.integers(0, journeys + 20, n_conv), "ts": rng.integers(0, 60 * 24, n_conv) * 3600,
                      "value": rng.lognormal(3.0, 1.0, n_conv)})
    return t, c


@pytest.mark.parametrize("model", A.MODELS)
@pytest.mark.parametrize("seed", [1, 2])
def test_vectorised_equals_the_reference_on_random_data(model, seed):
    t, c = _random(seed)
    for lookback, half_life in [(30, 7.0), (3, 0.5)]:
        got = _credit(t, c, model, lookback_days=lookback, half_life_days=half_life)
        expected = reference_credit(t.rows(), c.rows(), model, lookback, half_life)
        _approx(got, expected)
        assert math.isclose(sum(got.values()), float(c["value"].sum()), rel_tol=1e-9)
    # And on datetimes, the way the app calls it.
    as_dt = pl.col("ts").cast(pl.Int64) * 1_000_000
    td, cd = (f.with_columns(as_dt.cast(pl.Datetime("us"))) for f in (t, c))
    _approx(_credit(td, cd, model), reference_credit(td.rows(), cd.rows(), model))


def test_rail_journeys_on_a_real_run(base_tables, base_scenario):
    site = datasets.site(base_scenario.site.kind)
    conv_event = site["conversion_event"]
    for rail in A.RAILS:
        touches, convs = A.rail_journeys(base_tables, rail, conv_event)
        assert touches["journey_id"].null_count() == 0 and touches["channel"].null_count() == 0
        assert convs.height > 0
    truth_t, truth_c = A.rail_journeys(base_tables, "truth", conv_event)
    te = base_tables["truth_events"]
    assert truth_t.height == te["session_id"].n_unique()
    assert math.isclose(float(truth_c["value"].sum()), float(te.filter(pl.col("event") == conv_event)["revenue"].sum()))
    # The baseline cannot tie two days together: no journey spans two dates.
    base_t, _ = A.rail_journeys(base_tables, "baseline", conv_event)
    assert base_t.group_by("journey_id").agg(pl.col("ts").dt.date().n_unique())["ts"].max() == 1
    # The full stack stitches devices through the login: fewer journeys than device ids.
    fs_t, fs_c = A.rail_journeys(base_tables, "fullstack", conv_event)
    fs = base_tables["fullstack_events"].filter(~pl.col("is_ping"))
    assert fs_t["journey_id"].n_unique() < fs["device_id"].n_unique()
    assert fs_c["journey_id"].str.starts_with("u:").all()  # every order is placed logged in
    assert A.unattributable_pings(base_tables, conv_event) == base_tables["fullstack_events"].filter(
        pl.col("is_ping") & (pl.col("event") == conv_event)).height


@pytest.mark.parametrize("model", A.MODELS)
def test_credit_by_rail_sums_to_each_rails_value(base_tables, base_scenario, model):
    out = A.credit_by_rail(base_tables, base_scenario.site.kind, model)
    conv_event = datasets.site(base_scenario.site.kind)["conversion_event"]
    for rail in A.RAILS:
        part = out.filter(pl.col("rail") == rail)
        _, convs = A.rail_journeys(base_tables, rail, conv_event)
        assert math.isclose(float(part["credit"].sum()), float(convs["value"].sum()), rel_tol=1e-9)
        assert math.isclose(float(part["share"].sum()), 1.0, rel_tol=1e-9)
        assert part["channel"].sort().to_list() == out.filter(pl.col("rail") == "truth")["channel"].sort().to_list()
    truth = out.filter(pl.col("rail") == "truth")
    assert (truth["share_error"] == 0).all()
    # The full stack loses refusers' orders: it holds less value than the truth.
    assert out.filter(pl.col("rail") == "fullstack")["credit"].sum() < truth["credit"].sum()


def test_a_rail_without_conversions_still_has_every_channel_at_zero(base_tables, base_scenario):
    conv_event = datasets.site(base_scenario.site.kind)["conversion_event"]
    blind = dict(base_tables) | {"fullstack_events": base_tables["fullstack_events"].filter(pl.col("event") != conv_event)}
    out = A.credit_by_rail(blind, base_scenario.site.kind, "linear")
    fs = out.filter(pl.col("rail") == "fullstack")
    assert fs.height == out.filter(pl.col("rail") == "truth").height > 0
    assert (fs["credit"] == 0).all() and (fs["conversions"] == 0).all()
    assert (fs["share_error"] == -fs["truth_share"]).all()
    # No conversions anywhere: an empty table with the same columns, not an error.
    none = {k: (v.filter(pl.col("event") != conv_event) if k.endswith("_events") else v) for k, v in base_tables.items()}
    empty = A.credit_by_rail(none, base_scenario.site.kind, "time_decay")
    assert empty.is_empty() and empty.columns == out.columns
