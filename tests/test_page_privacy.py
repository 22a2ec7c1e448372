"""AppTest: the Privacy leaks page renders from the run, its picker and knobs move the numbers,
and the crack button reverses plain hashes but not keyed ones."""

from __future__ import annotations

import re

import polars as pl
import pytest
from apptest_helpers import chart_specs as _specs
from apptest_helpers import first_text, open_advanced, open_data, open_page
from apptest_helpers import metric_value as _metric
from apptest_helpers import page_text as _texts
from apptest_helpers import table_with as _frame
from streamlit.testing.v1 import AppTest

from engine import datasets
from engine import privacy as pv
from engine.scenario import DEFAULT_PRESET, load_preset
from simulators.traffic import generate_traffic
from ui.charts.theme import rail_label
from ui.knob_words import option
from ui.services import privacy as service
from ui.words import num, pct, t

PAGE = "app_pages/privacy.py"












@pytest.fixture(scope="module")
def page() -> AppTest:
    return open_page(PAGE)


def test_page_renders_charts_tables_and_sources(page):
    at = page
    specs = _specs(at)
    assert len(specs) >= 7
    # Entropy bars: simulated beside both published studies.
    bars = [s for s in specs if s.get("encoding", {}).get("yOffset", {}).get("field") == "source"]
    assert bars and bars[0]["encoding"]["color"]["scale"]["domain"] == ["simulated", "Panopticlick", "AmIUnique"]
    assert any("layer" in s for s in specs)  # uniqueness curve with the published points
    # Numbers come from the simulated run, published ones from the calibration file.
    visitors = generate_traffic(load_preset(DEFAULT_PRESET)).visitors
    assert _metric(at, "Unique fingerprints (simulated)") == f"{pv.unique_share(visitors, pv.FINGERPRINT_ATTRIBUTES):.1%}"
    shares = datasets.calibration()["fingerprint"]["unique_share"]
    assert _metric(at, "Panopticlick (published, n=470,161)") == f"{shares['panopticlick']:.1%}"
    entropy = _frame(at, "attribute", "bits", "panopticlick_bits", "amiunique_bits").set_index("attribute")
    assert entropy.loc[t("privacy.attr_timezone"), "bits"] == pytest.approx(pv.attribute_entropy(visitors, ["timezone"])["timezone"], abs=0.01)
    text = _texts(at)
    assert "Browser Fingerprinting: A Survey" in text and "(secondary transcription)" in text
    assert "Art. 5(3)" in text
    # Both fingerprint populations, with the general-audience study beside them.
    general = float(_metric(at, "General audience, simulated").rstrip("%"))
    volunteers = float(_metric(at, "Volunteers, simulated").rstrip("%"))
    assert general < volunteers
    assert "Gomez-Boix" in text
    # Labels a quarter of the page shows whole at 1440 px (longer ones were cut mid-number); sizes in the help.
    quarter = [m for m in at.metric if m.label.startswith(("General audience", "Volunteers", "Gomez-Boix"))]
    assert len(quarter) == 4 and all(len(m.label) <= 27 for m in quarter), [m.label for m in quarter]
    assert "200,000 simulated browsers" in quarter[0].help and "1,800,000" in quarter[2].help
    # The study's secondary source is flagged once (it read "via a secondary transcription (secondary transcription)").
    assert "Baudry, WWW 2018 (doi:10.1145/3178876.3186097) (secondary transcription)." in text
    assert "via a secondary transcription" not in text
    curve = next(s for s in specs if "layer" in s and "strokeDash" in s["layer"][0]["encoding"])
    assert curve["layer"][0]["encoding"]["color"]["scale"]["domain"] == [t("charts.privacy_population", name=option(p))
                                                                        for p in ("general_audience", "volunteers")]
    assert curve["layer"][0]["encoding"]["color"]["legend"]["labelLimit"] >= 300  # Vega's 160 px cut "(simula…"
    k = _frame(at, "rail", "quasi_identifiers", "k", "share_below_k")
    assert list(k["rail"]) == [rail_label(r) for r in ("truth", "baseline", "fullstack")]  # words, not codes
    assert "_" not in " ".join(k["quasi_identifiers"])
    link = _frame(at, "method", "share_linked").set_index("method")
    assert link.loc[t("privacy.link_daily"), "share_linked"] < link.loc[t("privacy.link_fixed"), "share_linked"]
    assert len(at.get("download_button")) == 2 * len(at.main.dataframe)


