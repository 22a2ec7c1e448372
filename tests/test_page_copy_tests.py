"""AppTest: the Copy tests page renders its charts and tables from the run, and its knobs move the numbers."""

from __future__ import annotations

import pandas as pd
import pytest
from apptest_helpers import chart_specs as _specs
from apptest_helpers import first_text, open_page
from apptest_helpers import metric_value as _metric
from apptest_helpers import table_with as _frame
from streamlit.testing.v1 import AppTest

from engine import bandit
from ui.services import copy_tests
from ui.words import num, pct, t

PAGE = "app_pages/copy_tests.py"


@pytest.fixture(scope="module")
def page() -> AppTest:
    at = open_page(PAGE)
    # Keep the tests quick: a shorter test over fewer seeds.
    at.select_slider(key="ct.rounds").set_value(5_000).run()
    at.slider(key="ct.seeds").set_value(4).run()
    assert not at.exception
    return at








def _results(at: AppTest) -> pd.DataFrame:
    """The results table, its policies and rails (shown by name) back as codes."""
    frame = _frame(at, "policy", "rail", "cumulative_regret", "srm_flag").copy()
    policies = {t(f"common.policy.{p}"): p for p in bandit.POLICIES}
    rails = {t(f"charts.rail_{r}"): r for r in bandit.RAILS}
    assert set(frame["policy"]) <= set(policies) and set(frame["rail"]) <= set(rails)  # names, not codes
    frame["policy"], frame["rail"] = frame["policy"].map(policies), frame["rail"].map(rails)
    return frame.set_index(["policy", "rail"])


@pytest.mark.slow
def test_page_renders_charts_tables_and_sources(page):
    at = page
    specs = _specs(at)
    assert len(specs) >= 5
    layered = [s for s in specs if "layer" in s]
    marks = [{layer["mark"]["type"] for layer in s["layer"]} for s in layered]
    assert len(layered) == 2 and all(m == {"area", "line"} for m in marks)  # regret: mean line and band
    colour_fields = {s["layer"][0]["encoding"]["color"]["field"] for s in layered}
    assert colour_fields == {"policy", "rail"}
    # allocation over time: one chart per policy, each as wide as the page (a facet scrolled sideways on a phone)
    areas = [s for s in specs if s.get("mark", {}).get("type") == "area"]
    assert len(areas) == len(bandit.POLICIES) and not any("facet" in s or "width" in s for s in specs)
    assert any(s.get("encoding", {}).get("y", {}).get("field") == "density" for s in specs)
    p_best = [s for s in specs if s.get("encoding", {}).get("y", {}).get("field") == "p_best"]
    assert p_best and p_best[0]["encoding"]["xOffset"]["field"] == "rail"
    variants = _frame(at, "arm", "text", "true_rate", "fullstack_rate")
    # variants by short name in the table and the charts, each beside its text
    assert list(variants["arm"]) == [t("copy_tests.variant_name", letter=c) for c in "ABCD"[: len(bandit.variants()["variant"])]]
    assert list(variants["text"]) == [v["text"] for v in bandit.variants()["variant"]]
    results = _results(at)
    assert set(results.index.get_level_values("policy")) == set(bandit.POLICIES)
    assert {r for p, r in results.index if p == "thompson"} == set(bandit.RAILS)
    fairness = _frame(at, "policy", "by", "group", "attainment", "flagged")
    assert set(fairness["by"]) == {t("common.col.persona"), t("common.col.device")}
    text = " ".join([c.value for c in at.caption] + [m.value for m in at.markdown])
    assert "matbakh data-platform spec" in text and "illustrative assumptions" in text
    assert "computed from the run" in text
    assert len(at.get("download_button")) == 2 * len(at.dataframe)


