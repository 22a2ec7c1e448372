"""The page's error boundary: an exception is logged server side with a short id, and the browser
gets only that id (no traceback, no file paths; `client.showErrorDetails` is "none" as well)."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

import streamlit as st

from ui.logs import get_logger
from ui.words import t

logger = get_logger("errors")


def log_error(what: str) -> str:
    """Log the exception being handled, with its traceback, under a new id; return the id."""
    error_id = secrets.token_hex(4)
    logger.exception("error %s in %s", error_id, what)
    return error_id


@contextlib.contextmanager
def error_boundary(page: str) -> Iterator[None]:
    # st.stop() and st.rerun() raise BaseExceptions, which pass through as they must.
    try:
        yield
    except Exception:
        error_id = log_error(f"page {page!r}")
        st.error(t("frame.page_error", error_id=error_id))
