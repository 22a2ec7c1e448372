"""ui/cache.py: one cache per decorated function, keyed by the subject's serialised form."""

from __future__ import annotations

import polars as pl
import pytest

from engine.scenario import Scenario, apply_overrides, load_preset
from ui.cache import TEXT, cached


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_preset("eu_shop")


@pytest.mark.parametrize("kind", ["data", "resource"])
def test_each_decorated_function_has_its_own_cache(kind, scenario):
    # Same signature, same body shape: Streamlit would give both one cache if the decorator's
    # inner function, not theirs, named it.
    @cached(kind, max_entries=4)
    def first(s: Scenario) -> str:
        return "first"

    @cached(kind, max_entries=4)
    def second(s: Scenario) -> str:
        return "second"

    assert first(scenario) == "first"
    assert second(scenario) == "second"
    assert first(scenario) == "first"


def test_data_and_resource_functions_of_one_name_do_not_share(scenario):
    def make(kind: str, value: str):
        @cached(kind, max_entries=4)
        def same_name(s: Scenario) -> str:
            return value

        return same_name

    as_data, as_resource = make("data", "a copy"), make("resource", "shared")
    assert (as_data(scenario), as_resource(scenario)) == ("a copy", "shared")


def test_keyed_by_the_scenario_content_and_extra_arguments(scenario):
    calls: list[tuple[str, int]] = []

    @cached("data", max_entries=8)
    def counted(s: Scenario, n: int, label: str = "x") -> pl.DataFrame:
        calls.append((s.run_id, n))
        return pl.DataFrame({"run_id": [s.run_id], "n": [n], "label": [label]})

    counted.clear()
    same = Scenario.model_validate_json(scenario.canonical_json())  # another object, equal content
    assert counted(scenario, 1).equals(counted(same, 1))
    assert counted(scenario, 1, "x").equals(counted(scenario, n=1))  # defaults bound: one entry
    assert len(calls) == 1
    other = apply_overrides(scenario, {"consent.banner": "no_reject"})
    assert counted(other, 1)["run_id"].item() == other.run_id
    assert counted(scenario, 2)["n"].item() == 2
    assert len(calls) == 3
    counted.clear()
    counted(scenario, 1)
    assert len(calls) == 4


def test_a_key_function_shares_an_entry_between_scenarios(scenario):
    calls: list[str] = []

    @cached("resource", max_entries=4, key=lambda s: s.traffic_key)
    def by_traffic(s: Scenario) -> str:
        calls.append(s.run_id)
        return s.consent.banner

    by_traffic.clear()
    consent_only = apply_overrides(scenario, {"consent.banner": "no_reject"})
    assert consent_only.traffic_key == scenario.traffic_key
    assert by_traffic(scenario) == by_traffic(consent_only) == scenario.consent.banner
    assert calls == [scenario.run_id]


def test_the_body_gets_the_subject_rebuilt_from_its_key(scenario):
    @cached("data", max_entries=4)
    def echo(s: Scenario) -> str:
        return s.canonical_json()

    assert echo(scenario) == scenario.canonical_json()

    @cached("data", max_entries=4, codec=TEXT)
    def shout(text: str) -> str:
        return text.upper()

    assert (shout("a"), shout("b")) == ("A", "B")
    assert shout.__name__ == "shout"