def test_page_leads_with_the_best_text_and_what_the_full_stack_sees(page):
    at = page
    prob = copy_tests.problem(at.session_state["scenario"])
    arms = bandit.arm_table(prob).to_pandas().set_index("arm")
    truth_best, fullstack_best = arms["true_rate"].idxmax(), arms["fullstack_rate"].idxmax()
    lead = first_text(at)
    assert f"**“{arms.loc[truth_best, 'text']}”**" in lead and f"**“{arms.loc[fullstack_best, 'text']}”**" in lead
    assert f"**{pct(bandit.observed_share(prob))}** of sessions" in lead
    assert _metric(at, "Order rate of the best text (truth)") == pct(arms.loc[truth_best, "true_rate"], 2)
    # the regret sentence names the policies with the least and most regret on the chosen rail
    results = _results(at).xs("fullstack", level="rail")["cumulative_regret"]
    regret = next(m.value for m in at.markdown if "loses the fewest orders" in m.value)
    assert f"**{t('common.policy.' + results.idxmin())}**" in regret and f"**{t('common.policy.' + results.idxmax())}**" in regret
    assert f"**{num(results.min(), 1)}**" in regret


def test_rails_in_the_results(page):
    results = _results(page)
    # The truth and the baseline see every session; the full stack only its consenting share.
    assert results.loc[("thompson", "truth"), "observed_share"] == 1.0
    assert results.loc[("thompson", "baseline"), "observed_share"] == 1.0
    assert results.loc[("thompson", "fullstack"), "observed_share"] < 1.0
    assert not results.xs("truth", level="rail")["srm_flag"].any()
    # A contextual policy on the full stack: personas that consent differently see different variants.
    assert results.loc[("contextual_thompson", "fullstack"), "srm_flag"]
    assert not results.loc[("uniform", "fullstack"), "srm_flag"]


def test_consent_knob_moves_the_full_stack_not_the_truth(page):
    at = page
    before_share = float(_metric(at, "Sessions whose order the full stack sees").rstrip("%"))
    before = _results(at)
    truth_best = _metric(at, "Order rate of the best text (truth)")
    at.sidebar.selectbox(key="consent.banner").set_value("no_reject").run()
    assert not at.exception
    after = _results(at)
    assert float(_metric(at, "Sessions whose order the full stack sees").rstrip("%")) > before_share
    assert after.loc[("thompson", "fullstack"), "observed_share"] > before.loc[("thompson", "fullstack"), "observed_share"]
    assert after.loc[("thompson", "fullstack"), "observed"] != before.loc[("thompson", "fullstack"), "observed"]
    for rail in ("truth", "baseline"):  # the truth does not move, nor does the baseline (it sees every order)
        pd.testing.assert_series_equal(after.loc[("thompson", rail)], before.loc[("thompson", rail)])
    assert _metric(at, "Order rate of the best text (truth)") == truth_best


def test_rail_knob_switches_the_rail_the_policies_learn_from(page):
    at = page
    at.selectbox(key="ct.rail").set_value("truth").run()
    assert not at.exception
    results = _results(at)
    assert set(results.xs("truth", level="rail").index) == set(bandit.POLICIES)
    assert (results.xs("truth", level="rail")["observed_share"] == 1.0).all()
    assert not results["srm_flag"].loc[[(p, "truth") for p in bandit.POLICIES]].any()


@pytest.mark.slow
def test_a_learner_cannot_ask_for_more_than_the_learner_maximum():
    """The largest settings cost 65-70 s of CPU; a learner's options stop at the learner maximum and
    too many seeds for the chosen length are reduced, with a note."""
    from ui.limits import LEARNER_ROUNDS, LEARNER_WORK

    at = open_page(PAGE)
    assert max(at.select_slider(key="ct.rounds").options, key=lambda o: int(str(o).replace(",", ""))) == num(LEARNER_ROUNDS)
    at.select_slider(key="ct.rounds").set_value(LEARNER_ROUNDS).run()
    at.slider(key="ct.seeds").set_value(20).run()
    assert not at.exception
    seeds = LEARNER_WORK // LEARNER_ROUNDS
    assert any(f"using {seeds} seeds" in c.value for c in at.caption)
