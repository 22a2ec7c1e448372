"""The Scenario model: every knob of the simulator once, with type, bounds, default and help.

Sidebar widgets, URL parameters and the CLI's ``--set`` are all derived from this model.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine.datasets import DATASETS_DIR

PRESETS_DIR = DATASETS_DIR / "presets"
DEFAULT_PRESET = "eu_shop"

Banner = Literal["reject_first_layer", "reject_second_layer", "no_reject", "no_banner"]
ConsentDefault = Literal["denied", "granted"]
FingerprintPopulation = Literal["general_audience", "volunteers"]
SamplingTier = Literal[100, 80, 50]
# The midnight a run must end by: the start of the last day Python's dates have (9999-12-31), which
# is left for sessions that run past the run's last midnight.
LAST_RUN_END = dt.date.max


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Mix(_Model):
    """Relative weights; they are normalised, so they need not add up to 1."""

    @model_validator(mode="after")
    def _not_all_zero(self) -> _Mix:
        if sum(self.weights().values()) <= 0:
            raise ValueError("at least one weight must be above 0")
        return self

    def weights(self) -> dict[str, float]:
        return {k: float(getattr(self, k)) for k in type(self).model_fields}

    def shares(self) -> dict[str, float]:
        w = self.weights()
        total = sum(w.values())
        return {k: v / total for k, v in w.items()}


def _share(default: float, help_: str) -> Any:
    return Field(default, ge=0.0, le=1.0, description=help_)


class SiteConfig(_Model):
    kind: Literal["shop", "content"] = Field(
        "shop", description="Shop (products, cart, checkout) or content site (snack pages, subscribe)."
    )


class RegionMix(_Mix):
    eea: float = _share(0.70, "Share of visitors from the European Economic Area (opt-in consent).")
    uk: float = _share(0.10, "Share of visitors from the United Kingdom (opt-in consent).")
    us: float = _share(0.10, "Share of visitors from the United States (opt-out regime).")
    rest: float = _share(0.10, "Share of visitors from the rest of the world.")


class DeviceMix(_Mix):
    desktop: float = _share(0.45, "Share of visitors on desktop computers.")
    mobile: float = _share(0.50, "Share of visitors on phones.")
    tablet: float = _share(0.05, "Share of visitors on tablets.")


class ChannelMix(_Mix):
    direct: float = _share(0.25, "Share of first visits typed in or bookmarked.")
    organic: float = _share(0.35, "Share of first visits from search engines.")
    paid: float = _share(0.15, "Share of first visits from paid search ads (with a click id).")
    social: float = _share(0.10, "Share of first visits from social networks.")
    email: float = _share(0.10, "Share of first visits from newsletters.")
    referral: float = _share(0.05, "Share of first visits from links on other sites.")


class AdblockShares(_Model):
    chrome: float = _share(0.27, "Ad-blocker share among Chrome users (eyeo 2023, US desktop).")
    edge: float = _share(0.27, "Ad-blocker share among Edge users (eyeo 2023, US desktop).")
    firefox: float = _share(0.51, "Ad-blocker share among Firefox users (eyeo rate scaled by one blog's Firefox/Chrome ratio).")
    safari: float = _share(0.22, "Ad-blocker share among Safari users (eyeo 2023, US non-desktop).")
    samsung_internet: float = _share(0.22, "Ad-blocker share among Samsung Internet users (eyeo 2023, US non-desktop).")

    def for_browser(self, browser: str) -> float:
        return float(getattr(self, browser.lower().replace(" ", "_")))


class TrafficConfig(_Model):
    visitors: int = Field(20_000, ge=10, le=100_000_000, description="Number of distinct visitors in the run.")
    days: int = Field(7, ge=1, le=90, description="Number of days the run covers.")
    start_date: dt.date = Field(dt.date(2026, 11, 2), description="First day of the run (UTC).")
    region_mix: RegionMix = RegionMix()
    device_mix: DeviceMix = DeviceMix()
    channel_mix: ChannelMix = ChannelMix()
    returning_share: float = _share(0.30, "Share of visitors who come back for more sessions.")
    adblock: AdblockShares = AdblockShares()
    gpc_share: float = _share(0.05, "Share of browsers sending the Global Privacy Control signal.")
    safari_share: float = _share(0.25, "Share of visitors on Safari (subject to ITP's 7-day cookie cap).")
    fingerprint_population: FingerprintPopulation = Field(
        "general_audience",
        description="How varied the browsers' fingerprints are: a general audience = ordinary visitors of a popular "
                    "website (mostly stock installs; calibrated to Gomez-Boix et al. 2018), volunteers = visitors of a "
                    "fingerprinting test site (tinkered browsers; calibrated to Panopticlick 2010 and AmIUnique 2016).",
    )

    @model_validator(mode="after")
    def _ends_before_year_10000(self) -> TrafficConfig:
        # Past LAST_RUN_END a run's timestamps reach year 10000: a traceback in the rails, or
        # year-10000 timestamps in JSON lines.
        end = self.start_date.toordinal() + self.days  # the midnight after the run's last day
        if end > LAST_RUN_END.toordinal():
            latest = dt.date.fromordinal(LAST_RUN_END.toordinal() - self.days)
            raise ValueError(
                f"traffic.start_date {self.start_date} with traffic.days {self.days} runs past year 9999 "
                f"(a run must end by {LAST_RUN_END}); the latest traffic.start_date for {self.days} day{'s' if self.days != 1 else ''} is {latest}"
            )
        return self


class RegionDefaults(_Model):
    eea: ConsentDefault = Field("denied", description="Consent state before any choice, EEA visitors.")
    uk: ConsentDefault = Field("denied", description="Consent state before any choice, UK visitors.")
    us: ConsentDefault = Field("granted", description="Consent state before any choice, US visitors.")
    rest: ConsentDefault = Field("granted", description="Consent state before any choice, other visitors.")


class ConsentConfig(_Model):
    banner: Banner = Field(
        "reject_first_layer",
        description="Banner design: reject on the first layer, reject behind settings, no reject button, or no banner.",
    )
    mode: Literal["advanced", "basic"] = Field(
        "advanced",
        description="Consent Mode v2: basic sends nothing before consent; advanced sends cookieless pings.",
    )
    defaults: RegionDefaults = RegionDefaults()
    honour_gpc: bool = Field(True, description="Treat a Global Privacy Control signal as a refusal.")
    decision_share: float = _share(0.50, "Share of visitors who answer the banner at all (Teads 2018).")


class RailsConfig(_Model):
    baseline_salt: Literal["daily", "fixed"] = Field(
        "daily", description="Baseline visitor-hash salt: rotated daily (no cross-day link) or fixed."
    )
    ipv4_prefix_bits: int = Field(24, ge=0, le=32, description="IPv4 bits kept when truncating (24 keeps a.b.c.0).")
    ipv6_prefix_bits: int = Field(48, ge=0, le=128, description="IPv6 bits kept when truncating.")
    server_side_proxy: bool = Field(
        False, description="Full stack sent through a first-party server-side proxy, which ad blockers do not stop."
    )
    server_set_cookies: bool = Field(
        False, description="Full-stack cookie set by the server, so Safari's 7-day cap does not apply."
    )
    fullstack_sampling: SamplingTier = Field(
        100,
        description="Full stack's sampling tier in %: each browser is kept or dropped whole (salt 002); "
                    "counts are scaled back by 100/tier, which adds sampling error.",
    )


class MaskingConfig(_Model):
    key_rotation: Literal["fixed", "daily"] = Field(
        "fixed", description="Key of the full stack's keyed hashes: fixed, or rotated daily (breaks cross-day ids)."
    )
    store_truncated_ip: bool = Field(
        False, description="Keep the truncated IP in the rails (off: derive the country, then drop the IP)."
    )
    url_allowed_params: tuple[str, ...] = Field(
        ("utm_source", "utm_medium", "utm_campaign", "gclid"),
        description="Query parameters the full stack keeps; every other parameter is dropped.",
    )


class Scenario(_Model):
    site: SiteConfig = SiteConfig()
    traffic: TrafficConfig = TrafficConfig()
    consent: ConsentConfig = ConsentConfig()
    rails: RailsConfig = RailsConfig()
    masking: MaskingConfig = MaskingConfig()
    seed: int = Field(42, ge=0, le=2**31 - 1, description="Random seed: same scenario and seed give identical tables.")

    def canonical_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    @property
    def run_id(self) -> str:
        """Id of the run: a hash of the whole scenario, so equal scenarios share one run."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()[:16]

    @property
    def traffic_key(self) -> str:
        """Hash of what the truth depends on; consent, rail and masking knobs do not change it."""
        part = {"site": self.site.model_dump(mode="json"), "traffic": self.traffic.model_dump(mode="json"), "seed": self.seed}
        return hashlib.sha256(json.dumps(part, sort_keys=True).encode()).hexdigest()[:16]


    @property
    def rails_key(self) -> str:
        """Hash of what the baseline rail and the hits' masked context depend on: no consent knob."""
        part = self.model_dump(mode="json", exclude={"consent": True, "rails": {"fullstack_sampling"}})
        return hashlib.sha256(json.dumps(part, sort_keys=True).encode()).hexdigest()[:16]


