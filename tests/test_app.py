import json

from streamlit.testing.v1 import AppTest


def test_headline_page_renders_numbers_from_the_run():
    at = AppTest.from_file("../app.py", default_timeout=120).run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert labels == ["Visitors (truth)", "Baseline visitors", "Full-stack visitors", "Modelled conversions"]
    assert at.metric[0].value == "20,000"
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1
    spec = json.loads(charts[0].proto.spec)
    assert spec["mark"]["type"] == "bar" or spec.get("spec", {}).get("mark", {}).get("type") == "bar"
    assert len(at.dataframe) == 2
