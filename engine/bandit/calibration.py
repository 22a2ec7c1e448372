"""The bandit's calibrated numbers (calibration.toml [bandit]): exploration floor and fairness gap."""

from __future__ import annotations

from typing import Any

from engine import datasets


def bandit_calibration() -> dict[str, Any]:
    """calibration.toml [bandit]: exploration_floor, fairness_gap and their source."""
    return datasets.calibration()["bandit"]


def exploration_floor() -> int:
    """Observations every arm gets before a learning policy may stop exploring uniformly."""
    return int(bandit_calibration()["exploration_floor"])
