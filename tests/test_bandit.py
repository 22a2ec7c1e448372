"""engine.bandit: policies and their regret, the exploration floor, feedback through each rail,
posteriors, the SRM check, the fairness flag and the context rule."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from conftest import small

from engine import bandit, datasets
from engine.bandit.stats import chi2_sf
from simulators.run import build_run

CLEAR = [0.05, 0.10, 0.30]
FLOOR = int(datasets.calibration()["bandit"]["exploration_floor"])
# Two visitor types that prefer opposite arms.
OPPOSITE = {"a": [0.05, 0.30], "b": [0.30, 0.05]}


def _regret(policy: str, rates=CLEAR, rounds: int = 5000, seeds=range(5), **options) -> float:
    return float(np.mean([bandit.simulate(policy, rates, rounds, s, **options)["regret"].sum() for s in seeds]))


# --- the API ---------------------------------------------------------------------------------------


def test_simulate_columns_dtypes_and_regret_definition():
    f = bandit.simulate("thompson", CLEAR, 2000, 3)
    assert f.columns[:4] == ["round", "arm", "reward", "regret"]
    assert f.schema["round"] == pl.Int64 and f.schema["arm"] == pl.Int64
    assert f.schema["reward"] == pl.Int64 and f.schema["regret"] == pl.Float64 and f.schema["observed"] == pl.Boolean
    assert f["round"].to_list() == list(range(1, 2001))
    assert set(f["reward"].unique()) <= {0, 1} and set(f["arm"].unique()) <= {0, 1, 2}
    np.testing.assert_allclose(f["regret"].to_numpy(), max(CLEAR) - np.array(CLEAR)[f["arm"].to_numpy()])
    assert f.equals(bandit.simulate("thompson", CLEAR, 2000, 3))  # reproducible by seed
    assert not f.equals(bandit.simulate("thompson", CLEAR, 2000, 4))


def test_rewards_follow_the_true_rates():
    f = bandit.simulate("uniform", CLEAR, 30_000, 1)
    per_arm = f.group_by("arm").agg(n=pl.len(), rate=pl.col("reward").mean()).sort("arm")
    for n, rate, true in zip(per_arm["n"], per_arm["rate"], CLEAR):
        assert abs(rate - true) < 4 * math.sqrt(true * (1 - true) / n)


def test_per_visitor_type_regret_uses_that_types_best_arm():
    f = bandit.simulate("uniform", OPPOSITE, 1000, 0, shares={"a": 0.5, "b": 0.5})
    best = f["visitor"].cast(pl.String).replace_strict({"a": 0.30, "b": 0.30}, return_dtype=pl.Float64)
    served = [OPPOSITE[v][a] for v, a in zip(f["visitor"].cast(pl.String), f["arm"])]
    np.testing.assert_allclose(f["regret"].to_numpy(), best.to_numpy() - np.array(served))
    assert 0.4 < (f["visitor"] == "a").mean() < 0.6


def test_unknown_policy_and_rail_are_rejected():
    with pytest.raises(ValueError, match="policy"):
        bandit.simulate("greedy", CLEAR, 10, 0)
    with pytest.raises(ValueError, match="rail"):
        bandit.simulate("thompson", CLEAR, 10, 0, rail="server")


# --- policies ------------------------------------------------------------------------------------------


def test_thompson_regret_far_below_uniform():
    uniform, thompson = _regret("uniform"), _regret("thompson")
    assert thompson < 0.1 * uniform
    for policy in ("epsilon_greedy", "ucb1"):
        assert _regret(policy) < 0.5 * uniform


@pytest.mark.parametrize("policy", ["epsilon_greedy", "ucb1", "thompson"])
def test_exploration_floor_honoured(policy):
    # One arm is obviously best: without the floor a learner abandons the others early.
    arms = bandit.simulate(policy, [0.9, 0.01, 0.01], 600, 5)["arm"].to_numpy()
    assert np.bincount(arms[: 3 * FLOOR], minlength=3).tolist() == [FLOOR] * 3
    pulls = np.zeros(3)
    for a in arms:
        if pulls.min() < FLOOR:  # still exploring: only arms below the floor may be chosen
            assert pulls[a] < FLOOR
        pulls[a] += 1


def test_without_the_floor_thompson_abandons_weak_arms_early():
    arms = bandit.simulate("thompson", [0.9, 0.01, 0.01], 600, 5, floor=0)["arm"].to_numpy()
    assert np.bincount(arms[: 3 * FLOOR], minlength=3).min() < FLOOR


def test_contextual_floor_is_per_segment():
    f = bandit.simulate("contextual_thompson", OPPOSITE, 2000, 1, context="persona")
    for visitor in OPPOSITE:
        arms = f.filter(pl.col("visitor") == visitor)["arm"].to_numpy()
        assert np.bincount(arms[: 2 * FLOOR], minlength=2).tolist() == [FLOOR, FLOOR]


def test_contextual_beats_pooled_when_segments_prefer_different_arms():
    pooled = _regret("thompson", OPPOSITE)
    contextual = _regret("contextual_thompson", OPPOSITE, context="persona")
    assert contextual < 0.3 * pooled
    # A segment map that merges both types is no better than pooling.
    merged = _regret("contextual_thompson", OPPOSITE, context="device", segments={"a": "x", "b": "x"})
    assert merged > 0.7 * pooled


# --- rails -----------------------------------------------------------------------------------------------


def test_fullstack_with_nothing_observed_learns_nothing():
    blind = bandit.simulate("thompson", CLEAR, 3000, 0, rail="fullstack", observe=0.0)
    assert not blind["observed"].any()
    alpha, beta = bandit.posteriors(blind, 3)
    assert (alpha == 1).all() and (beta == 1).all()
    shares = np.bincount(blind["arm"].to_numpy(), minlength=3) / blind.height
    assert np.all(np.abs(shares - 1 / 3) < 0.05)  # never leaves the uniform exploration
    seeing = bandit.simulate("thompson", CLEAR, 3000, 0)
    assert (seeing["arm"] == 2).mean() > 0.8


def test_fullstack_observes_its_share_per_visitor_type():
    f = bandit.simulate("thompson", OPPOSITE, 20_000, 0, rail="fullstack", observe={"a": 0.8, "b": 0.2})
    seen = f.group_by(pl.col("visitor").cast(pl.String)).agg(pl.col("observed").mean()).sort("visitor")["observed"]
    assert abs(seen[0] - 0.8) < 0.02 and abs(seen[1] - 0.2) < 0.02
    assert _regret("thompson", rail="fullstack", observe=0.1) > _regret("thompson")  # less feedback, slower learning


def test_baseline_reports_once_a_day():
    day = 500
    days = bandit.simulate("epsilon_greedy", CLEAR, 5000, 2, rail="baseline", day_length=day, epsilon=0.0).with_columns(
        day=(pl.col("round") - 1) // day
    )
    first = np.bincount(days.filter(pl.col("day") == 0)["arm"].to_numpy(), minlength=3)
    assert first.min() > FLOOR  # no report yet: the whole first day explores
    # A greedy policy only changes its mind when the day's counts arrive.
    assert days.filter(pl.col("day") > 0).group_by("day").agg(pl.col("arm").n_unique())["arm"].max() == 1
    instant = bandit.simulate("epsilon_greedy", CLEAR, day, 2, epsilon=0.0)["arm"].to_numpy()
    assert np.bincount(instant, minlength=3).max() > 0.6 * day  # the truth rail stops exploring after the floor


def test_consent_gating_can_crown_the_wrong_winner():
    # Consenting visitors prefer arm 1; everyone together prefers arm 0.
    rates = {"consenting": [0.10, 0.20], "refusing": [0.25, 0.02]}
    shares, observe = {"consenting": 0.5, "refusing": 0.5}, {"consenting": 0.9, "refusing": 0.1}
    assert bandit.population_rates(rates, shares).argmax() == 0
    assert bandit.observed_rates(rates, shares, observe).argmax() == 1
    options = {"shares": shares, "observe": observe}
    truth = bandit.simulate_many("thompson", rates, 5000, range(3), rail="truth", **options)
    fullstack = bandit.simulate_many("thompson", rates, 5000, range(3), rail="fullstack", **options)
    assert (bandit.prob_best(*bandit.posteriors(truth, 2)).argmax(axis=1) == 0).all()
    assert (bandit.prob_best(*bandit.posteriors(fullstack, 2)).argmax(axis=1) == 1).all()


# --- posteriors and curves ---------------------------------------------------------------------------------


def test_prob_best_and_densities():
    clear = bandit.prob_best(np.array([11.0, 31.0]), np.array([91.0, 71.0]))
    assert clear[1] > 0.99 and abs(clear.sum() - 1) < 1e-9
    even = bandit.prob_best(np.array([5.0, 5.0, 5.0]), np.array([50.0, 50.0, 50.0]), draws=30_000)
    assert np.all(np.abs(even - 1 / 3) < 0.02)
    dens = bandit.posterior_density(np.array([11.0, 31.0]), np.array([91.0, 71.0]), ["x", "y"], points=400)
    for arm, part in dens.group_by("arm"):
        x = part["rate"].to_numpy()
        assert abs(np.sum(part["density"].to_numpy()) * (x[1] - x[0]) - 1) < 0.01, arm


def test_regret_curve_and_allocation():
    f = bandit.simulate_many("thompson", CLEAR, 3000, range(4))
    curve = bandit.regret_curve(f)
    last = curve.filter(pl.col("round") == 3000).row(0, named=True)
    assert last["mean"] == pytest.approx(f.group_by("seed").agg(pl.col("regret").sum())["regret"].mean())
    assert (curve["low"] <= curve["mean"] + 1e-9).all() and (curve["mean"] <= curve["high"] + 1e-9).all()
    assert curve["mean"].is_sorted()
    alloc = bandit.allocation(f, ["x", "y", "z"], buckets=10)
    assert alloc.group_by("round").agg(pl.col("share").sum())["share"].to_numpy() == pytest.approx(1.0)
    late = alloc.filter(pl.col("round") == alloc["round"].max())
    assert late.filter(pl.col("arm") == "z")["share"][0] > 0.8


# --- SRM ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("x", [0.1, 1.0, 3.84, 10.0, 40.0])
def test_chi2_sf_matches_closed_forms(x):
    assert bandit.chi2_sf(x, 1) == pytest.approx(math.erfc(math.sqrt(x / 2)), rel=1e-9, abs=1e-15)
    assert bandit.chi2_sf(x, 2) == pytest.approx(math.exp(-x / 2), rel=1e-9)
    assert bandit.chi2_sf(x, 3) == pytest.approx(math.erfc(math.sqrt(x / 2)) + math.sqrt(2 * x / math.pi) * math.exp(-x / 2), rel=1e-9)
    assert bandit.chi2_sf(x, 4) == pytest.approx(math.exp(-x / 2) * (1 + x / 2), rel=1e-9)


# (x, df, P(X >= x)): the critical values of a printed chi-square table (upper tail 0.95, 0.05, 0.01,
# 0.001) and three round points. References to 10 significant digits from mpmath's regularised upper
# incomplete gamma at 50 digits (scipy.stats.chi2.sf agrees to ~1e-15). The 0.95 rows take the
# series branch of the incomplete gamma (x/2 < df/2 + 1), the others the continued fraction.
CHI2_REFERENCE = [
    (3.84, 1, 0.05004352125), (5.99, 2, 0.05003662709), (10.0, 3, 0.01856613546),
    (0.00393, 1, 0.9500135899), (3.841, 1, 0.05001368376), (6.635, 1, 0.009999419574), (10.828, 1, 0.0009997657196),
    (0.103, 2, 0.94980365), (9.210, 2, 0.010001702), (13.816, 2, 0.0009997553089),
    (0.352, 3, 0.9499694973), (7.815, 3, 0.04999390297), (16.266, 3, 0.001000111605),
    (1.145, 5, 0.9500437784), (11.070, 5, 0.05000961862), (15.086, 5, 0.01000112476),
    (3.940, 10, 0.9500130908), (18.307, 10, 0.05000058909), (23.209, 10, 0.01000086581),
    (10.851, 20, 0.9499953394), (31.410, 20, 0.0500052392), (37.566, 20, 0.01000065524),
    (18.493, 30, 0.9499937375), (43.773, 30, 0.04999970779),
    (77.929, 100, 0.9500040106), (124.342, 100, 0.05000071577), (135.807, 100, 0.009999573729),
]


@pytest.mark.parametrize(("x", "df", "reference"), CHI2_REFERENCE)
def test_chi2_sf_matches_reference_values(x, df, reference):
    assert chi2_sf(x, df) == pytest.approx(reference, rel=1e-9)


def test_srm_flags_an_injected_mismatch_and_passes_a_fair_split():
    assigned = np.array([10_000, 10_000, 10_000])
    fair = np.random.default_rng(7).binomial(assigned, 0.4)  # every arm observed with the same probability
    assert not bandit.srm(assigned, fair)["mismatch"]
    injected = fair.copy()
    injected[2] = round(injected[2] * 0.9)  # a tenth of one arm's observations lost
    check = bandit.srm(assigned, injected)
    assert check["mismatch"] and check["p_value"] < bandit.SRM_ALPHA and check["df"] == 2


def test_srm_on_rails():
    options = {"shares": {"a": 0.5, "b": 0.5}, "observe": {"a": 0.9, "b": 0.2}, "rail": "fullstack"}
    split = bandit.simulate("uniform", OPPOSITE, 10_000, 3, **options)
    assert not bandit.srm(*bandit.srm_counts(split, 2))["mismatch"]  # observation independent of the arm
    # A contextual policy gives each type its own arm; the types are observed at different rates.
    contextual = bandit.simulate("contextual_thompson", OPPOSITE, 10_000, 3, context="persona", **options)
    assert bandit.srm(*bandit.srm_counts(contextual, 2))["mismatch"]
    truth = bandit.simulate("contextual_thompson", OPPOSITE, 10_000, 3, context="persona", shares=options["shares"])
    assert bandit.srm(*bandit.srm_counts(truth, 2))["chi2"] == 0


# --- fairness and the context rule ------------------------------------------------------------------------------


def test_gap_flag_relative_and_absolute():
    assert bandit.gap_flag({"a": 0.10, "b": 0.094}, 0.05) == (pytest.approx(0.06), True)
    assert not bandit.gap_flag({"a": 0.10, "b": 0.096}, 0.05)[1]
    assert not bandit.gap_flag({"a": 0.10, "b": 0.094}, 0.05, relative=False)[1]  # 0.6 points absolute
    assert bandit.gap_flag({"a": 0.70, "b": 0.60}, 0.05, relative=False)[1]


def _served(visitors: list[str], arms: list[int], rates: dict) -> pl.DataFrame:
    regret = [max(rates[v]) - rates[v][a] for v, a in zip(visitors, arms)]
    return pl.DataFrame({"round": range(1, len(arms) + 1), "arm": arms, "reward": [0] * len(arms), "regret": regret,
                         "visitor": visitors, "observed": [True] * len(arms)})


def test_fairness_flags_a_group_served_its_worse_copy():
    rates = {"a": [0.10, 0.05], "b": [0.05, 0.10]}
    groups = {"a": "a", "b": "b"}
    everyone_arm_0 = _served(["a"] * 100 + ["b"] * 100, [0] * 200, rates)
    table = bandit.fairness(everyone_arm_0, rates, groups).sort("group")
    assert table["attainment"].to_list() == pytest.approx([1.0, 0.5])
    assert table["flagged"].to_list() == [False, True]
    mostly_own = _served(["a"] * 100 + ["b"] * 100, [0] * 100 + [1] * 97 + [0] * 3, rates)
    assert not bandit.fairness(mostly_own, rates, groups)["flagged"].any()  # 1.5% short: under the gap
    gap = datasets.calibration()["bandit"]["fairness_gap"]
    assert bandit.fairness(mostly_own, rates, groups, gap=0.01)["flagged"].any() and gap > 0.015


def test_fairness_of_pooled_and_contextual_policies():
    rates = {"a": [0.10, 0.05], "b": [0.05, 0.10]}
    options = {"shares": {"a": 0.8, "b": 0.2}}
    pooled = bandit.simulate("thompson", rates, 10_000, 0, **options)
    assert bandit.fairness(pooled, rates, {"a": "a", "b": "b"}).filter(pl.col("group") == "b")["flagged"][0]
    contextual = bandit.simulate("contextual_thompson", rates, 10_000, 0, context="persona", **options)
    assert not bandit.fairness(contextual, rates, {"a": "a", "b": "b"})["flagged"].any()


@pytest.mark.parametrize("name", ["sex", "gender", "origin", "age", "age_band", "ethnic_origin", "Religion"])
def test_sensitive_context_rejected(name):
    with pytest.raises(ValueError, match="sensitive"):
        bandit.check_context(name)
    with pytest.raises(ValueError, match="sensitive"):
        bandit.simulate("contextual_thompson", OPPOSITE, 100, 0, context=name)


def test_allowed_and_unknown_contexts():
    assert [bandit.check_context(c) for c in ("persona", "device")] == ["persona", "device"]
    with pytest.raises(ValueError, match="unknown"):
        bandit.check_context("page")  # not sensitive ("age" is only a substring), but not an allowed context
    with pytest.raises(ValueError, match="needs a context"):
        bandit.simulate("contextual_thompson", OPPOSITE, 100, 0)


# --- the lab's problem from a run -----------------------------------------------------------------------------------


def test_copy_variants_dataset():
    spec = bandit.variants()
    assert "illustrative" in spec["note"].lower()
    assert spec["personas"] == datasets.load("population")["persona"]["names"]
    assert 3 <= len(spec["variant"]) <= 4
    for v in spec["variant"]:
        assert len(v["rates"]) == len(spec["personas"]) and all(0 < r < 1 for r in v["rates"])
    for lift in spec["device_lift"].values():
        assert len(lift) == len(spec["variant"])


def test_problem_from_run(base_tables):
    types = bandit.visitor_types(base_tables)
    assert types["share"].sum() == pytest.approx(1.0)
    assert types["sessions"].sum() == base_tables["visitors"]["n_sessions"].sum()
    assert types.filter((pl.col("observe") < 0) | (pl.col("observe") > 1)).is_empty()
    # Weighted by truth events, the observation rates give the full stack's overall share of truth events.
    overall = base_tables["fullstack_events"].filter(~pl.col("is_ping")).height / base_tables["truth_events"].height
    assert (types["observe"] * types["truth_events"]).sum() / types["truth_events"].sum() == pytest.approx(overall)
    prob = bandit.problem(types)
    spec = bandit.variants()
    assert prob.arms == tuple(v["id"] for v in spec["variant"])
    row = types.row(0, named=True)
    name = f"{row['persona']}/{row['device']}"
    p = spec["personas"].index(row["persona"])
    assert prob.rates[name] == pytest.approx([v["rates"][p] * f for v, f in zip(spec["variant"], spec["device_lift"][row["device"]])])
    assert set(prob.segments("device").values()) == set(types["device"])
    with pytest.raises(ValueError, match="sensitive"):
        prob.segments("age")
    assert bandit.Problem.from_json(prob.to_json()) == prob
    table = bandit.arm_table(prob)
    assert table["true_rate"].to_numpy() == pytest.approx(bandit.population_rates(prob.rates, prob.shares))


def test_consent_knob_moves_what_the_full_stack_observes(base_traffic, base_tables):
    generous = build_run(small({"consent.banner": "no_reject"}), base_traffic)
    base, more = bandit.problem(bandit.visitor_types(base_tables)), bandit.problem(bandit.visitor_types(generous))
    assert bandit.observed_share(more) > bandit.observed_share(base)
    assert more.rates == base.rates and more.shares == base.shares  # the truth does not move


def test_summary_has_every_part():
    prob = bandit.Problem(("x", "y"), ("X", "Y"), {"p/d": (0.05, 0.2), "q/d": (0.2, 0.05)}, {"p/d": 0.5, "q/d": 0.5},
                          {"p/d": 0.9, "q/d": 0.2}, {"p/d": {"persona": "p", "device": "d"}, "q/d": {"persona": "q", "device": "d"}})
    out = bandit.summary(prob, "contextual_thompson", "fullstack", 3000, 3, "persona")
    assert set(out) == {"regret", "allocation", "arms", "density", "srm", "fairness", "totals"}
    assert out["arms"]["crowned"].sum() == pytest.approx(1.0) and out["arms"]["assigned"].sum() == 9000
    assert out["srm"]["mismatch"][0]
    assert 0.4 < out["totals"]["observed_share"][0] < 0.7
