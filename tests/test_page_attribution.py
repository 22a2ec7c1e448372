"""AppTest: the Attribution page renders from the run, leads with a computed sentence, its credits add
up per rail, and the model picker and the sidebar banner move it."""

from __future__ import annotations

import math
import re

import polars as pl
import pytest
from apptest_helpers import chart_specs, open_page, pinned_page
from apptest_helpers import table_with as _frame
from streamlit.testing.v1 import AppTest

from engine.scenario import DEFAULT_PRESET, load_preset
from ui import words
from ui.charts.theme import LABELS

PAGE = "app_pages/attribution.py"


@pytest.fixture(scope="module")
def page() -> AppTest:
    return open_page(PAGE)


def _lead(at: AppTest) -> str:
    return at.markdown[0].value


def _data(at: AppTest) -> pl.DataFrame:
    return pl.from_pandas(_frame(at, "rail", "channel", "credit", "share", "truth_share", "share_error"))


def test_page_renders_charts_and_a_computed_takeaway(page):
    at = page
    assert at.title[0].value == "Attribution: who gets the credit"
    data = _data(at)
    lead = _lead(at)
    m = re.search(r"(the full stack|the privacy baseline) gives (.+?) (\d+) points? (more|less) of the credit", lead)
    assert m, lead
    rail = "fullstack" if m.group(1) == "the full stack" else "baseline"
    row = data.filter((pl.col("rail") == LABELS[rail]) & (pl.col("channel") == m.group(2))).row(0, named=True)
    # The sentence's numbers are the table's: the named channel, its error and its direction.
    assert int(m.group(3)) == round(abs(row["share_error"]) * 100)
    assert (m.group(4) == "more") == (row["share_error"] > 0)
    worst = data.filter(pl.col("rail") != LABELS["truth"])["share_error"].abs().max()
    assert math.isclose(abs(row["share_error"]), worst, abs_tol=1e-4)
    assert f"banner “{words.t('consent_impact.banner_' + load_preset(DEFAULT_PRESET).consent.banner)}”" in lead
    specs = chart_specs(at)
    assert len(specs) == 2
    assert specs[0]["encoding"]["x"]["field"] == "share" and specs[0]["encoding"]["color"]["field"] == "rail"
    assert specs[0]["encoding"]["color"]["scale"]["range"] == ["#3b3b3b", "#2e7d32", "#1565c0"]
    assert len(at.get("download_button")) == 2


def test_credits_per_rail_sum_to_that_rails_conversion_value(page):
    data = _data(page)
    totals = {m.label: m.value for m in page.metric}
    for rail in ("truth", "baseline", "fullstack"):
        part = data.filter(pl.col("rail") == LABELS[rail])
        assert math.isclose(float(part["share"].sum()), 1.0, abs_tol=1e-3)
        shown = next(v for k, v in totals.items() if k.endswith(LABELS[rail]))
        assert float(shown.replace(",", "")) == pytest.approx(float(part["credit"].sum()), abs=1.0)
    assert float(data.filter(pl.col("rail") == LABELS["fullstack"])["credit"].sum()) < float(
        data.filter(pl.col("rail") == LABELS["truth"])["credit"].sum())


def test_model_picker_moves_the_credit(page):
    at = page
    before = _data(at)
    at.selectbox(key="attr.model").set_value("first_touch").run()
    assert not at.exception
    after = _data(at)
    assert not before.equals(after)  # the page opens on last touch
    # Totals do not depend on the model; only how they are shared.
    for rail in LABELS.values():
        b, a = (f.filter(pl.col("rail") == rail)["credit"].sum() for f in (before, after))
        assert math.isclose(b, a, rel_tol=1e-9, abs_tol=1e-6)
    assert f"the model “{words.t('common.model.first_touch')}”" in _lead(at)
    assert at.selectbox(key="attr.model").options[0] == words.t("common.model.first_touch")


def test_sidebar_banner_moves_the_full_stack_not_the_truth():
    at = open_page(PAGE)
    before = _data(at)
    at.sidebar.selectbox(key="consent.banner").set_value("no_reject").run()
    assert not at.exception
    after = _data(at)
    truth = LABELS["truth"]
    assert before.filter(pl.col("rail") == truth).equals(after.filter(pl.col("rail") == truth))
    fs = LABELS["fullstack"]
    assert not before.filter(pl.col("rail") == fs).equals(after.filter(pl.col("rail") == fs))
    assert "banner “No reject button”" in _lead(at)


def test_a_pin_puts_deltas_on_the_headline_numbers():
    """Banner no_reject against the default banner pinned, on the same visitors: the full stack's credit
    moves by exactly the difference of the two runs' credit, the truth's not at all."""
    from conftest import small

    from engine.scenario import apply_overrides
    from ui.charts.theme import rail_label
    from ui.services import attribution as service
    from ui.words import num, signed

    at = pinned_page(PAGE)

    def totals(s):
        table = service.credit(s, "last_touch")[0]
        return dict(table.group_by("rail").agg(pl.col("credit").sum()).iter_rows())

    now, before = totals(apply_overrides(small(), {"consent.banner": "no_reject"})), totals(small())
    word = words.t("attribution.value_revenue")
    shown = {m.label: m for m in at.metric}
    full = shown[words.t("attribution.to_share", value=word, rail=rail_label("fullstack"))]
    assert full.value == num(now["fullstack"])
    # the shares chart draws the pinned scenario's shares faintly on its bars
    layered = [s for s in chart_specs(at) if [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]
                                              for layer in s.get("layer", [])] == ["bar", "tick"]]
    assert layered and layered[0]["layer"][1]["mark"]["opacity"] < 1
    assert full.proto.delta == words.t("charts.vs_pinned", change=signed(now["fullstack"] - before["fullstack"]))
    assert now["fullstack"] != before["fullstack"]
    truth = shown[words.t("attribution.to_share", value=word, rail=rail_label("truth"))]
    assert truth.proto.delta == words.t("charts.vs_pinned", change=signed(0))
    assert words.t("attribution.pinned_note") in " ".join(c.value for c in at.caption)
