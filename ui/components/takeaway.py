"""The one computed sentence a page or section leads with (the finding first, then the chart)."""

from __future__ import annotations

import streamlit as st


def lead(text: str) -> None:
    """A page's lead sentence, large."""
    st.markdown(f"#### {text}")


def takeaway(text: str) -> None:
    """A section's takeaway sentence, bold, before its chart."""
    st.markdown(f"**{text}**")
