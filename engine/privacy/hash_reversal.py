"""Why an unkeyed hash is no anonymisation: reverse plain SHA-256 hashes by enumeration (IPv4
/16 prefixes, an e-mail dictionary) and compare with the rails' keyed hashes."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import polars as pl

from engine import masking


def sha256_hex(values: Iterable[str]) -> list[str]:
    """Plain (unkeyed) SHA-256 of each value, hex: what a naive 'anonymised' log stores."""
    return [hashlib.sha256(v.encode()).hexdigest() for v in values]


@dataclass(frozen=True)
class CrackResult:
    """What one enumeration reversed, out of how many target hashes and candidates, and how long it took."""

    found: pl.DataFrame   # hash, value: every target hash the enumeration reversed
    targets: int
    candidates: int
    seconds: float

    @property
    def seconds_per_candidate(self) -> float:
        """The measured rate: seconds per candidate hashed and compared."""
        return self.seconds / max(self.candidates, 1)

    def extrapolate(self, candidates: float) -> float:
        """Seconds this machine would need for a space of `candidates` values, at the measured rate."""
        return candidates * self.seconds_per_candidate


class _Matcher:
    """Compares digests with target hashes on their first 8 bytes (vectorised), then in full.

    Targets may be shorter than a SHA-256 digest (the rails keep 64-bit keyed hashes): a target
    matches a candidate whose digest starts with it."""

    def __init__(self, target_hashes: Iterable[str]) -> None:
        self.targets = {h.lower() for h in target_hashes if h}
        if any(len(h) < 16 or len(h) % 2 for h in self.targets):
            raise ValueError("target hashes must be hex strings of at least 16 digits")
        self.prefix = np.unique(np.frombuffer(b"".join(bytes.fromhex(h[:16]) for h in self.targets), dtype=np.uint64)) \
            if self.targets else np.zeros(0, np.uint64)

    def match(self, candidates: list[bytes]) -> list[tuple[str, str]]:
        sha = hashlib.sha256
        digests = [sha(c).digest() for c in candidates]
        heads = np.frombuffer(b"".join(digests), dtype=np.uint64)[::4]
        out = []
        for i in np.flatnonzero(np.isin(heads, self.prefix)):
            hx = digests[i].hex()
            out += [(t, candidates[i].decode()) for t in self.targets if hx.startswith(t)]
        return out


def reverse_by_dictionary(target_hashes: Iterable[str], candidates: Iterable[str], chunk: int = 1 << 16) -> CrackResult:
    """Hash every candidate (plain SHA-256) and keep those that match a target: a dictionary attack."""
    m = _Matcher(target_hashes)
    found: list[tuple[str, str]] = []
    tried = 0
    t0 = time.perf_counter()
    batch: list[bytes] = []
    for c in candidates:
        batch.append(c.encode())
        if len(batch) == chunk:
            found += m.match(batch)
            tried += len(batch)
            batch = []
    if batch:
        found += m.match(batch)
        tried += len(batch)
    return _result(found, len(m.targets), tried, time.perf_counter() - t0)


@cache
def _host_suffixes() -> list[bytes]:
    return [f".{c}.{d}".encode() for c in range(256) for d in range(256)]


def reverse_ipv4(target_hashes: Iterable[str], prefixes16: Iterable[int]) -> CrackResult:
    """Enumerate every address of the given /16 prefixes (ints a << 8 | b), hash each with plain
    SHA-256 and keep the matches: 65,536 candidates per prefix."""
    m = _Matcher(target_hashes)
    hosts = _host_suffixes()
    found: list[tuple[str, str]] = []
    tried = 0
    t0 = time.perf_counter()
    for p in dict.fromkeys(int(x) for x in prefixes16):
        head = f"{p >> 8}.{p & 255}".encode()
        found += m.match([head + h for h in hosts])
        tried += len(hosts)
    return _result(found, len(m.targets), tried, time.perf_counter() - t0)


def _result(found: list[tuple[str, str]], targets: int, tried: int, seconds: float) -> CrackResult:
    frame = pl.DataFrame(found, schema={"hash": pl.String, "value": pl.String}, orient="row").unique("hash", keep="first")
    return CrackResult(frame, targets, tried, seconds)


def prefix16(ipv4: pl.Series) -> pl.Series:
    """The /16 prefix of dotted IPv4 addresses as an int (a << 8 | b); null if malformed."""
    parts = ipv4.str.extract_groups(r"^(\d{1,3})\.(\d{1,3})\.")
    return (parts.struct.field("1").cast(pl.Int64) * 256 + parts.struct.field("2").cast(pl.Int64)).rename("prefix16")


def email_dictionary(names: Iterable[tuple[str, str]], domains: Sequence[str], numbers: Iterable[int] = range(100)) -> list[str]:
    """Every address of the pattern first.last<number>@domain for the given (first, last) names."""
    nums = [str(n) for n in numbers]
    return [f"{f}.{la}{n}@{d}" for f, la in names for n in nums for d in domains]


def hashing_demo(values: pl.Series, key: bytes, attack: Callable[[set[str]], CrackResult]) -> tuple[pl.DataFrame, CrackResult]:
    """Hash the distinct values plain (SHA-256) and keyed (HMAC, as the rails do), run one attack
    against both sets of hashes, and count per scheme how many it reversed to the right value."""
    distinct = values.drop_nulls().unique()
    plain = pl.DataFrame({"value": distinct, "hash": sha256_hex(distinct.to_list())})
    keyed = pl.DataFrame({"value": distinct, "hash": masking.keyed_hash(distinct, key)})
    result = attack(set(plain["hash"]) | set(keyed["hash"]))
    rows = []
    for scheme, frame in (("SHA-256, no key", plain), ("HMAC-SHA-256 with a secret key", keyed)):
        right = frame.join(result.found, on=["hash", "value"], how="inner").height
        rows.append({"scheme": scheme, "hashes": frame.height, "reversed": right, "share_reversed": right / max(frame.height, 1)})
    return pl.DataFrame(rows), result


def crack_timings(result: CrackResult, spaces: dict[str, float]) -> pl.DataFrame:
    """Measured and extrapolated enumeration times for several candidate spaces (same machine, same code)."""
    rows: list[dict[str, Any]] = [{"space": "measured here", "candidates": float(result.candidates), "seconds": result.seconds}]
    rows += [{"space": k, "candidates": float(v), "seconds": result.extrapolate(v)} for k, v in spaces.items()]
    return pl.DataFrame(rows).with_columns(hours=pl.col("seconds") / 3600)
