"""Shared fixtures: a fixed hash key (reproducible across processes) and small runs built once."""

from __future__ import annotations

import os

os.environ.setdefault("DRCL_HASH_KEY", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")

import contextlib

import pytest

from engine.scenario import Scenario, apply_overrides, load_preset
from simulators.run import build_run
from simulators.traffic import generate_traffic

SMALL = {"traffic.visitors": 4000, "traffic.days": 14}


def small(overrides: dict | None = None) -> Scenario:
    """The default preset, small: 4,000 visitors over 14 days (long enough for ITP resets)."""
    return apply_overrides(load_preset("eu_shop"), SMALL | (overrides or {}))


@pytest.fixture(scope="session")
def base_scenario() -> Scenario:
    return small()


@pytest.fixture(scope="session")
def base_traffic(base_scenario):
    return generate_traffic(base_scenario)


@pytest.fixture(scope="session")
def base_tables(base_scenario, base_traffic):
    return build_run(base_scenario, base_traffic)


@pytest.fixture(autouse=True, scope="session")
def full_error_details_in_apptest():
    """The shipped config redacts exceptions ("none"); AppTest failures should say what broke. This
    process only: browser tests' servers read the shipped config."""
    from streamlit import config

    config.get_config_options()  # parse the config files first, or they would override this later
    config.set_option("client.showErrorDetails", "full")


@pytest.fixture(autouse=True)
def page_errors_fail_tests(monkeypatch):
    """app.py's error boundary turns a page's exception into an error id on the page; under AppTest the
    exception itself must reach `at.exception` and fail the test. tests/test_errors.py overrides this."""
    from ui.components import errors

    monkeypatch.setattr(errors, "error_boundary", lambda page: contextlib.nullcontext())


@pytest.fixture(autouse=True)
def no_background_room_warm_ups(monkeypatch):
    """A room's warm-up computes the next lesson step in a thread of its own; in this process it would
    run beside (and after) the test that caused it. Here it only records what it was asked;
    tests/test_room_warm.py runs the real one."""
    from ui.rooms import warm

    asked: list[tuple[str, str]] = []
    monkeypatch.setattr(warm, "WARMER", warm.Warmer(compute=lambda page, scenario: asked.append((page, scenario.run_id)), delay_s=0))
    return asked
