"""Copy tests: call-to-action variants tested by bandit policies, learning through each rail's feedback."""

import polars as pl
import streamlit as st

from engine import bandit
from engine.datasets import source_note
from ui import context
from ui.charts import theme
from ui.components.downloads import table_with_downloads
from ui.services import copy_tests as bd

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
prob = bd.problem(scenario)
c1, c2, c3 = st.columns([3, 2, 1])
policies = c1.multiselect("Policies", bandit.POLICIES, default=list(bandit.POLICIES), format_func=bandit.POLICY_LABELS.get, key="ct.policies")
rounds = c2.select_slider("Sessions in the test", [2_000, 5_000, 10_000, 20_000, 50_000, 100_000], value=10_000, key="ct.rounds")
seeds = c3.slider("Seeds", 2, 20, 8, key="ct.seeds")
c4, c5, c6 = st.columns(3)
rail = c4.selectbox("Feedback rail", bd.RAILS, index=2, format_func=theme.LABELS.get, key="ct.rail")
ctx = c5.selectbox("Context of the contextual policy", bandit.CONTEXTS, key="ct.context")
focus = c6.selectbox("Policy compared across rails", bandit.POLICIES[:4], index=3, format_func=bandit.POLICY_LABELS.get, key="ct.focus")
rail_label, focus_label = theme.LABELS[rail], bandit.POLICY_LABELS[focus]

st.subheader("The copy variants")
arms = bandit.arm_table(prob)
table_with_downloads(arms.with_columns(pl.selectors.float().round(4)), f"copy-variants-{rid}")
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

day_len = bd.day_length(scenario, rounds)
runs = {(p, rail): bd.summary(prob, p, rail, rounds, seeds, ctx, day_len) for p in policies}
runs |= {(focus, r): bd.summary(prob, focus, r, rounds, seeds, ctx, day_len) for r in bd.RAILS}
on_rail = {k: v for k, v in runs.items() if k[1] == rail and k[0] in policies}
across = {k: v for k, v in runs.items() if k[0] == focus}

st.subheader("Regret: what learning costs")
st.altair_chart(bd.regret_chart(bd.stacked(on_rail, "regret"), "policy", bd.policy_colour(policies)))
st.caption(f"Cumulative regret per policy fed by the {rail_label} rail: expected orders lost against an oracle that shows every "
           f"visitor type its own best text (line: mean over {seeds} seeds; band: 10th to 90th percentile).")
st.altair_chart(bd.regret_chart(bd.stacked(across, "regret"), "rail", theme.rail_color(rails=bd.RAILS)))
st.caption(f"The same {focus_label} policy fed by each rail: the full stack learns from its consenting minority only, the "
           f"baseline learns once a day ({day_len:,} sessions a day over the scenario's {scenario.traffic.days} days).")

st.subheader("Where the sessions go")
st.altair_chart(bd.allocation_chart(bd.stacked(on_rail, "allocation"), prob.arms, policies))
st.caption(f"Share of sessions shown each variant as the test goes on (mean over seeds), per policy, on the {rail_label} rail; "
           f"every learning policy first explores uniformly until each variant has {cal['exploration_floor']} observations.")

st.subheader("What the test believes at the end")
left, right = st.columns(2)
left.altair_chart(bd.density_chart(runs[(focus, rail)]["density"], prob.arms))
left.caption(f"Beta posterior of each variant's order rate after {rounds:,} sessions of {focus_label} on the {rail_label} rail "
             "(first seed; Beta(1,1) prior; all visitor types pooled).")
right.altair_chart(bd.p_best_chart(bd.stacked(across, "arms"), prob.arms))
right.caption(f"Probability that each variant is the best (Monte Carlo from the posteriors, mean over seeds) per rail, for "
              f"{focus_label}; the truth's best is {truth_best}, the full stack's view favours {fullstack_best}.")

st.subheader("Sample-ratio mismatch, per rail")
res = bd.results(runs)
table_with_downloads(res.with_columns(pl.selectors.float().round(4)), f"copy-tests-{rid}")
st.caption(
    "Sessions assigned vs observed per variant (in the order of the variants table, summed over seeds), compared by a chi-square "
    f"goodness-of-fit test; flagged when p < {bandit.SRM_ALPHA} (a usual SRM threshold, a convention of this lab). A contextual "
    "policy on the full stack shows different variants to personas that consent at different rates: a mismatch."
)
for row in res.filter(pl.col("srm_flag")).iter_rows(named=True):
    st.warning(f"Sample-ratio mismatch: {bandit.POLICY_LABELS[row['policy']]} on the {theme.LABELS[row['rail']]} rail (p = {row['p_value']:.1e}).")

st.subheader("Fairness")
fair = bd.stacked(on_rail, "fairness").select("policy", "by", "group", "sessions", "conversion", "expected", "best", "attainment",
                                               "shortfall", "flagged")
table_with_downloads(fair.with_columns(pl.selectors.float().round(4)), f"copy-tests-fairness-{rid}")
st.caption(
    "Attainment = expected order rate under the policy ÷ the rate the group's own best variant would give. A group is flagged when "
    f"its attainment trails the best-served group's by more than {cal['fairness_gap']:.0%}, relatively (1 − its ÷ best's): "
    "attainment rather than raw conversion, so groups with different buying intent compare fairly. Groups and contexts are "
    "persona and device only, never sensitive traits (sex, origin, age)."
)
flagged = fair.filter(pl.col("flagged")).group_by("policy", maintain_order=True).agg(pl.col("group"))
if flagged.height:
    st.warning(f"Fairness gap above {cal['fairness_gap']:.0%}: " + "; ".join(
        f"{bandit.POLICY_LABELS[p]} leaves {', '.join(g)} behind" for p, g in flagged.iter_rows()))
else:
    st.success(f"No group trails another by more than {cal['fairness_gap']:.0%}.")
st.caption(f"Exploration floor ({cal['exploration_floor']} observations per variant) and fairness gap ({cal['fairness_gap']:.0%}): "
           f"{source_note('bandit')} Thompson sampling with Beta(1,1) priors is the reference policy. Every other number on this page is "
           "computed from the simulated run and the simulated tests.")
