"""Privacy leaks: fingerprints, quasi-identifiers per rail, linkability across days, and why an
unkeyed hash is no anonymisation."""

import polars as pl
import streamlit as st

from engine.datasets import calibration, source_note
from engine.privacy import K_THRESHOLD
from ui import context
from ui.charts import privacy as charts
from ui.components.downloads import rounded, table_with_downloads
from ui.components.fingerprint_populations import fingerprint_populations
from ui.components.privacy_demos import crack_demo, one_in_n, visitor_picker
from ui.services import privacy

scenario = context.scenario()
run = scenario.run_id
st.title("Privacy leaks")
st.markdown(
    "What the data gives away even when no name is stored: how unique a browser's **fingerprint** is, how few "
    "visitors share what each rail keeps (**k-anonymity**), who can **follow a visitor from one day to the next**, "
    "and why a **hash without a secret key** is reversed by simply trying every possible input."
)
st.caption(context.scenario_caption(scenario))

st.subheader("Browser fingerprints")
fp = privacy.fingerprints(scenario)
shares = calibration()["fingerprint"]["unique_share"]
c = st.columns(3)
c[0].metric("Unique fingerprints (simulated)", f"{fp['unique_share']:.1%}", help=f"Among this run's {fp['browsers']:,} simulated browsers, all 12 attributes.")
c[1].metric("Panopticlick (published, n=470,161)", f"{shares['panopticlick']:.1%}")
c[2].metric("AmIUnique (published, n=118,934)", f"{shares['amiunique']:.1%}")
st.caption(f"{source_note('fingerprint', 'unique_share')} Both studies sampled privacy-aware visitors of a test site; "
           "below, the same comparison for ordinary visitors of a popular website.")
st.altair_chart(charts.entropy_chart(fp["entropy"]))
st.caption("Entropy of each fingerprint attribute in the simulated population (bits), beside the published values.")
st.caption(f"{source_note('fingerprint', 'entropy_bits')} 'One in X' = 2^bits: how many browsers an average value of "
           "the attribute hides you among. The simulated user-agent build tokens, plugin lists and Accept-Language variants follow "
           "the era of these studies (2010–2016) so the bits compare; today's browsers freeze most of them, and a population "
           "with many phones (which list no plugins) carries fewer plugin bits.")
table_with_downloads(rounded(fp["entropy"], 2), f"fingerprint-entropy-{run}")
st.altair_chart(charts.histogram_chart(fp["histogram"]))
st.caption("How many browsers share each simulated browser's exact fingerprint (its anonymity set).")
st.markdown("**Volunteers or a general audience?**")
fingerprint_populations(scenario)

st.subheader("Your simulated browser is one in N")
visitor = visitor_picker(privacy.visitor_options(scenario))
rarity, country = privacy.rarity(scenario, visitor)
one_in_n(rarity)
st.altair_chart(charts.rarity_chart(rarity))
st.caption("Bits of surprise per attribute for this visitor: log2 of how many browsers there are per browser sharing its value.")
table_with_downloads(rounded(rarity), f"one-in-n-{run}-{visitor}")
st.caption("Adding the bits as if the attributes were independent overstates uniqueness: the user agent largely fixes "
           "platform, WebGL renderer and fonts, as it does in the simulator's device profiles.")

st.subheader("Quasi-identifiers per rail: k-anonymity")
k_table, steps = privacy.quasi_identifiers(scenario)
st.altair_chart(charts.k_chart(k_table))
st.caption(f"Share of each rail's visitor records whose combination of stored quasi-identifiers fewer than {K_THRESHOLD} true visitors share.")
table_with_downloads(rounded(k_table), f"k-anonymity-{run}")
st.caption("k is the smallest number of true visitors sharing one combination (1 = someone is singled out). The full stack's "
           "device id singles out every consenting visitor by design: it is a pseudonym, and pseudonymous data is personal data.")
st.markdown("**What each masking step buys** (records of country, IPv4, user agent and day, from the truth):")
st.altair_chart(charts.steps_chart(steps))
st.caption(f"Share of visitor-days in groups of fewer than {K_THRESHOLD} visitors after each masking step.")
table_with_downloads(rounded(steps), f"masking-steps-{run}")

st.subheader("Linkability across days")
link = privacy.linkability(scenario)
st.altair_chart(charts.link_chart(link))
st.caption("Share of returning visitors' day-to-next-active-day visits each method ties to the same person.")
table_with_downloads(rounded(link), f"linkability-{run}")
daily, fixed = (link.filter(pl.col("method") == f"baseline, {s} salt")["share_linked"][0] for s in ("daily", "fixed"))
fp_share = link.filter(pl.col("method") == "cookieless fingerprint")["share_linked"][0]
st.markdown(
    f"With a **daily salt** the baseline links {daily:.0%} of these visits; with a **fixed salt** {fixed:.0%}: the same "
    f"IP and user agent give the same hash every day. A cookieless tool that **fingerprints** instead links {fp_share:.0%} "
    "despite any salt, because the fingerprint itself is the identifier."
)

st.subheader("Hashing is not anonymisation")
crack_demo(scenario, country)

st.subheader("Fingerprinting without consent")
st.markdown(
    "A \"cookieless\" tool that reads user agent, screen, timezone, language, canvas, WebGL and fonts stores nothing on the "
    "device, yet re-identifies returning visitors as shown above. Art. 5(3) of the ePrivacy Directive (2002/58/EC, as "
    "amended by 2009/136/EC) requires consent for *storing* information on a user's device *or gaining access to "
    "information already stored* there, unless strictly necessary for the service asked for. Reading device "
    "properties through scripts is such access: the Article 29 Working Party said so for fingerprinting in Opinion 9/2014, "
    "and the EDPB's Guidelines 2/2023 on the technical scope of Art. 5(3) confirm it. So fingerprinting needs the same "
    "consent as a cookie, and under the GDPR a fingerprint that singles someone out is personal data. The baseline rail "
    "avoids this by reading only what every request carries (IP, user agent) and keeping neither."
)
