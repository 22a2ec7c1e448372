"""Pools of realistic values, built once with Faker and then sampled by index (vectorised)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache

import numpy as np
from faker import Faker

from engine import datasets, geoip

# Pools must not depend on the run's seed: the same city index means the same city in every run.
_POOL_SEED = 20_260_101
CITIES_PER_COUNTRY = 24
NAMES_PER_POOL = 400
EMAIL_DOMAINS = np.array(
    ["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "gmx.de", "web.de", "orange.fr", "hotmail.com", "proton.me"]
)
IPV4_PREFIXES_PER_COUNTRY = geoip.PREFIXES_PER_COUNTRY


@dataclass(frozen=True)
class CountryPools:
    codes: np.ndarray          # country codes, index = country index
    region: np.ndarray         # region key per country
    timezone: np.ndarray
    language: np.ndarray
    cities: np.ndarray         # (n_countries, CITIES_PER_COUNTRY) city names
    ipv4_prefix16: np.ndarray  # (n_countries, IPV4_PREFIXES_PER_COUNTRY) /16 prefixes as ints
    ipv6_prefix32: np.ndarray  # (n_countries,) /32 prefixes as ints


@dataclass(frozen=True)
class NamePools:
    first: np.ndarray
    last: np.ndarray


@cache
def country_pools() -> CountryPools:
    geo = datasets.geo()
    codes = list(geo["countries"])
    region_of = datasets.country_region()
    cities = []
    for code in codes:
        fake = Faker(geo["countries"][code]["locale"])
        # Some locales (it_IT) build their city list from a set, whose order changes with
        # PYTHONHASHSEED: sort it, or the same seed gives other cities in another process.
        for provider in fake.get_providers():
            if isinstance(getattr(provider, "cities", None), list | tuple):
                provider.cities = sorted(provider.cities)
        fake.seed_instance(_POOL_SEED)
        names: list[str] = []
        while len(names) < CITIES_PER_COUNTRY:
            c = fake.city()
            names.append(c)
        cities.append(names)
    geo_table = geoip.table()
    assert list(geo_table.codes) == codes
    return CountryPools(
        codes=np.array(codes),
        region=np.array([region_of[c] for c in codes]),
        timezone=np.array([geo["countries"][c]["tz"] for c in codes]),
        language=np.array([geo["countries"][c]["lang"] for c in codes]),
        cities=np.array(cities),
        ipv4_prefix16=geo_table.ipv4_prefix16,
        ipv6_prefix32=geo_table.ipv6_prefix32,
    )


def _ascii(s: str) -> str:
    return "".join(ch for ch in s.lower() if "a" <= ch <= "z")


@cache
def name_pools() -> NamePools:
    """First and last names from several locales, lower-case ASCII, for e-mail addresses."""
    first: set[str] = set()
    last: set[str] = set()
    for loc in ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL"):
        fake = Faker(loc)
        fake.seed_instance(_POOL_SEED)
        for _ in range(NAMES_PER_POOL // 3):
            first.add(_ascii(fake.first_name()))
            last.add(_ascii(fake.last_name()))
    first.discard("")
    last.discard("")
    return NamePools(first=np.array(sorted(first)), last=np.array(sorted(last)))


@dataclass(frozen=True)
class DevicePools:
    profile: np.ndarray      # profile names
    device: np.ndarray       # device class per profile
    os: np.ndarray
    browser: np.ndarray
    platform: np.ndarray
    weight: np.ndarray
    ua: list[np.ndarray]     # per profile: user-agent strings, one per version
    screens: list[np.ndarray]
    webgl: list[np.ndarray]
    font_family: np.ndarray
    plugins: np.ndarray
    accept: np.ndarray       # HTTP Accept header per profile (fixed by the browser)


_ACCEPT = {
    "Chrome": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8",
    "Edge": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8",
    "Samsung Internet": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
    "Firefox": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Safari": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
}


@cache
def device_pools() -> DevicePools:
    profiles = datasets.device_profiles()
    return DevicePools(
        profile=np.array([p["name"] for p in profiles]),
        device=np.array([p["device"] for p in profiles]),
        os=np.array([p["os"] for p in profiles]),
        browser=np.array([p["browser"] for p in profiles]),
        platform=np.array([p["platform"] for p in profiles]),
        weight=np.array([float(p["weight"]) for p in profiles]),
        ua=[np.array([p["ua"].replace("{v}", v) for v in p["versions"]]) for p in profiles],
        screens=[np.array(p["screens"]) for p in profiles],
        webgl=[np.array(p["webgl"]) for p in profiles],
        font_family=np.array([p["font_family"] for p in profiles]),
        plugins=np.array([p["plugins"] for p in profiles]),
        accept=np.array([_ACCEPT[p["browser"]] for p in profiles]),
    )


def short_hex(label: str, n: int) -> np.ndarray:
    """n stable pseudo-hash strings for a label (e.g. canvas or font-list hashes of a family)."""
    return np.array([hashlib.sha1(f"{label}:{i}".encode()).hexdigest()[:12] for i in range(n)])
