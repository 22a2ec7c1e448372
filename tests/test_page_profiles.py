"""AppTest: the Profiles page renders from the run; its takeaway, big numbers and chart agree with
the table it shows, and the prices come with their sources."""

from __future__ import annotations

import re

import pyarrow as pa
import pytest
from apptest_helpers import chart_specs, first_text, metric_value, open_page, table_with
from streamlit.testing.v1 import AppTest

from engine import datasets
from ui.services import profiles as service
from ui.words import t

PAGE = "app_pages/profiles.py"


@pytest.fixture(scope="module")
def page() -> AppTest:
    return open_page(PAGE)


def test_takeaway_numbers_chart_and_table_agree(page):
    at = page
    assert at.title[0].value == "Profiles: what the full stack learns about people"
    summary = table_with(at, "setting", "accuracy", "majority_guess", "share_profiled").set_index("setting")
    names = {code: t(f"profiles.setting_{code}") for code in service.SETTINGS}  # words, not codes
    assert list(summary.index) == list(names.values())
    full, everyone, base = (summary.loc[names[code]] for code in service.SETTINGS)
    # The classifier beats always guessing the commonest persona on every setting.
    assert (summary["accuracy"] > summary["majority_guess"]).all()
    # Consent limits whom the full stack profiles; everyone consenting profiles more.
    assert full["share_profiled"] < everyone["share_profiled"] <= base["share_profiled"]
    takeaway = first_text(at)  # the page leads with it, right under the title
    pct = [int(p) for p in re.findall(r"(\d+)%", takeaway)]
    assert pct == [round(100 * v) for v in (full["accuracy"], full["majority_guess"], full["share_profiled"],
                                            everyone["share_profiled"], base["accuracy"], base["majority_guess"])]
    assert metric_value(at, "Full stack: persona guessed right") == f"{full['accuracy']:.0%}"
    assert metric_value(at, "Full stack: visitors profiled") == f"{full['share_profiled']:.0%}"
    # The baseline splits people into one-day profiles; the sentence says by how much, from the table.
    text = " ".join(m.value for m in at.markdown)
    assert f"{base['profiles'] / base['visitors_profiled']:.2f} one-day profiles each" in text
    assert base["profiles"] > base["visitors_profiled"]
    chart = next(el for el, spec in zip(at.get("vega_lite_chart"), chart_specs(at), strict=True) if "layer" in spec)
    shown = pa.ipc.open_stream(chart.proto.datasets[0].data.data).read_all().to_pandas()
    assert list(shown["accuracy"]) == pytest.approx(list(summary["accuracy"]), abs=1e-4)


def test_prices_are_shown_with_their_sources(page):
    text = " ".join(m.value for m in page.markdown)
    figures = datasets.load("profile_value")["figure"]
    for f in figures:
        assert f["url"] in text
    assert "disagree" in text
    assert "(secondary" in text  # the one figure read in a report of its source says so
    usd = [f["value"] for f in figures if f["currency"] == "USD"]
    assert f"${min(usd):,.4f}" in text and f"${max(usd):,.2f}" in text


def test_a_loss_reads_as_a_loss(page):
    """The deltas carry a typographic minus: their arrow and colour are set from the sign, never a green 'gain'."""
    from streamlit.proto.Metric_pb2 import Metric

    for m in page.metric:
        if m.proto.delta.startswith("−"):
            assert m.proto.direction == Metric.MetricDirection.DOWN and m.proto.color == Metric.MetricColor.RED, m.label
        elif m.proto.delta.startswith("+"):
            assert m.proto.direction == Metric.MetricDirection.UP, m.label
    assert any(m.proto.delta.startswith("−") for m in page.metric)  # fewer profiled than if everyone consented
