"""Read-only access to the data files in `datasets/` (calibration, geography, devices, sites)."""

from __future__ import annotations

import json
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

DATASETS_DIR = Path(__file__).resolve().parent.parent / "datasets"


@cache
def load(name: str) -> dict[str, Any]:
    """Parsed `datasets/<name>.toml` (cached; callers must not mutate it)."""
    return tomllib.loads((DATASETS_DIR / f"{name}.toml").read_text())


@cache
def world() -> dict[str, Any]:
    """The world's countries as TopoJSON (world-atlas 2.0.2, Natural Earth 1:110m; datasets/world/SOURCE.md)."""
    return json.loads((DATASETS_DIR / "world" / "countries-110m.json").read_text())


def calibration() -> dict[str, Any]:
    return load("calibration")


def site(kind: str) -> dict[str, Any]:
    return load("sites")[kind]


def device_profiles() -> list[dict[str, Any]]:
    return load("devices")["profile"]


def geo() -> dict[str, Any]:
    return load("geo")


def consent_texts() -> dict[str, Any]:
    return load("consent_texts")


def country_region() -> dict[str, str]:
    """Country code -> region key (eea, uk, us, rest)."""
    return {c: r.lower() for r, spec in geo()["regions"].items() for c in spec["countries"]}


def source_note(*path: str) -> str:
    """'Source: …' for the calibration entry at `path`, flagged secondary or anecdotal as the data says."""
    entry: Any = calibration()
    for key in path:
        entry = entry[key]
    flags = [label for key, label in (("secondary", "secondary transcription"), ("anecdotal", "anecdotal"), ("assumption", "an assumption, not a measurement")) if entry.get(key)]
    return f"Source: {entry['source']}" + (f" ({', '.join(flags)})" if flags else "") + "."
