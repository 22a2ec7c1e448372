"""Every string a person sees comes from here: one catalogue, keyed `area.name`.

The catalogue is a set of TOML files, one per area (`ui/words/en/<area>.toml`, keys inside are
`name = "text"`, looked up as `area.name`). Texts are Python format strings: `t("overview.lead",
visitors=...)`. Numbers are formatted here too (`num`, `pct`), so a later language switch changes
them in one place. A missing key raises (a typo is a bug, not a blank on a projector).
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).parent
LANGUAGE = "en"


@functools.cache
def catalogue(language: str = LANGUAGE) -> dict[str, str]:
    """All texts of one language, keyed `area.name` (nested tables give `area.table.name`)."""
    out: dict[str, str] = {}

    def walk(prefix: str, node: dict[str, Any]) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(f"{prefix}.{key}", value)
            else:
                out[f"{prefix}.{key}"] = str(value)

    for path in sorted((_ROOT / language).glob("*.toml")):
        with path.open("rb") as fh:
            walk(path.stem, tomllib.load(fh))
    return out


def t(key: str, /, **values: Any) -> str:
    """The text for `key`, with `values` filled in (`{name}` placeholders)."""
    text = catalogue()[key]
    return text.format(**values) if values else text


def num(value: float, digits: int = 0) -> str:
    """A number for reading: thousands separated, `digits` decimals."""
    return f"{value:,.{digits}f}"


def pct(share: float, digits: int = 0) -> str:
    """A share (0.36) as a percentage ("36%")."""
    return f"{share * 100:.{digits}f}%"


def signed(value: float, digits: int = 0) -> str:
    """A change with its sign ("+861", "−23")."""
    text = f"{abs(value):,.{digits}f}"
    return f"+{text}" if value > 0 else (f"−{text}" if value < 0 else text)
