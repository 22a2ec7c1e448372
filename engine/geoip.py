"""The simulated GeoIP database: which IPv4 /16 and IPv6 /32 prefixes belong to which country.

The simulator draws addresses from these prefixes and the rails look countries up in them, as a
real collector would with a GeoIP file. Built from a fixed seed, so it is the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import polars as pl

from engine import datasets, masking

_SEED = 20_260_101
PREFIXES_PER_COUNTRY = 48
# Public first octets only, so addresses look routable (no 10/8, 127/8, 172.16/12, 192.168/16).
_PUBLIC_FIRST_OCTETS = np.array(
    [2, 5, 24, 31, 37, 46, 50, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82,
     83, 84, 85, 86, 87, 88, 89, 90, 91, 93, 94, 95, 96, 97, 98, 99, 103, 104, 107, 108, 109, 110, 111, 112, 113,
     114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 133, 150, 153, 173, 174, 176, 177, 178, 184,
     185, 188, 189, 193, 194, 195, 200, 201, 202, 203, 210, 211, 212, 213, 217]
)


@dataclass(frozen=True)
class GeoTable:
    codes: np.ndarray          # country codes
    ipv4_prefix16: np.ndarray  # (n_countries, PREFIXES_PER_COUNTRY) ints (a << 8 | b)
    ipv6_prefix32: np.ndarray  # (n_countries,) ints


@cache
def table() -> GeoTable:
    codes = np.array(list(datasets.geo()["countries"]))
    rng = np.random.default_rng(_SEED)
    # Distinct /16s across countries, so a lookup is unambiguous.
    all16 = (_PUBLIC_FIRST_OCTETS[:, None] << 8 | np.arange(256)[None, :]).ravel()
    pick = rng.choice(all16, size=len(codes) * PREFIXES_PER_COUNTRY, replace=False)
    v6 = (0x2A00 << 16) + rng.choice(1 << 16, size=len(codes), replace=False)
    return GeoTable(codes, pick.reshape(len(codes), PREFIXES_PER_COUNTRY).astype(np.int64), v6.astype(np.int64))


@cache
def _lookup_frame() -> pl.DataFrame:
    t = table()
    v4 = pl.DataFrame({
        "prefix": [f"v4:{p >> 8}.{p & 255}" for p in t.ipv4_prefix16.ravel()],
        "country": np.repeat(t.codes, PREFIXES_PER_COUNTRY),
    })
    v6 = pl.DataFrame({"prefix": [f"v6:{p >> 16:x}:{p & 0xFFFF:x}" for p in t.ipv6_prefix32], "country": t.codes})
    return pl.concat([v4, v6])


def country_of(ip: pl.Series) -> pl.Series:
    """Country code of each IP address (null where the prefix is unknown or the IP malformed)."""
    key = pl.when(pl.col("ip").str.contains(":")).then(
        pl.concat_str([pl.lit("v6:"), pl.col("ip").str.extract(r"^([0-9a-fA-F]{1,4}:[0-9a-fA-F]{1,4})").str.to_lowercase()])
    ).otherwise(pl.concat_str([pl.lit("v4:"), pl.col("ip").str.extract(r"^(\d{1,3}\.\d{1,3})\.\d{1,3}\.\d{1,3}$")]))

    def lookup(u: pl.DataFrame) -> pl.DataFrame:
        return u.with_columns(prefix=key).join(_lookup_frame(), on="prefix", how="left").drop("prefix")

    return masking.per_unique(pl.DataFrame({"ip": ip}), ["ip"], lookup)["country"]