class ScenarioError(ValueError):
    """A scenario that does not validate; the message names each bad field, `problems` gives each as
    (dotted path, pydantic error type, its context) for callers that word them for people."""

    def __init__(self, message: str, problems: list[tuple[str, str, dict[str, Any]]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


def format_validation_error(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        path = ".".join(str(p) for p in e["loc"]) or "(scenario)"
        msg = e["msg"].removeprefix("Value error, ")
        # A check across fields (a model validator) gets the whole section as its input: its
        # message names the fields, and repeating the section would bury it.
        got = "" if isinstance(e.get("input"), dict) else f" (got {e.get('input')!r})"
        lines.append(f"{path}: {msg}{got}")
    return "; ".join(lines)


def validate_scenario(data: dict[str, Any]) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        problems = [(".".join(str(p) for p in e["loc"]), e["type"], dict(e.get("ctx") or {})) for e in err.errors()]
        raise ScenarioError(f"invalid scenario: {format_validation_error(err)}", problems) from None


def iter_fields(model: type[BaseModel] = Scenario, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield (dotted path, FieldInfo) for every leaf knob of the model."""
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from iter_fields(ann, path + ".")
        else:
            yield path, info


def field_paths() -> list[str]:
    return [p for p, _ in iter_fields()]


def _parse_value(raw: str) -> Any:
    # JSON first so numbers, booleans and lists arrive typed; anything else is a plain string.
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        if "," in raw:
            return [v.strip() for v in raw.split(",") if v.strip()]
        return raw


def apply_overrides(scenario: Scenario, overrides: dict[str, Any]) -> Scenario:
    """Return a copy with dotted-path overrides applied; strings are parsed (JSON, else text)."""
    data = scenario.model_dump(mode="json")
    known = set(field_paths())
    for path, value in overrides.items():
        if path not in known:
            raise ScenarioError(f"unknown scenario field {path!r}; known fields: {', '.join(sorted(known))}")
        node = data
        *parents, leaf = path.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = _parse_value(value) if isinstance(value, str) else value
    return validate_scenario(data)


def mix_totals(scenario: Scenario) -> dict[str, float]:
    """Each mix's sum of weights by its dotted path (a mix is normalised, so 1.01 is accepted; callers
    tell people when it is not 1)."""
    out = {}
    for path, _ in iter_fields():
        *parents, _leaf = path.split(".")
        node: Any = scenario
        for p in parents:
            node = getattr(node, p)
        if isinstance(node, _Mix):
            out[".".join(parents)] = sum(node.weights().values())
    return out


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def list_presets() -> dict[str, str]:
    """Preset name -> one-line description."""
    out = {}
    for path in sorted(PRESETS_DIR.glob("*.toml")):
        out[path.stem] = tomllib.loads(path.read_text()).get("description", "")
    return out


def load_preset(name: str) -> Scenario:
    path = PRESETS_DIR / f"{name}.toml"
    if not name.replace("_", "").isalnum() or not path.is_file():
        raise ScenarioError(f"unknown preset {name!r}; available: {', '.join(list_presets())}")
    data = tomllib.loads(path.read_text())
    data.pop("description", None)
    return validate_scenario(data)


def load_scenario_file(path: Path, base: Scenario | None = None) -> Scenario:
    """Read a TOML or JSON scenario file; its fields override `base` (default: the default preset)."""
    try:
        text = path.read_text()
    except OSError as err:
        raise ScenarioError(f"cannot read scenario file {path}: {err.strerror}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as err:
        raise ScenarioError(f"scenario file {path} is not valid {path.suffix[1:].upper()}: {err}") from None
    data.pop("description", None)
    base = base or load_preset(DEFAULT_PRESET)
    return validate_scenario(_deep_merge(base.model_dump(mode="json"), data))


def resolve(preset: str | None = None, scenario_file: Path | None = None, sets: list[str] | None = None,
            extra: dict[str, Any] | None = None) -> Scenario:
    """A scenario from command-line style options: a preset (default: the default preset), an
    optional scenario file on top, then `FIELD=VALUE` overrides (`sets`) and `extra` overrides."""
    scenario = load_preset(preset or DEFAULT_PRESET)
    if scenario_file is not None:
        scenario = load_scenario_file(scenario_file, base=scenario)
    overrides: dict[str, Any] = {}
    for item in sets or []:
        if "=" not in item:
            raise ScenarioError(f"--set needs FIELD=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        overrides[key.strip()] = value.strip()
    overrides.update(extra or {})
    return apply_overrides(scenario, overrides) if overrides else scenario
