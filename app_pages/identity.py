"""Identity: which sessions each rail can tie to the same person, scored against the truth; why
fingerprinting needs consent and why a keyed e-mail hash is still personal data. A measurement on
simulated visitors: the app offers no stitching of real data."""

import polars as pl
import streamlit as st

from ui import context
from ui.charts import identity as charts
from ui.components.downloads import rounded, table_with_downloads
from ui.services import identity

scenario = context.scenario()
st.title("Identity: who the site can tell apart")
st.caption(context.scenario_caption(scenario))
measure_fp = st.toggle("Measure cookieless fingerprint matching too", value=True, key="identity.fingerprint",
                       help="Scores the method some vendors use without consent, on the simulated visitors only.")
scores = identity.scores(scenario, measure_fp)
row = {r["method"]: r for r in scores.iter_rows(named=True)}
base, login = row["daily_hash"], row["login"]

finding = (f"Cookie and login tie together **{login['recall'] or 0:.0%}** of the same-person session pairs the full stack sees, "
           f"but only for the **{login['share_identified']:.0%}** of sessions with analytics consent; the privacy baseline's "
           f"daily hash ties **{base['recall'] or 0:.0%}**, because it forgets everyone at midnight.")
if measure_fp:
    fp = row["fingerprint"]
    finding += (f" A cookieless fingerprint reaches **{fp['share_identified']:.0%}** of sessions without asking anyone, "
                f"and **{1 - fp['precision']:.0%}** of the pairs it claims are two different people.")
st.markdown(finding)

cols = st.columns(len(scores))
for col, r in zip(cols, scores.iter_rows(named=True), strict=True):
    col.metric(r["label"], f"{r['precision']:.0%} · {r['recall'] or 0:.0%}", help="precision · recall of 'same person'")
st.caption("Each number pair: **precision** (of the session pairs a method calls the same person, the share that are) · "
           "**recall** (of the truly same-person pairs among the sessions it identifies, the share it finds). "
           "Cookie + login: device cookies joined through the keyed hash of the e-mail each login sends.")
st.altair_chart(charts.precision_recall_chart(scores))
if measure_fp:
    st.caption("This page is measuring fingerprint matching: sessions where the site's script ran (with or without consent) "
               "grouped by what a script reads: user agent, screen, timezone, language, fonts, canvas, WebGL, plugins. "
               "Look-alike browsers share a fingerprint, so it merges strangers.")

st.subheader("Across devices")
xd = identity.cross_device(scenario, measure_fp)
splits = identity.cookie_splits(scenario)
st.markdown(identity.cross_device_sentence(xd, splits))
st.caption("Who uses a second device is a modelling assumption, not a published figure: 40% of account holders who come back "
           "more than once use a phone beside their desktop (or a desktop beside their phone or tablet) for some return "
           "visits, and log in there with the same e-mail. Each device is its own browser: its own cookie, its own banner "
           "answer (consent is stored per browser). Joined = one identity covers sessions on two of the person's devices.")
st.altair_chart(charts.cross_device_chart(xd))

st.subheader("Why this is personal data, and when it needs consent")
st.markdown(
    "**Fingerprinting needs consent.** Art. 5(3) of the ePrivacy Directive (2002/58/EC, as amended by 2009/136/EC) allows "
    "storing information on a user's device, or gaining access to information already stored there, only with consent, "
    "unless it is strictly necessary for the service the user asked for. A fingerprinting script reads the device's "
    "configuration, which is such access; the Article 29 Working Party's Opinion 9/2014 on device fingerprinting (WP 224) "
    "says Art. 5(3) applies to it. Measuring an audience is not strictly necessary for showing a page.\n\n"
    "**A keyed hash of an e-mail is still personal data.** GDPR Art. 4(1) covers any information relating to an identifiable "
    "person; Art. 4(5) defines pseudonymisation as data that can no longer be attributed to a person *without additional "
    "information* kept separately; Recital 26 says pseudonymised data that can be attributed with such information is "
    "information on an identifiable person. Whoever holds the key, or sees the same e-mail log in again, links the hash to "
    "the person: that linking is exactly what the login method above measures."
)
st.info("A measurement on simulated visitors. Rail rows are matched to true sessions through event ids, a privilege only "
        "a lab holding the truth has. The app offers no identity stitching for real data.")

with st.expander("Show data"):
    table_with_downloads(rounded(scores.drop("method")), f"identity-{scenario.run_id}")
    st.caption("Pairs are counted from group sizes: correct pairs = same person and same identity; precision = correct / "
               "claimed; recall = correct / true pairs among the identified sessions; joined = people with several "
               "sessions all under one identity. A session takes the identifier on its first recorded event.")
    table_with_downloads(rounded(xd.drop("method")), f"identity-cross-device-{scenario.run_id}")
    table_with_downloads(rounded(pl.DataFrame([splits])), f"identity-cookie-splits-{scenario.run_id}")