def test_visitor_picker_moves_one_in_n(page):
    at = page
    independent = _metric(at, "If the attributes were independent: one in")
    assert re.fullmatch(r"\d{1,3}(,\d{3})*", independent), independent  # written out, not "3.6e+08"
    picker = at.selectbox(key="pv.visitor")
    before = _frame(at, "attribute", "value", "one_in").copy()
    ids = [int(o.split(" ")[0].lstrip("#")) for o in picker.options]  # options show "#<id> · …"
    picker.set_value(next(i for i in ids if i != picker.value)).run()
    assert not at.exception
    after = _frame(at, "attribute", "value", "one_in")
    assert list(after["value"]) != list(before["value"])
    combined = after.set_index("attribute").loc[t("privacy.attr_all_measured")]
    assert combined["one_in"] * combined["sharing"] == pytest.approx(len(generate_traffic(load_preset(DEFAULT_PRESET)).visitors))


@pytest.mark.slow
def test_page_leads_with_what_the_data_gives_away(page):
    scenario = page.session_state["scenario"]
    fp = service.fingerprints(scenario)
    k_table, _ = service.quasi_identifiers(scenario)
    below = dict(zip(k_table["rail"], k_table["share_below_k"], strict=True))
    link = service.linkability(scenario)
    fp_link = link.filter(pl.col("method") == "cookieless fingerprint")["share_linked"][0]
    lead = first_text(page)
    assert lead.startswith(f"**{pct(fp['unique_share'])}** of this run's {num(fp['browsers'])} simulated browsers")
    assert f"leaves **{pct(below['baseline'])}**" in lead and f"the full stack **{pct(below['fullstack'])}**" in lead
    assert f"follows **{pct(fp_link)}** of returning visitors" in lead
    # method text is one click away, not on the first screen
    assert any(e.label == t("privacy.method_title") for e in page.expander)


def test_crack_button_reverses_plain_hashes_not_keyed_ones(page):
    at = page
    assert "candidates hashed" not in _texts(at)
    at.button(key="pv.crack").click().run()
    assert not at.exception
    assert "candidates hashed" in _texts(open_data(at))
    ip, email = (df.value.set_index("scheme") for df in at.dataframe if "scheme" in df.value.columns)
    plain, keyed = "SHA-256, no key", "HMAC-SHA-256 with a secret key"
    assert ip.loc[plain, "reversed"] == ip.loc[plain, "hashes"] > 0
    assert ip.loc[keyed, "reversed"] == 0 and email.loc[keyed, "reversed"] == 0
    assert email.loc[plain, "reversed"] > 0
    times = _frame(at, "space", "candidates", "seconds").set_index("space")
    assert times.loc[t("privacy.space_ipv4", n=num(2**32)), "seconds"] > times.loc[t("privacy.space_measured"), "seconds"] > 0
    # the result as big numbers: share of unkeyed hashes reversed (and how long it took) vs keyed ones
    for what, table in ((t("privacy.crack_ipv4"), ip), (t("privacy.crack_email"), email)):
        big = next(m for m in at.metric if m.label == t("privacy.crack_plain", what=what))
        assert big.value == pct(table.loc[plain, "share_reversed"]) and big.value != "0%"
        assert big.delta == t("privacy.crack_plain_delta", reversed=num(table.loc[plain, "reversed"]), hashes=num(table.loc[plain, "hashes"]),
                              seconds=big.delta.split(" in ")[1].removesuffix(" s"))
        assert _metric(at, t("privacy.crack_keyed", what=what)) == pct(table.loc[keyed, "share_reversed"]) == "0%"
    assert ip.loc[plain, "hashes"] == service.crack_targets(at.session_state["scenario"], at.session_state["pv_crack_result"][1])[0]


@pytest.mark.slow
def test_keeping_truncated_ips_moves_baseline_k_anonymity_not_the_truth():
    at = open_page(PAGE)
    before = _frame(at, "rail", "quasi_identifiers", "share_below_k").set_index("rail")
    open_advanced(at).sidebar.checkbox(key="masking.store_truncated_ip").check().run()
    assert not at.exception
    after = _frame(at, "rail", "quasi_identifiers", "share_below_k").set_index("rail")
    base, truth, ip = rail_label("baseline"), rail_label("truth"), t("fields.ip_truncated")
    assert ip in after.loc[base, "quasi_identifiers"]
    assert ip not in before.loc[base, "quasi_identifiers"]
    assert after.loc[base, "share_below_k"] > before.loc[base, "share_below_k"]
    assert after.loc[truth].equals(before.loc[truth])
