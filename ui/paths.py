"""Where the app finds Parquet runs: data/runs under the repository root ($DRCL_RUNS_DIR overrides)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def runs_dir() -> Path:
    override = os.environ.get("DRCL_RUNS_DIR")
    return Path(override) if override else ROOT / "data" / "runs"
