"""The context rule: what a contextual policy may condition on, and the sensitive traits it never may."""

from __future__ import annotations

import re

CONTEXTS = ("persona", "device")  # what a contextual policy may condition on
# Sensitive traits (GDPR Art. 9 and the usual anti-discrimination grounds): never a context.
SENSITIVE_TRAITS = frozenset({
    "sex", "gender", "origin", "ethnic", "ethnicity", "race", "nationality", "age", "birth", "birthdate",
    "religion", "belief", "disability", "health", "orientation", "sexuality", "pregnancy", "union", "political",
})


def check_context(name: str) -> str:
    """`name` if a policy may use it as context; ValueError for sensitive traits or unknown names."""
    tokens = set(re.split(r"[^a-z0-9]+", name.lower()))
    if tokens & SENSITIVE_TRAITS:
        raise ValueError(f"context {name!r} is a sensitive trait; a copy test may use {', '.join(CONTEXTS)} only")
    if name not in CONTEXTS:
        raise ValueError(f"unknown context {name!r}; a copy test may use {', '.join(CONTEXTS)}")
    return name
