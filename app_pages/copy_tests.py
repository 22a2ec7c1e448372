"""Copy tests: call-to-action variants tested by bandit policies, learning through each rail's feedback."""

import streamlit as st

from engine import bandit
from engine.datasets import source_note
from ui import context
from ui.charts import copy_tests as charts
from ui.charts.theme import LABELS, rail_color
from ui.components.copy_test_settings import settings
from ui.components.copy_test_verdicts import fairness_verdict, srm_warnings
from ui.components.downloads import rounded, table_with_downloads
from ui.services import copy_tests

scenario = context.scenario()
rid = scenario.run_id
st.title("Copy tests")
st.caption(context.scenario_caption(scenario))
st.markdown(
    "Which call-to-action text sells best? A classic A/B test splits the sessions evenly; a **bandit** shifts "
    "sessions to the text that looks best so far. Either way the test learns only from the orders its rail "
    "reports: the **truth** (every order at once), the **full stack** (only consenting visitors without a "
    "blocker) or the **privacy baseline** (every order, but as daily counts per variant, without identity)."
)

cal = bandit.bandit_calibration()
prob = copy_tests.problem(scenario)
knobs = settings()
policies, rail, focus, seeds = knobs.policies, knobs.rail, knobs.focus, knobs.seeds
rail_label, focus_label = LABELS[rail], bandit.POLICY_LABELS[focus]

st.subheader("The copy variants")
arms = bandit.arm_table(prob)
table_with_downloads(rounded(arms), f"copy-variants-{rid}")
st.caption(
    "True order rate per session of each variant: over all sessions, among the sessions the full stack observes, and per "
    f"persona. The rates are {bandit.variants()['note'].lower()} (datasets/copy_variants.toml); the mix of visitor types and "
    "who the full stack observes (its share of each type's events, after consent and blockers) are computed from the run."
)
truth_best, fullstack_best = arms["arm"][int(arms["true_rate"].arg_max())], arms["arm"][int(arms["fullstack_rate"].arg_max())]
m1, m2, m3 = st.columns(3)
m1.metric("Best variant (truth)", truth_best)
m2.metric("Best variant as the full stack sees it", fullstack_best)
m3.metric("Sessions whose order the full stack sees", f"{bandit.observed_share(prob):.1%}")
if not policies:
    st.info("Pick at least one policy.")
    st.stop()

day_len = copy_tests.day_length(scenario, knobs.rounds)
runs = copy_tests.test_runs(prob, policies, rail, focus, knobs.rounds, seeds, knobs.context, day_len)

st.subheader("Regret: what learning costs")
st.altair_chart(charts.regret_chart(copy_tests.stacked(runs.on_rail, "regret"), "policy", charts.policy_colour(policies)))
st.caption(f"Cumulative regret per policy fed by the {rail_label} rail: expected orders lost against an oracle that shows every "
           f"visitor type its own best text (line: mean over {seeds} seeds; band: 10th to 90th percentile).")
st.altair_chart(charts.regret_chart(copy_tests.stacked(runs.across, "regret"), "rail", rail_color(rails=copy_tests.RAILS)))
st.caption(f"The same {focus_label} policy fed by each rail: the full stack learns from its consenting minority only, the "
           f"baseline learns once a day ({day_len:,} sessions a day over the scenario's {scenario.traffic.days} days).")

st.subheader("Where the sessions go")
st.altair_chart(charts.allocation_chart(copy_tests.stacked(runs.on_rail, "allocation"), prob.arms, policies))
st.caption(f"Share of sessions shown each variant as the test goes on (mean over seeds), per policy, on the {rail_label} rail; "
           f"every learning policy first explores uniformly until each variant has {cal['exploration_floor']} observations.")

st.subheader("What the test believes at the end")
left, right = st.columns(2)
left.altair_chart(charts.density_chart(runs.every[(focus, rail)]["density"], prob.arms))
left.caption(f"Beta posterior of each variant's order rate after {knobs.rounds:,} sessions of {focus_label} on the {rail_label} rail "
             "(first seed; Beta(1,1) prior; all visitor types pooled).")
right.altair_chart(charts.p_best_chart(copy_tests.stacked(runs.across, "arms"), prob.arms))
right.caption(f"Probability that each variant is the best (Monte Carlo from the posteriors, mean over seeds) per rail, for "
              f"{focus_label}; the truth's best is {truth_best}, the full stack's view favours {fullstack_best}.")

st.subheader("Sample-ratio mismatch, per rail")
res = copy_tests.results(runs.every)
table_with_downloads(rounded(res), f"copy-tests-{rid}")
st.caption(
    "Sessions assigned vs observed per variant (in the order of the variants table, summed over seeds), compared by a chi-square "
    f"goodness-of-fit test; flagged when p < {bandit.SRM_ALPHA} (a usual SRM threshold, a convention of this lab). A contextual "
    "policy on the full stack shows different variants to personas that consent at different rates: a mismatch."
)
srm_warnings(res)

st.subheader("Fairness")
fair = copy_tests.fairness(runs.on_rail)
table_with_downloads(rounded(fair), f"copy-tests-fairness-{rid}")
st.caption(
    "Attainment = expected order rate under the policy ÷ the rate the group's own best variant would give. A group is flagged when "
    f"its attainment trails the best-served group's by more than {cal['fairness_gap']:.0%}, relatively (1 − its ÷ best's): "
    "attainment rather than raw conversion, so groups with different buying intent compare fairly. Groups and contexts are "
    "persona and device only, never sensitive traits (sex, origin, age)."
)
fairness_verdict(fair, cal["fairness_gap"])
st.caption(f"Exploration floor ({cal['exploration_floor']} observations per variant) and fairness gap ({cal['fairness_gap']:.0%}): "
           f"{source_note('bandit')} Thompson sampling with Beta(1,1) priors is the reference policy. Every other number on this page is "
           "computed from the simulated run and the simulated tests.")
