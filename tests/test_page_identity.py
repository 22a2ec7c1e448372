"""AppTest: the Identity page shows each method's precision/recall computed from the run, measures
fingerprint matching only while it says so, and keeps its tables one click away."""

from __future__ import annotations

import pytest
from apptest_helpers import chart_specs, first_text, open_page, page_text, table_with
from streamlit.testing.v1 import AppTest

from engine import identity
from engine.scenario import DEFAULT_PRESET, load_preset
from simulators.run import build_run
from simulators.traffic import generate_traffic

PAGE = "app_pages/identity.py"
MEASURING = "This page is measuring fingerprint matching"


@pytest.fixture(scope="module")
def page() -> AppTest:
    return open_page(PAGE)


@pytest.fixture(scope="module")
def run():
    s = load_preset(DEFAULT_PRESET)
    return build_run(s, generate_traffic(s))


@pytest.fixture(scope="module")
def expected(run):
    return identity.identity_scores(run, measure_fingerprinting=True)


def test_cross_device_share_comes_from_the_run(page, run):
    xd = {r["method"]: r for r in identity.cross_device(run, measure_fingerprinting=True).iter_rows(named=True)}
    login = xd["login"]
    assert login["multi_device_people"] > 0 and 0 < login["joined"] <= login["seen_on_two_devices"]
    text = page_text(page)
    assert f"**{login['multi_device_people']:,}** of the run's **{run['visitors']['person_id'].n_unique():,}** people" in text
    assert f"joins **{login['share_joined']:.0%}** of them across devices ({login['joined']:,})" in text
    assert f"The device cookie alone joins **{xd['device_cookie']['share_joined']:.0%}**" in text
    assert "modelling assumption, not a published figure" in text
    table = table_with(page, "label", "multi_device_people", "joined", "share_joined")
    assert table["joined"].tolist() == [r["joined"] for r in xd.values()]


def test_numbers_come_from_the_run(page, expected):
    shown = {m.label: m.value for m in page.metric}
    for r in expected.iter_rows(named=True):
        assert shown[r["label"]] == f"{r['precision']:.0%} · {r['recall'] or 0:.0%}"
    login = expected.filter(method="login").row(0, named=True)
    text = page_text(page)
    assert f"**{login['share_identified']:.0%}** of sessions with analytics consent" in text
    table = table_with(page, "label", "precision", "recall", "share_identified")
    assert table["precision"].tolist() == pytest.approx(expected["precision"].round(4).to_list())


def test_page_leads_with_the_finding(page, expected):
    row = {r["method"]: r for r in expected.iter_rows(named=True)}
    lead = first_text(page)
    assert f"Cookie and login tie together **{row['login']['recall']:.0%}**" in lead
    assert f"daily hash ties **{row['daily_hash']['recall'] or 0:.0%}**" in lead
    assert f"fingerprint reaches **{row['fingerprint']['share_identified']:.0%}** of sessions" in lead
    assert f"**{1 - row['fingerprint']['precision']:.0%}** of the pairs it claims" in lead


def test_chart_groups_precision_and_recall_in_rail_colours(page):
    specs = [s for s in chart_specs(page) if "layer" in s]
    assert specs
    bars = specs[0]["layer"][0]["encoding"]
    assert bars["yOffset"]["field"] == "measure"
    assert bars["color"]["scale"]["domain"] == ["baseline", "fullstack"]


def test_legal_explanation_and_no_real_data_note(page):
    text = page_text(page)
    for phrase in ("Art. 5(3)", "2002/58/EC", "Opinion 9/2014", "Art. 4(5)", "Recital 26"):
        assert phrase in text
    assert any("offers no identity stitching for real data" in i.value for i in page.info)
    (data,) = [e for e in page.expander if e.label == "Show data"]
    assert len(data.get("download_button")) == 2 * len(page.main.dataframe) == 2 * len(data.get("dataframe"))


def test_fingerprinting_is_shown_only_while_the_page_says_it_measures_it(page):
    labels = {m.label for m in page.metric}
    assert MEASURING in page_text(page) and identity.FINGERPRINT_METHOD[2] in labels
    page.toggle(key="identity.fingerprint").set_value(False).run()
    assert not page.exception
    assert MEASURING not in page_text(page)
    assert identity.FINGERPRINT_METHOD[2] not in {m.label for m in page.metric}
    assert "fingerprint" not in " ".join(table_with(page, "label", "precision")["label"]).lower()
