"""Deprecated alias: `python -m engine.collector` runs `python -m collector`.

The HTTP collector is the top-level package `collector/` (engine/ is the pure library; the wire
format both sides speak is `engine.wire`). This name only forwards there and goes away in the
next release.
"""

from __future__ import annotations

import sys

NOTICE = "warning: `python -m engine.collector` is deprecated and goes away next release; use `python -m collector`"


def main(argv: list[str] | None = None) -> int:
    print(NOTICE, file=sys.stderr, flush=True)
    from collector.__main__ import main as collector_main  # the server lives outside engine/

    return collector_main(argv)


if __name__ == "__main__":
    sys.exit(main())
