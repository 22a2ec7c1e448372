"""The app's lines in the server log: one `drcl` logger tree, formatted like Streamlit's own lines.

Streamlit's loggers do not propagate; ours do (to nothing in a server, to pytest's caplog in tests).
"""

from __future__ import annotations

import logging

_FORMAT = "%(asctime)s %(levelname) -7s %(name)s: %(message)s"


def get_logger(name: str) -> logging.Logger:
    base = logging.getLogger("drcl")
    if not base.handlers:
        handler = logging.StreamHandler()
        formatter = logging.Formatter(_FORMAT)
        formatter.default_msec_format = "%s.%03d"
        handler.setFormatter(formatter)
        base.addHandler(handler)
        base.setLevel(logging.INFO)
    return base.getChild(name)
