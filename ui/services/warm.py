"""What each lesson page's first screen computes, by page: so a room's next step can be computed
before the presenter clicks Next (ui.rooms.warm). The same cached calls, with the same arguments, as
the page makes when nobody has touched its widgets: they fill the entries the page then reads."""

from __future__ import annotations

from collections.abc import Callable

from engine import datasets, telemetry
from engine.scenario import Scenario
from ui.services import consent_impact, copy_tests, data_rights, funnels, live, overview, privacy, simulation

FUNNEL_WINDOW_S = 60 * 60  # the Funnels page's default window (60 minutes)
RETENTION_DAYS = 40  # Data rights' "now" slider, as it opens
TRAITS = ("region", "device", "privacy_attitude")  # Consent impact's tabs
BANNERS = ("reject_first_layer", "no_reject")  # Consent impact's comparison, as it opens


def _overview(s: Scenario) -> None:
    simulation.kpi_table(s)
    overview.waterfall(s)


def _consent_impact(s: Scenario) -> None:
    consent_impact.banner_rates(s)
    for by in TRAITS:
        consent_impact.rates_by(s, by)
    simulation.kpi_table(s)
    consent_impact.compare_banners(s, *BANNERS)
    consent_impact.consent_mode_summary(s)
    consent_impact.ga4(s)
    consent_impact.bias(s)


def _funnels(s: Scenario) -> None:
    steps = tuple(datasets.site(s.site.kind)["funnel"])
    funnels.funnel(s, steps, FUNNEL_WINDOW_S)
    funnels.funnel_breakdown(s, steps, FUNNEL_WINDOW_S)


def _live(s: Scenario) -> None:
    live.stream(s)
    live.running_tally(s)
    first = live.candidates(s)[0]  # the picker's first visitor, the first answer, no ad blocker
    live.journey(s, first, telemetry.CHOICES[0], False)


def _privacy(s: Scenario) -> None:
    privacy.fingerprints(s)
    privacy.quasi_identifiers(s)
    privacy.linkability(s)
    privacy.population_curves(s, privacy.CURVE_BROWSERS[0])
    options = privacy.visitor_options(s)
    _, country = privacy.rarity(s, next(iter(options)))  # the picker's first visitor
    privacy.crack_targets(s, country)  # what the hashing demo would attack (the demo itself waits for its button)


def _data_rights(s: Scenario) -> None:
    data_rights.headline(s)
    data_rights.examples(s)
    data_rights.retention(s, simulation.run(s), RETENTION_DAYS)


def _copy_tests(s: Scenario) -> None:
    copy_tests.problem(s)


PAGES: dict[str, Callable[[Scenario], None]] = {
    "overview": _overview,
    "consent_impact": _consent_impact,
    "funnels": _funnels,
    "live": _live,
    "privacy": _privacy,
    "data_rights": _data_rights,
    "copy_tests": _copy_tests,
}
