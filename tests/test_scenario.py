import json

import pytest

from engine.scenario import (
    Scenario,
    ScenarioError,
    apply_overrides,
    field_paths,
    iter_fields,
    list_presets,
    load_preset,
    load_scenario_file,
)


def test_presets_exist_and_validate():
    names = list_presets()
    for required in ("eu_shop", "us_shop", "content_site", "stress"):
        assert names.get(required)
        assert isinstance(load_preset(required), Scenario)
    assert load_preset("content_site").site.kind == "content"
    assert load_preset("us_shop").traffic.region_mix.shares()["us"] > 0.5


def test_default_preset_is_the_model_default():
    s = load_preset("eu_shop")
    assert s.consent.banner == "reject_first_layer"
    assert s.consent.mode == "advanced"


def test_every_knob_has_help_and_bounds_where_numeric():
    for path, info in iter_fields():
        assert info.description, f"{path} has no help sentence"
        if info.annotation in (int, float) and path != "seed":
            bounds = [m for m in info.metadata if hasattr(m, "ge") or hasattr(m, "le")]
            assert bounds, f"{path} has no bounds"


def test_invalid_value_names_the_field():
    with pytest.raises(ScenarioError, match=r"consent\.banner"):
        apply_overrides(load_preset("eu_shop"), {"consent.banner": "wall"})
    with pytest.raises(ScenarioError, match=r"traffic\.returning_share"):
        apply_overrides(load_preset("eu_shop"), {"traffic.returning_share": "1.5"})


def test_unknown_field_is_rejected_with_the_known_ones():
    with pytest.raises(ScenarioError, match=r"unknown scenario field 'consent\.bannr'.*consent\.banner"):
        apply_overrides(load_preset("eu_shop"), {"consent.bannr": "no_reject"})


def test_mix_of_zeros_is_rejected():
    zeros = {f"traffic.device_mix.{k}": "0" for k in ("desktop", "mobile", "tablet")}
    with pytest.raises(ScenarioError, match="device_mix"):
        apply_overrides(load_preset("eu_shop"), zeros)


def test_overrides_parse_types():
    s = apply_overrides(
        load_preset("eu_shop"),
        {"traffic.visitors": "500", "rails.server_side_proxy": "true", "traffic.start_date": "2026-01-05",
         "masking.url_allowed_params": "utm_source,gclid"},
    )
    assert s.traffic.visitors == 500 and s.rails.server_side_proxy is True
    assert str(s.traffic.start_date) == "2026-01-05"
    assert s.masking.url_allowed_params == ("utm_source", "gclid")


def test_run_id_follows_the_scenario_and_traffic_key_only_the_traffic():
    s = load_preset("eu_shop")
    banner = apply_overrides(s, {"consent.banner": "no_reject"})
    more = apply_overrides(s, {"traffic.visitors": "30000"})
    assert s.run_id == load_preset("eu_shop").run_id
    assert len({s.run_id, banner.run_id, more.run_id}) == 3
    assert banner.traffic_key == s.traffic_key
    assert more.traffic_key != s.traffic_key


def test_scenario_files_toml_and_json(tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text('[consent]\nmode = "basic"\n')
    assert load_scenario_file(toml).consent.mode == "basic"
    js = tmp_path / "s.json"
    js.write_text(json.dumps({"traffic": {"visitors": 777}}))
    loaded = load_scenario_file(js)
    assert loaded.traffic.visitors == 777 and loaded.consent.banner == "reject_first_layer"
    bad = tmp_path / "bad.toml"
    bad.write_text("[consent\n")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario_file(bad)
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario_file(tmp_path / "missing.toml")


def test_field_paths_cover_the_issue_knobs():
    paths = set(field_paths())
    for p in ("site.kind", "traffic.visitors", "traffic.days", "traffic.start_date", "traffic.region_mix.eea",
              "traffic.device_mix.mobile", "traffic.channel_mix.paid", "traffic.returning_share",
              "traffic.adblock.firefox", "traffic.gpc_share", "traffic.safari_share", "consent.banner",
              "consent.mode", "consent.defaults.eea", "consent.honour_gpc", "rails.baseline_salt",
              "rails.ipv4_prefix_bits", "rails.server_side_proxy", "rails.server_set_cookies",
              "masking.key_rotation", "seed"):
        assert p in paths


# --- runs past year 9999 (issue 12): refused by the model, so by the CLI, the collector and the app --


@pytest.mark.parametrize(("start", "days"), [("9999-12-30", 3), ("9999-12-31", 1), ("9999-12-01", 31), ("9999-10-05", 90)])
def test_a_run_past_year_9999_is_refused_naming_start_date_and_days(start, days):
    with pytest.raises(ScenarioError) as err:
        apply_overrides(load_preset("eu_shop"), {"traffic.start_date": start, "traffic.days": days})
    text = str(err.value)
    assert "traffic.start_date" in text and "traffic.days" in text and "9999" in text
    assert "region_mix" not in text  # the message, not the whole traffic section
    data = json.loads(load_preset("eu_shop").canonical_json())
    data["traffic"].update(start_date=start, days=days)
    with pytest.raises(ValueError, match=r"traffic\.start_date"):  # a stored scenario_json too
        Scenario.model_validate_json(json.dumps(data))


def test_the_last_start_date_for_the_run_length_is_accepted():
    s = apply_overrides(load_preset("eu_shop"), {"traffic.start_date": "9999-12-28", "traffic.days": 3})
    assert str(s.traffic.start_date) == "9999-12-28"
    with pytest.raises(ScenarioError, match=r"latest traffic\.start_date for 3 days is 9999-12-28"):
        apply_overrides(s, {"traffic.start_date": "9999-12-29"})


def test_the_collector_refuses_a_run_past_year_9999(tmp_path, capsys):
    from collector.__main__ import main

    assert main(["--db", str(tmp_path / "c.duckdb"), "--set", "traffic.start_date=9999-12-30"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "traffic.start_date" in err and "traffic.days" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_the_app_refuses_a_run_past_year_9999_from_the_url():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file("../app.py", default_timeout=120)
    at.query_params["traffic.start_date"] = "9999-12-30"
    at.run()
    assert not at.exception
    [note] = [w.value for w in at.sidebar.warning if w.value.startswith("First day:")]
    assert "year 10,000" in note and note.endswith("kept Nov 2, 2026.")  # in words, with what was kept
    assert at.session_state["scenario"].traffic.start_date.isoformat() == "2026-11-02"
