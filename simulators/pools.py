"""Pools of realistic values, built once with Faker and then sampled by index (vectorised)."""

from __future__ import annotations

import decimal
import hashlib
import math
import re
from dataclasses import dataclass
from functools import cache

import numpy as np
import polars as pl
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
    ua: list[np.ndarray]     # per profile: user-agent variants, most likely first
    ua_weight: list[np.ndarray]  # per profile: their probabilities (sum to 1)
    screens: list[np.ndarray]
    webgl: list[np.ndarray]
    font_family: np.ndarray
    plugins: np.ndarray      # plugin pool per profile (a key of plugin_pools())
    lang_style: np.ndarray   # index into LANGUAGE_STYLES per profile
    accept: np.ndarray       # HTTP Accept header per profile (fixed by the browser)


_ACCEPT = {
    "Chrome": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8",
    "Edge": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8",
    "Samsung Internet": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
    "Firefox": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Safari": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
}
LANGUAGE_STYLES = ("chrome", "firefox", "safari")
NO_PLUGINS = "none"
_SLOT = re.compile(r"\{(\w+)(?::(\w+))?\}")
_MODIFIERS = {
    "": lambda v: v,
    "dot": lambda v: v.replace("_", "."),
    "major": lambda v: re.split(r"[._]", v, maxsplit=1)[0],
}


def zipf_weights(n: int, exponent: float) -> np.ndarray:
    """Weight (r + 1) ** -exponent of the value at rank r (0 = first), the same bits on every machine.

    Not numpy's power: its float64 power takes another code path on CPUs with AVX-512 than on
    others, and the results differ in the last bit. Products of these weights tie (2**-s * 3**-s
    is 6**-s), so a last-bit difference reordered the user agents ua_variants keeps, and the same
    seed gave other user agents, addresses' hashes and rails on another CPU. The decimal module
    computes in software, so it is the same everywhere; float() of it is correctly rounded.
    """
    with decimal.localcontext(prec=34):
        minus_s = -decimal.Decimal(repr(float(exponent)))
        return np.array([float(decimal.Decimal(r + 1) ** minus_s) for r in range(n)], dtype=np.float64)


def ua_variants(template: str, slots: dict[str, dict], limit: int) -> tuple[np.ndarray, np.ndarray]:
    """A template's user agents: every combination of its slots' values, weighted by the product of
    the slots' Zipf weights, the `limit` most likely kept, most likely first (ties in listing order)."""
    names = list(dict.fromkeys(m.group(1) for m in _SLOT.finditer(template)))
    w = np.ones(())
    for name in names:
        w = np.multiply.outer(w, zipf_weights(len(slots[name]["values"]), slots[name]["zipf"]))
    flat = w.ravel()
    # Candidates: at least as likely as the limit-th likeliest (a partition, far cheaper than a full sort).
    cand = np.flatnonzero(flat >= np.partition(flat, len(flat) - limit)[len(flat) - limit]) if len(flat) > limit else np.arange(len(flat))
    order = cand[np.argsort(-flat[cand], kind="stable")][:limit]
    picks = dict(zip(names, np.unravel_index(order, w.shape)))
    parts: list[pl.Expr] = []
    pos = 0
    for m in _SLOT.finditer(template):
        name, modify = m.group(1), _MODIFIERS[m.group(2) or ""]
        values = pl.Series([modify(v) for v in slots[name]["values"]], dtype=pl.String)
        parts += [pl.lit(template[pos:m.start()]), pl.lit(values.gather(pl.Series(picks[name])))]
        pos = m.end()
    out = pl.select(ua=pl.concat_str([*parts, pl.lit(template[pos:])]))["ua"] if parts else pl.Series([template])
    return out.to_numpy().astype(str), flat[order] / flat[order].sum()


