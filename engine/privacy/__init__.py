"""What the data gives away: fingerprint entropy, anonymity sets, k-anonymity per rail,
linkability across days, and why an unkeyed hash is no anonymisation.

Pure polars/numpy (plus hashlib for the enumeration demo). The rails' tables are linked to the
truth only through `event_id`, which both carry: that is how each rail is measured against the truth.
One concern per module: entropy (entropy and uniqueness), kanonymity (k-anonymity and masking
steps), linking (linkability across days) and hash_reversal. Callers use `from engine import privacy`.
"""

from __future__ import annotations

from engine.privacy.entropy import (
    ANONYMITY_BINS,
    FINGERPRINT_ATTRIBUTES,
    anonymity_histogram,
    attribute_entropy,
    curve_from_codes,
    entropy_table,
    one_in,
    population_sizes,
    published_entropy,
    study_mix_overrides,
    unique_share,
    unique_share_of_codes,
    uniqueness_curve,
    visitor_rarity,
)
from engine.privacy.hash_reversal import (
    CrackResult,
    crack_timings,
    email_dictionary,
    hashing_demo,
    prefix16,
    reverse_by_dictionary,
    reverse_ipv4,
    sha256_hex,
)
from engine.privacy.kanonymity import (
    K_THRESHOLD,
    MASKING_STEPS,
    RAIL_QUASI_IDENTIFIERS,
    k_anonymity,
    k_anonymity_by_rail,
    masking_steps,
    rail_records,
)
from engine.privacy.linking import COOKIELESS_FINGERPRINT, fingerprint_linkability, linkability, transitions

__all__ = [
    "ANONYMITY_BINS",
    "COOKIELESS_FINGERPRINT",
    "FINGERPRINT_ATTRIBUTES",
    "K_THRESHOLD",
    "MASKING_STEPS",
    "RAIL_QUASI_IDENTIFIERS",
    "CrackResult",
    "anonymity_histogram",
    "attribute_entropy",
    "crack_timings",
    "curve_from_codes",
    "email_dictionary",
    "entropy_table",
    "fingerprint_linkability",
    "hashing_demo",
    "k_anonymity",
    "k_anonymity_by_rail",
    "linkability",
    "masking_steps",
    "one_in",
    "population_sizes",
    "prefix16",
    "published_entropy",
    "rail_records",
    "reverse_by_dictionary",
    "reverse_ipv4",
    "sha256_hex",
    "study_mix_overrides",
    "transitions",
    "unique_share",
    "unique_share_of_codes",
    "uniqueness_curve",
    "visitor_rarity",
]
