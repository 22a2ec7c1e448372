"""Copy tests: call-to-action variants tested by bandit policies, learning through each rail's feedback."""

import polars as pl
import streamlit as st

from engine import bandit
from engine.datasets import source_note
from ui import context
from ui.charts import copy_tests as charts
from ui.charts import theme
from ui.charts.theme import rail_color, rail_label
from ui.components.copy_test_settings import policy_name, settings
from ui.components.copy_test_verdicts import fairness_verdict, group_name, named, srm_warnings
from ui.components.downloads import people_table
from ui.present import note
from ui.services import copy_tests
from ui.words import num, pct, t

scenario = context.scenario()
rid = scenario.run_id
st.title(t("copy_tests.title"))
cal = bandit.bandit_calibration()
prob = copy_tests.problem(scenario)
arms = bandit.arm_table(prob)
text = dict(zip(arms["arm"], arms["text"], strict=True))
# The charts draw variants by a short name ("Variant A"); the table under the first section says which text each is.
short = {arm: t("copy_tests.variant_name", letter=chr(ord("A") + i)) for i, arm in enumerate(prob.arms)}
named_arms = tuple(short[a] for a in prob.arms)
truth_best, fullstack_best = arms["arm"][int(arms["true_rate"].arg_max())], arms["arm"][int(arms["fullstack_rate"].arg_max())]
st.markdown(t("copy_tests.lead", truth_best=text[truth_best], fullstack_best=text[fullstack_best], observed=pct(bandit.observed_share(prob)),
              agree=t("copy_tests.lead_agree" if truth_best == fullstack_best else "copy_tests.lead_disagree")))
note(context.scenario_caption(scenario))
with st.expander(t("copy_tests.method_title")):
    st.markdown(t("copy_tests.method"))

knobs = settings()
policies, rail, focus, seeds = knobs.policies, knobs.rail, knobs.focus, knobs.seeds
rail_name, focus_label = rail_label(rail), policy_name(focus)

st.subheader(t("copy_tests.variants_heading"))
rate = dict(zip(arms["arm"], arms["true_rate"], strict=True))
st.markdown(t("copy_tests.variants_lead", truth_best=text[truth_best], truth_rate=pct(rate[truth_best], 1),
              fullstack_best=text[fullstack_best], fullstack_rate=pct(rate[fullstack_best], 1)))
m1, m2, m3 = st.columns(3)  # numbers only: a variant's text does not fit a big number's width
m1.metric(t("copy_tests.best_truth"), pct(rate[truth_best], 2))
m2.metric(t("copy_tests.best_fullstack"), pct(rate[fullstack_best], 2))
m3.metric(t("copy_tests.observed"), pct(bandit.observed_share(prob), 1))
note(t("copy_tests.variants_note", note=t("copy_tests.rates_assumed")))  # datasets/copy_variants.toml says so in English
people_table(arms, f"copy-variants-{rid}", {p: group_name(p) for p in arms.columns if p not in ("arm", "text", "true_rate", "fullstack_rate")},
             shown=lambda f: named(f, short), digits=4)
if not policies:
    st.info(t("copy_tests.pick_policy"))
    st.stop()

day_len = copy_tests.day_length(scenario, knobs.rounds)
with st.spinner(t("copy_tests.running")):  # shown only when it takes more than half a second (a cache miss)
    runs = copy_tests.test_runs(prob, policies, rail, focus, knobs.rounds, seeds, knobs.context, day_len)
res = copy_tests.results(runs.every)
on_rail = res.filter(pl.col("rail") == rail, pl.col("policy").is_in(policies)).sort("cumulative_regret")
across = dict(zip(*res.filter(pl.col("policy") == focus).select("rail", "cumulative_regret"), strict=True))

st.subheader(t("copy_tests.regret_heading"))
st.markdown(t("copy_tests.regret_lead", rail=rail_name, rounds=num(knobs.rounds), best=policy_name(on_rail["policy"][0]),
              best_regret=num(on_rail["cumulative_regret"][0], 1), worst=policy_name(on_rail["policy"][-1]),
              worst_regret=num(on_rail["cumulative_regret"][-1], 1)))
theme.show(charts.regret_chart(copy_tests.stacked(runs.on_rail, "regret"), "policy", charts.policy_colour(policies)))
note(t("copy_tests.regret_note", rail=rail_name, seeds=num(seeds)))
st.markdown(t("copy_tests.across_lead", policy=focus_label, **{r: num(across[r], 1) for r in copy_tests.RAILS}))
theme.show(charts.regret_chart(copy_tests.stacked(runs.across, "regret"), "rail", rail_color(rails=copy_tests.RAILS, orient="bottom")))
note(t("copy_tests.across_note", day_len=num(day_len), days=num(scenario.traffic.days)))

st.subheader(t("copy_tests.allocation_heading"))
alloc = named(copy_tests.stacked(runs.on_rail, "allocation"), short)
end = alloc.filter(pl.col("policy") == on_rail["policy"][0], pl.col("round") == pl.col("round").max()).sort("share", descending=True)
by_name = {v: k for k, v in short.items()}
st.markdown(t("copy_tests.allocation_lead", policy=policy_name(on_rail["policy"][0]), arm=text[by_name[end["arm"][0]]], share=pct(end["share"][0])))
for policy in policies:  # one chart per policy: a faceted chart cannot take the container's width
    theme.show(charts.allocation_chart(alloc.filter(pl.col("policy") == policy), named_arms, policy_name(policy),
                                            legend=policy == policies[-1]))
note(t("copy_tests.allocation_note", rail=rail_name, floor=num(cal["exploration_floor"])))

st.subheader(t("copy_tests.belief_heading"))
belief = runs.every[(focus, rail)]["arms"].sort("p_best", descending=True)
st.markdown(t("copy_tests.belief_lead", policy=focus_label, rail=rail_name, arm=text[belief["arm"][0]], p=pct(belief["p_best"][0]),
              truth_best=text[truth_best]))
left, right = st.columns(2)
with left:
    theme.show(charts.density_chart(named(runs.every[(focus, rail)]["density"], short), named_arms))
    note(t("copy_tests.density_note", rounds=num(knobs.rounds), policy=focus_label, rail=rail_name))
with right:
    theme.show(charts.p_best_chart(named(copy_tests.stacked(runs.across, "arms"), short), named_arms))
    note(t("copy_tests.p_best_note", policy=focus_label))

st.subheader(t("copy_tests.srm_heading"))
st.markdown(t("copy_tests.srm_lead", flagged=num(res["srm_flag"].sum()), tests=num(res.height)))
srm_warnings(res)
note(t("copy_tests.srm_note", alpha=num(bandit.SRM_ALPHA, 3)))
people_table(res, f"copy-tests-{rid}", shown=lambda f: named(f, short, "crowned_most"), digits=4)

st.subheader(t("copy_tests.fairness_heading"))
fair = copy_tests.fairness(runs.on_rail)
worst = fair.sort("attainment").row(0, named=True)
st.markdown(t("copy_tests.fairness_lead", group=group_name(worst["group"]), policy=policy_name(worst["policy"]),
              attainment=pct(worst["attainment"])))
fairness_verdict(fair, cal["fairness_gap"])
note(t("copy_tests.fairness_note", gap=pct(cal["fairness_gap"])))
people_table(fair, f"copy-tests-fairness-{rid}", digits=4)
with st.expander(t("copy_tests.sources_title")):
    st.caption(t("copy_tests.sources", floor=num(cal["exploration_floor"]), gap=pct(cal["fairness_gap"]), source=source_note("bandit")))