@cache
def device_pools() -> DevicePools:
    profiles = datasets.device_profiles()
    spec = datasets.load("devices")
    limit = spec["fingerprint"]["ua_max_variants"]
    uas = [ua_variants(p["ua"], spec["ua_slot"], limit) for p in profiles]
    return DevicePools(
        profile=np.array([p["name"] for p in profiles]),
        device=np.array([p["device"] for p in profiles]),
        os=np.array([p["os"] for p in profiles]),
        browser=np.array([p["browser"] for p in profiles]),
        platform=np.array([p["platform"] for p in profiles]),
        weight=np.array([float(p["weight"]) for p in profiles]),
        ua=[values for values, _ in uas],
        ua_weight=[weights for _, weights in uas],
        screens=[np.array(p["screens"]) for p in profiles],
        webgl=[np.array(p["webgl"]) for p in profiles],
        font_family=np.array([p["font_family"] for p in profiles]),
        plugins=np.array([p["plugins"] for p in profiles]),
        lang_style=np.array([LANGUAGE_STYLES.index(p["lang_style"]) for p in profiles]),
        accept=np.array([_ACCEPT[p["browser"]] for p in profiles]),
    )


def _plugin_lists(vocabulary: list[dict], family: str, n: int, zipf: float, seed: list[int]) -> np.ndarray:
    """n plugin lists drawn from the vocabulary (each plugin present with its prevalence, one version
    each), all draws kept, most frequent list first (ties by text); an empty list is NO_PLUGINS."""
    rng = np.random.default_rng(seed)
    present = rng.random((n, len(vocabulary))) < np.array([p["prevalence"].get(family, 0.0) for p in vocabulary])
    u = rng.random((n, len(vocabulary)))
    columns = []
    for j, p in enumerate(vocabulary):
        cdf = np.cumsum(w := zipf_weights(len(p["versions"]), zipf)) / w.sum()
        version = np.minimum(np.searchsorted(cdf, u[:, j], side="right"), len(p["versions"]) - 1)
        tokens = pl.Series([f"{p['name']} {v}" for v in p["versions"]]).gather(pl.Series(version))
        columns.append(pl.when(pl.Series(present[:, j])).then(pl.lit(tokens)))
    lists = pl.select(s=pl.concat_str(columns, separator=";", ignore_nulls=True))
    lists = lists.with_columns(pl.col("s").replace("", NO_PLUGINS)).with_columns(n=pl.len().over("s"))
    return lists.sort(["n", "s"], descending=[True, False])["s"].to_numpy().astype(str)


@cache
def plugin_pools() -> dict[str, np.ndarray]:
    """Per plugin pool: its lists, most frequent first (the "none" pool: one empty list)."""
    spec = datasets.load("devices")["plugins"]
    families = sorted({f for p in spec["plugin"] for f in p["prevalence"]})
    pools = {NO_PLUGINS: np.array([NO_PLUGINS])}
    for i, family in enumerate(families):
        pools[family] = _plugin_lists(spec["plugin"], family, spec["lists"], spec["version_zipf"], [_POOL_SEED, i])
    return pools


def _accept_language(primary: str, style: str, extra: str) -> str:
    base = primary.split("-")[0]
    extras = [t for t in extra.split(",") if t and t.split("-")[0] != base]
    if style == "firefox":
        tags = [base, *extras]
        qs = [math.floor((1 - i / len(tags)) * 10 + 0.5) / 10 for i in range(len(tags))]
    else:
        tags = [primary, base, *extras] if style == "chrome" else [primary, *extras]
        qs = [1.0 - 0.1 * i for i in range(len(tags))]
    return ",".join(t if i == 0 else f"{t};q={max(q, 0.1):.1f}" for i, (t, q) in enumerate(zip(tags, qs)))


@cache
def language_pool() -> tuple[np.ndarray, np.ndarray]:
    """Accept-Language strings at index (country * len(LANGUAGE_STYLES) + style) * n_extras + extra,
    and the extras' probabilities (the first extra is none)."""
    spec = datasets.load("devices")["language"]
    extras = spec["extras"]
    values = [_accept_language(lang, style, extra) for lang in country_pools().language
              for style in LANGUAGE_STYLES for extra in extras]
    w = np.concatenate([[spec["none_weight"]], zipf_weights(len(extras) - 1, spec["zipf"])])
    return np.array(values), w / w.sum()


def short_hex(label: str, n: int) -> np.ndarray:
    """n stable pseudo-hash strings for a label (e.g. canvas or font-list hashes of a family)."""
    return np.array([hashlib.sha1(f"{label}:{i}".encode()).hexdigest()[:12] for i in range(n)])
