"""Vectorised ground-truth traffic: visitors, sessions and events, in fixed-size visitor chunks.

Determinism contract: visitors are generated in chunks of CHUNK_VISITORS, each from its own
random streams keyed by (seed, chunk, stream). A chunk's output therefore does not depend on
how many chunks run, in which order, or on which machine (the basis of sharding), and a knob
only changes what it governs (common random numbers: every visitor carries fixed uniforms).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import polars as pl

from engine import datasets
from engine.calibrate import norm_ppf, recentre, sigmoid
from engine.scenario import Scenario
from engine.truth import CONSENT_DRAWS, EVENT_COLUMNS, VISITOR_COLUMNS, Traffic
from simulators import pools

CHUNK_VISITORS = 50_000
_US_PER_S = 1_000_000
_ID_STRIDE = 1 << 32  # event and session ids: chunk index in the high bits

# Random streams (the third element of the seed sequence).
_S_VISITOR, _S_CONSENT, _S_ADDR, _S_SESSION, _S_EVENT = 1, 2, 3, 4, 5
# Second devices draw from streams of their own, so the streams above (and every column of a
# one-device visitor) are the same as without them.
_S_DEVICE2_PICK, _S_DEVICE2_BROWSER, _S_DEVICE2_CONSENT = 6, 7, 8
# A second device's browser id: its person's id plus this offset (ids stay sorted within a chunk).
DEVICE2_ID_OFFSET = 1 << 40

# Columns of the per-visitor uniform matrix (common random numbers).
# The first _N_VARIETY are the fingerprint variety draws, which follow the visitor's typicality
# draw when the visitor is coupled (devices.toml, [fingerprint]).
(_V_VERSION, _V_SCREEN, _V_WEBGL, _V_FONTS, _V_CANVAS, _V_PLUGINS, _V_LANG_EXTRA,
 _V_REGION, _V_COUNTRY, _V_CITY, _V_DEVICE, _V_PROFILE, _V_PERSONA, _V_ATTITUDE, _V_RETURNING, _V_ADBLOCK,
 _V_GPC, _V_IPV6, _V_DNT, _V_COOKIES, _V_ACCOUNT, _V_FIRST, _V_LAST, _V_NUM, _V_DOMAIN, _V_FIRSTDAY, _V_HOUR,
 _V_IPPREFIX, _V_NSESS, _V_TYPICAL, _V_COUPLED) = range(31)
_N_V = 31
_N_VARIETY = 7
# Keys of devices.toml `concentration`, in variety-draw order (ua and language are not applied: see _visitors).
_VARIETY_NAMES = ("ua", "screen", "webgl", "fonts", "canvas", "plugins", "language")

# Relative traffic by UTC hour (modelling assumption: low at night, evening peak).
_HOUR_WEIGHTS = np.array([2, 1.5, 1, 1, 1, 1.5, 2.5, 4, 5, 5.5, 6, 6, 6, 6, 6, 6, 6.5, 7, 8, 8.5, 8, 6.5, 4.5, 3])
_PICK_BUCKETS = 1 << 16  # resolution of the lookup tables of weighted draws


def n_chunks(scenario: Scenario) -> int:
    return math.ceil(scenario.traffic.visitors / CHUNK_VISITORS)


def _rng(seed: int, chunk: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, chunk, stream])


def _pick(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF sampling: index i with cdf[i-1] <= u < cdf[i]."""
    return np.minimum(np.searchsorted(cdf, u, side="right"), len(cdf) - 1)


def _cdf(weights: np.ndarray | list[float]) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return np.cumsum(w / w.sum())


def _odds_scale(p: np.ndarray, m: np.ndarray) -> np.ndarray:
    return p * m / (1.0 - p + p * m)


@dataclass(frozen=True)
class _Flat:
    """Value pools of several groups, concatenated; a group's values are its slice."""

    values: pl.Series
    offset: np.ndarray
    count: np.ndarray
    edges: np.ndarray  # group + cumulative probability within the group (weighted draws)
    table: np.ndarray  # (group, bucket) -> index at u = bucket / _PICK_BUCKETS (weighted draws)

    def take(self, group: np.ndarray, u: np.ndarray, skew: float = 1.0) -> np.ndarray:
        """Index into the group's slice with a skewed uniform (skew > 1 favours the first values)."""
        return self.offset[group] + np.minimum((u**skew * self.count[group]).astype(np.int64), self.count[group] - 1)

    def pick(self, group: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Index into the group's slice by the group's value probabilities (inverse CDF of u, so
        small u gives the likeliest values). A lookup table answers draws whose bucket holds one
        value; the few others are searched exactly."""
        at = group * (_PICK_BUCKETS + 1) + (u * _PICK_BUCKETS).astype(np.int64)
        idx = self.table[at].astype(np.int64)
        mixed = np.flatnonzero(idx != self.table[at + 1])
        idx[mixed] = np.searchsorted(self.edges, group[mixed] + u[mixed], side="right")
        return np.minimum(idx, self.offset[group] + self.count[group] - 1)


def _flatten(groups: list[np.ndarray], weights: list[np.ndarray] | None = None) -> _Flat:
    count = np.array([len(g) for g in groups])
    offset = np.concatenate([[0], np.cumsum(count)[:-1]])
    cdfs = [np.cumsum(w) / np.sum(w) for w in (weights or [np.ones(len(g)) for g in groups])]
    for c in cdfs:
        c[-1] = 1.0  # exact group boundaries: group g's draws (g + u, u < 1) never reach group g + 1
    edges = np.concatenate([g + c for g, c in enumerate(cdfs)])
    table = np.empty(0, dtype=np.int32)
    if weights is not None:
        grid = np.arange(_PICK_BUCKETS + 1) / _PICK_BUCKETS
        table = np.concatenate([np.searchsorted(edges, g + grid, side="right") for g in range(len(groups))]).astype(np.int32)
    return _Flat(pl.Series(np.concatenate(groups).tolist(), dtype=pl.String), offset, count, edges, table)


@cache
def _fingerprint_spec() -> dict:
    return datasets.load("devices")["fingerprint"]


@cache
def _device_tables() -> dict[str, _Flat]:
    dp = pools.device_pools()
    variants = _fingerprint_spec()["font_variants"]
    plugin_pools = pools.plugin_pools()
    names = sorted(plugin_pools)
    return {
        "ua": _flatten(dp.ua, dp.ua_weight),
        "screen": _flatten(dp.screens),
        "webgl": _flatten(dp.webgl),
        # One slice per profile; profiles of the same family share the family's font lists.
        "fonts": _flatten([np.char.add(f"{f}:", pools.short_hex(f"fonts-{f}", variants[f])) for f in dp.font_family]),
        # One slice per plugin pool (profiles index them through _plugin_group()).
        "plugins": _flatten([plugin_pools[k] for k in names]),
    }


@cache
def _plugin_group() -> np.ndarray:
    """Per profile, its plugin pool's slice in the plugin tables."""
    return np.searchsorted(np.array(sorted(pools.plugin_pools())), pools.device_pools().plugins)


@cache
def _canvas_pool() -> pl.Series:
    return pl.Series(pools.short_hex("canvas", len(_device_tables()["webgl"].values) * _fingerprint_spec()["canvas_variants"]))


@cache
def _language_tables() -> tuple[pl.Series, np.ndarray]:
    values, weights = pools.language_pool()
    return pl.Series(values.tolist(), dtype=pl.String), np.cumsum(weights)


def warm_worker() -> float:
    """Build this process's value pools (Faker per country locale, devices, plugins, languages) and
    the tables derived from them; seconds spent. They are cached per process (functools.cache), so
    a worker pays this once, at start-up, however many tasks it then runs (simulators.dask_plugin)."""
    start = time.perf_counter()
    pools.country_pools()
    pools.name_pools()
    warm_caches()
    return time.perf_counter() - start


def warm_caches() -> None:
    """Build the per-process tables every chunk reads (pools, fingerprint tables)."""
    _device_tables()
    _plugin_group()
    _canvas_pool()
    _language_tables()
    _hex16()


def _profile_weights(scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Per device class, profile probabilities re-weighted so the Safari share matches the knob."""
    dp = pools.device_pools()
    devices = np.array(["desktop", "mobile", "tablet"])
    mix = scenario.traffic.device_mix.shares()
    dev_share = np.array([mix[d] for d in devices])
    safari = dp.browser == "Safari"
    natural = np.array([dp.weight[(dp.device == d) & safari].sum() / dp.weight[dp.device == d].sum() for d in devices])
    inner = np.clip(natural, 1e-9, 1 - 1e-9)
    c = recentre(scenario.traffic.safari_share, np.log(inner / (1 - inner)), dev_share)
    target = np.where((natural > 0) & (natural < 1), sigmoid(c + np.log(inner / (1 - inner))), natural)
    probs = np.zeros((len(devices), len(dp.profile)))
    for i, d in enumerate(devices):
        on = dp.device == d
        w = np.where(safari, target[i] / max(natural[i], 1e-12), (1 - target[i]) / max(1 - natural[i], 1e-12))
        w = np.where(on, dp.weight * w, 0.0)
        probs[i] = w / w.sum()
    return devices, np.cumsum(probs, axis=1)


def _ipv4_strings(ip: np.ndarray) -> pl.Series:
    o = [pl.Series(((ip >> s) & 255).astype(np.int64)).cast(pl.String) for s in (24, 16, 8, 0)]
    return pl.select(pl.concat_str(o, separator=".")).to_series()


@cache
def _hex16() -> pl.Series:
    return pl.Series([f"{i:x}" for i in range(1 << 16)])


def _ipv6_strings(prefix32: np.ndarray, rest: np.ndarray) -> pl.Series:
    groups = [prefix32 >> 16, prefix32 & 0xFFFF] + [rest[:, i] for i in range(6)]
    hx = _hex16()
    cols = [hx.gather(pl.Series(g.astype(np.int64))) for g in groups]
    return pl.select(pl.concat_str(cols, separator=":")).to_series()


def _gather(pool: list[str] | np.ndarray | pl.Series, idx: np.ndarray) -> pl.Series:
    """Strings by index from a pool (polars gathers string views: far cheaper than numpy strings)."""
    series = pool if isinstance(pool, pl.Series) else _pool_series(tuple(np.asarray(pool).tolist()))
    return series.gather(pl.Series(np.asarray(idx, dtype=np.int64)))


@cache
def _pool_series(pool: tuple[str, ...]) -> pl.Series:
    return pl.Series(pool, dtype=pl.String)


def _population() -> dict:
    return datasets.load("population")


def _visitors(scenario: Scenario, chunk: int, lo: int, hi: int, *, stream: int = _S_VISITOR,
              rows: np.ndarray | None = None, device: np.ndarray | None = None,
              columns: frozenset[str] | None = None) -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    """One chunk's visitors: stored columns, plus internal arrays the session builder needs.
    `stream`, `rows` (chunk positions to build; the draws are the whole chunk's, so a row does not
    depend on which others are built) and `device` (a device class index per row) draw
    second-device browsers. `columns`: build only these of the plain columns (not the addresses or
    the e-mail), with the same values: the draws are made all the same."""
    t = scenario.traffic
    n = hi - lo
    u = _rng(scenario.seed, chunk, stream).random((n, _N_V))
    pos = np.arange(n) if rows is None else rows
    u, n = u[pos], len(pos)
    pop = _population()
    cp = pools.country_pools()
    dp = pools.device_pools()
    tabs = _device_tables()

    # Region, then country within region, then city.
    regions = ["eea", "uk", "us", "rest"]
    rmix = t.region_mix.shares()
    region_idx = _pick(_cdf([rmix[r] for r in regions]), u[:, _V_REGION])
    country = np.zeros(n, dtype=np.int64)
    geo = datasets.geo()["regions"]
    code_index = {c: i for i, c in enumerate(cp.codes)}
    for ri, key in enumerate(("EEA", "UK", "US", "rest")):
        on = region_idx == ri
        idx = np.array([code_index[c] for c in geo[key]["countries"]])
        country[on] = idx[_pick(_cdf(geo[key]["weights"]), u[on, _V_COUNTRY])]
    city_idx = np.minimum((u[:, _V_CITY] ** 2 * pools.CITIES_PER_COUNTRY).astype(np.int64), pools.CITIES_PER_COUNTRY - 1)

    # Device class, then a correlated device profile; every attribute comes from the profile's pools.
    devices, profile_cdf = _profile_weights(scenario)
    dmix = t.device_mix.shares()
    device_idx = _pick(_cdf([dmix[d] for d in devices]), u[:, _V_DEVICE]) if device is None else device
    profile = np.zeros(n, dtype=np.int64)
    for di in range(len(devices)):
        on = device_idx == di
        profile[on] = _pick(profile_cdf[di], u[on, _V_PROFILE])
    # Typicality coupling: a coupled visitor's variety draws all follow one draw (devices.toml).
    # The user agent and Accept-Language reach the rails (hits, hashes), so they keep the
    # volunteers' draws in every population: the population option changes only the attributes a
    # script reads (screen, WebGL, fonts, canvas, plugins), never another table.
    spec = _fingerprint_spec()
    base = spec["volunteers"]
    coupled = u[:, _V_COUPLED] < np.array([base["coupling"][d] for d in devices])[device_idx]
    v = np.where(coupled[:, None], u[:, _V_TYPICAL, None], u[:, :_N_VARIETY])
    ua_i = tabs["ua"].pick(profile, v[:, _V_VERSION])
    lang_v = v[:, _V_LANG_EXTRA]
    var = spec[t.fingerprint_population]
    if var is not base:
        # Higher coupling nests the volunteers' coupled visitors (same draw, larger threshold);
        # skipped for the volunteers so their population stays bit for bit.
        coupled = u[:, _V_COUPLED] < np.array([var["coupling"][d] for d in devices])[device_idx]
        v = np.where(coupled[:, None], u[:, _V_TYPICAL, None], u[:, :_N_VARIETY])
        v = v ** np.array([var["concentration"][k] for k in _VARIETY_NAMES])
    screen_i = tabs["screen"].take(profile, v[:, _V_SCREEN], skew=var["screen_skew"])
    webgl_i = tabs["webgl"].take(profile, v[:, _V_WEBGL], skew=var["webgl_skew"])
    fonts_i = tabs["fonts"].take(profile, v[:, _V_FONTS], skew=var["fonts_skew"])
    n_canvas = _fingerprint_spec()["canvas_variants"]
    canvas_code = webgl_i * n_canvas + (v[:, _V_CANVAS] ** 2 * n_canvas).astype(np.int64)
    plugins_i = tabs["plugins"].take(_plugin_group()[profile], v[:, _V_PLUGINS])

    att = pop["attitude"]
    attitude = _pick(_cdf(att["shares"]), u[:, _V_ATTITUDE])
    per = pop["persona"]
    persona = _pick(_cdf(per["shares"]), u[:, _V_PERSONA])
    ret_odds = np.log(np.asarray(per["returning_odds"]))
    c_ret = recentre(t.returning_share, ret_odds, np.asarray(per["shares"]))
    returning = u[:, _V_RETURNING] < sigmoid(c_ret + ret_odds[persona])

    adblock_rate = np.array([t.adblock.for_browser(b) for b in dp.browser])[profile]
    adblock = u[:, _V_ADBLOCK] < adblock_rate
    gpc = u[:, _V_GPC] < t.gpc_share
    sess = pop["session"]
    has_ipv6 = u[:, _V_IPV6] < sess["ipv6_share"]
    has_account = u[:, _V_ACCOUNT] < np.asarray(per["account_share"])[persona]

    # Addresses: a /16 of the visitor's country, random host part; IPv6 inside the country's /32.
    addr = _rng(scenario.seed, chunk, _S_ADDR)
    prefix = cp.ipv4_prefix16[country, (u[:, _V_IPPREFIX] * pools.IPV4_PREFIXES_PER_COUNTRY).astype(np.int64)]
    # One draw matrix, so a visitor's addresses do not depend on the chunk's size.
    words = addr.integers(0, 1 << 16, size=(hi - lo, 7))[pos]
    ipv4 = (prefix << 16) | np.clip(words[:, 0], 1, 65_534)
    ipv6_rest = words[:, 1:]

    # Accept-Language: the country's language in the browser's style, sometimes with extra languages.
    lang_pool, extra_cdf = _language_tables()
    lang_i = (country * len(pools.LANGUAGE_STYLES) + dp.lang_style[profile]) * len(extra_cdf) + _pick(extra_cdf, lang_v)

    # E-mail candidates for everyone (only kept for visitors who identify, decided after sessions).
    names = pools.name_pools()
    first_i = (u[:, _V_FIRST] * len(names.first)).astype(np.int64)
    last_i = (u[:, _V_LAST] * len(names.last)).astype(np.int64)
    num = (u[:, _V_NUM] * 100).astype(np.int64)
    domain_i = (u[:, _V_DOMAIN] * len(pools.EMAIL_DOMAINS)).astype(np.int64)

    visitor_id = lo + pos.astype(np.int64)
    plain: dict[str, Callable[[], Any]] = {
        "visitor_id": lambda: visitor_id,
        "persona": lambda: _gather(per["names"], persona),
        "privacy_attitude": lambda: _gather(att["names"], attitude),
        "region": lambda: _gather(regions, region_idx),
        "country": lambda: _gather(cp.codes, country),
        "city": lambda: _gather(cp.cities.ravel(), country * pools.CITIES_PER_COUNTRY + city_idx),
        "timezone": lambda: _gather(cp.timezone, country),
        "language": lambda: _gather(lang_pool, lang_i),
        "device": lambda: _gather(devices, device_idx),
        "os": lambda: _gather(dp.os, profile),
        "browser": lambda: _gather(dp.browser, profile),
        "platform": lambda: _gather(dp.platform, profile),
        "user_agent": lambda: _gather(tabs["ua"].values, ua_i),
        "screen": lambda: _gather(tabs["screen"].values, screen_i),
        "webgl": lambda: _gather(tabs["webgl"].values, webgl_i),
        "fonts": lambda: _gather(tabs["fonts"].values, fonts_i),
        "canvas": lambda: _gather(_canvas_pool(), canvas_code),
        "plugins": lambda: _gather(tabs["plugins"].values, plugins_i),
        "accept": lambda: _gather(dp.accept, profile),
        "dnt": lambda: u[:, _V_DNT] < sess["dnt_share"],
        "cookies_enabled": lambda: u[:, _V_COOKIES] >= sess["cookies_disabled_share"],
        "adblock": lambda: adblock,
        "gpc": lambda: gpc,
        "has_account": lambda: has_account,
    }
    if columns is not None:
        return pl.DataFrame({k: make() for k, make in plain.items() if k in columns}), {}
    df = pl.DataFrame({k: make() for k, make in plain.items()}).with_columns(
        ipv4=_ipv4_strings(ipv4),
        ipv6=pl.when(pl.Series(has_ipv6)).then(_ipv6_strings(cp.ipv6_prefix32[country], ipv6_rest)),
        _email=pl.concat_str(
            [_gather(names.first, first_i), pl.lit("."), _gather(names.last, last_i), pl.Series(num).cast(pl.String),
             pl.lit("@"), _gather(pools.EMAIL_DOMAINS, domain_i)]
        ),
    )
    internal = {
        "persona": persona,
        "device": device_idx,
        "returning": returning,
        "u_firstday": u[:, _V_FIRSTDAY],
        "u_hour": u[:, _V_HOUR],
        "u_nsess": u[:, _V_NSESS],
        "has_account": has_account,
    }
    return df, internal


def _sessions(scenario: Scenario, chunk: int, n: int, vi: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    t = scenario.traffic
    pop = _population()
    sess = pop["session"]
    rng = _rng(scenario.seed, chunk, _S_SESSION)
    start = dt.datetime.combine(t.start_date, dt.time(), tzinfo=dt.UTC)
    start_us = int(start.timestamp()) * _US_PER_S
    end_us = start_us + t.days * 86_400 * _US_PER_S

    # Sessions per visitor: 1, or for returning visitors 2 + Poisson (from the visitor's own uniform).
    extra = np.zeros(n, dtype=np.int64)
    r = vi["returning"]
    lam = sess["extra_sessions_mean"] - 1
    extra[r] = 1 + _poisson_ppf(vi["u_nsess"][r], lam)
    n_sess = np.minimum(1 + extra, sess["max_sessions"])
    hour = _pick(_cdf(_HOUR_WEIGHTS), vi["u_hour"])
    first_day = np.minimum((vi["u_firstday"] * t.days).astype(np.int64), t.days - 1)
    first_ts = start_us + first_day * 86_400 * _US_PER_S + hour * 3_600 * _US_PER_S

    visitor = np.repeat(np.arange(n), n_sess)
    s_total = len(visitor)
    v_start = np.concatenate([[0], np.cumsum(n_sess)[:-1]])
    idx_in_visitor = np.arange(s_total) - v_start[visitor]
    gaps = rng.exponential(sess["return_gap_days_mean"] * 86_400, size=s_total) * _US_PER_S
    gaps[idx_in_visitor == 0] = 0
    within = rng.random(s_total) * 3_600 * _US_PER_S  # where in the hour a first session starts
    gaps[idx_in_visitor == 0] = within[idx_in_visitor == 0]
    cum = np.cumsum(gaps)
    cum -= np.repeat(cum[v_start] - gaps[v_start], n_sess)
    ts = first_ts[visitor] + cum.astype(np.int64)
    keep = ts < end_us

    cmix = t.channel_mix.shares()
    ch_names = pop["channel"]["names"]
    u_ch = rng.random((s_total, 2))
    channel = _pick(_cdf([cmix[c] for c in ch_names]), u_ch[:, 0])
    # Returning sessions come back directly half of the time.
    channel = np.where((idx_in_visitor > 0) & (u_ch[:, 1] < 0.5), ch_names.index("direct"), channel)
    return {
        "visitor": visitor[keep],
        "index": idx_in_visitor[keep],
        "start": ts[keep],
        "channel": channel[keep],
        "u": rng.random((s_total, 16))[keep],
    }


def _poisson_ppf(u: np.ndarray, lam: float) -> np.ndarray:
    """Poisson quantile of uniforms (inverse CDF), so the count follows the visitor's own draw."""
    k = np.zeros(len(u), dtype=np.int64)
    if lam <= 0:
        return k
    p = math.exp(-lam)
    cdf = p
    for i in range(1, 40):
        k += u > cdf
        p *= lam / i
        cdf += p
    return k


def _events(scenario: Scenario, chunk: int, vis: pl.DataFrame, vi: dict, ss: dict) -> tuple[pl.DataFrame, np.ndarray, list[str]]:
    site = datasets.site(scenario.site.kind)
    pop = _population()
    rng = _rng(scenario.seed, chunk, _S_EVENT)
    s_total = len(ss["visitor"])
    su = ss["u"]
    persona = vi["persona"][ss["visitor"]]
    device = vi["device"][ss["visitor"]]
    channel = ss["channel"]
    intent = (
        np.asarray(pop["persona"]["intent"])[persona]
        * np.asarray(pop["device"]["intent"])[device]
        * np.asarray(pop["channel"]["intent"])[channel]
        * np.where(vi["has_account"][ss["visitor"]], pop["persona"]["account_intent"], 1.0)
    )
    funnel = site["funnel"]
    rates = np.asarray(site["funnel_rates"])
    n_steps = len(funnel)
    step_mult = intent ** (1.0 / (n_steps - 1))

    # Funnel depth reached per session (step 0, the landing page view, always happens).
    reached = np.ones(s_total, dtype=bool)
    counts: dict[str, np.ndarray] = {}
    stage: dict[str, int] = {}
    pv_mean = np.asarray(pop["persona"]["pageviews_mean"])[persona] * np.where(device == 1, 0.8, 1.0)
    counts["page_view"] = 1 + rng.poisson(np.maximum(pv_mean - 1, 0.05))
    depth = np.zeros(s_total, dtype=np.int64)
    for k in range(1, n_steps):
        reached = reached & (su[:, k] < _odds_scale(np.full(s_total, rates[k]), step_mult))
        depth += reached
        name = funnel[k]
        c = reached.astype(np.int64)
        mean = site["repeat_means"].get(name, 0.0)
        if mean:
            c = np.where(reached, 1 + rng.poisson(mean, size=s_total), 0)
        counts[name] = c
        stage[name] = k
    for j, (name, rate) in enumerate(site["extra_events"].items()):
        counts[name] = (su[:, 8 + j] < rate).astype(np.int64)

    names = site["events"]
    code_of = {e: i for i, e in enumerate(names)}
    parts_s, parts_e, parts_pos = [], [], []
    for name, c in counts.items():
        s_idx = np.repeat(np.arange(s_total), c)
        m = len(s_idx)
        if name == "page_view":
            first = np.concatenate([[0], np.cumsum(c)[:-1]])
            pos = rng.random(m) * (depth[s_idx] + 0.95) + 0.02
            pos[first[c > 0]] = 0.0  # the landing page view opens the session
        elif name in stage:
            pos = stage[name] + rng.random(m) * 0.9
        else:
            pos = rng.random(m) * (depth[s_idx] + 0.95) + 0.02
        parts_s.append(s_idx)
        parts_e.append(np.full(m, code_of[name], dtype=np.int64))
        parts_pos.append(pos)
    s_idx = np.concatenate(parts_s)
    ev = np.concatenate(parts_e)
    pos = np.concatenate(parts_pos)
    order = np.argsort(s_idx * float(n_steps + 1) + pos, kind="stable")
    s_idx, ev, pos = s_idx[order], ev[order], pos[order]
    m = len(s_idx)

    dwell = np.exp(np.log(pop["session"]["dwell_seconds_median"]) + 0.6 * norm_ppf(su[:, 14]))
    ts = ss["start"][s_idx] + (pos * dwell[s_idx] * _US_PER_S).astype(np.int64)
    visitor = ss["visitor"][s_idx]
    v_first = np.searchsorted(visitor, np.arange(len(vis)), side="left")
    seq = np.arange(m) - v_first[visitor]
    is_landing = np.concatenate([[True], s_idx[1:] != s_idx[:-1]])

    # Paths: landing pages, the session's item page, or the event's fixed path.
    landing = list(site["landing_pages"])
    items = [site["item_path"].replace("{i}", str(i)) for i in range(site["item_count"])]
    fixed = dict(site["event_paths"])
    path_pool = landing + items + sorted(set(fixed.values()))
    path_code = {p: i for i, p in enumerate(path_pool)}
    session_item = len(landing) + (su[:, 15] ** 2 * len(items)).astype(np.int64)
    u_path = rng.random(m)
    pv_path = np.where(
        is_landing,
        (u_path**1.5 * len(landing)).astype(np.int64),
        np.where(u_path < 0.5, (u_path * 2 * len(landing)).astype(np.int64), len(landing) + (u_path * len(items)).astype(np.int64) % len(items)),
    )
    path = session_item[s_idx].copy()
    path = np.where(ev == code_of["page_view"], pv_path, path)
    for name, p in fixed.items():
        path = np.where(ev == code_of[name], path_code[p], path)

    # Who identifies: account holders on return visits, anyone at a login event.
    login = np.isin(ev, [code_of[e] for e in site["login_events"]])
    acct = vi["has_account"][visitor]
    logged_in_raw = (acct & (ss["index"][s_idx] > 0)) | login
    # Once identified in a session, later events of that session stay identified.
    logged_in = _carry_forward(logged_in_raw, is_landing)
    email_channel = pop["channel"]["names"].index("email")
    has_email = np.zeros(len(vis), dtype=bool)
    has_email[visitor[logged_in]] = True
    has_email[ss["visitor"][channel == email_channel]] = True
    has_email |= vi["has_account"]

    conv = code_of[site["conversion_event"]]
    revenue = np.where(
        ev == conv,
        np.round(np.exp(np.log(max(site["order_value_median"], 1e-9)) + site["order_value_sigma"] * norm_ppf(rng.random(m))), 2),
        np.nan,
    )
    if site["order_value_median"] <= 0:
        revenue[:] = np.nan

    event_id = chunk * _ID_STRIDE + np.arange(m, dtype=np.int64)
    ch_s = channel[s_idx]
    ev_df = pl.DataFrame(
        {
            "event_id": event_id,
            "visitor_id": vis["visitor_id"].to_numpy()[visitor],
            "session_id": chunk * _ID_STRIDE + s_idx.astype(np.int64),
            "session_index": ss["index"][s_idx].astype(np.int32),
            "session_start": ss["start"][s_idx],
            "seq": seq.astype(np.int32),
            "ts": ts,
            "event": _gather(names, ev),
            "path": _gather(path_pool, path),
            "_p": path,
            "channel": _gather(pop["channel"]["names"], ch_s),
            "_ch": ch_s,
            "_v": visitor,
            "revenue": revenue,
            "logged_in": logged_in & has_email[visitor],
            "_landing": is_landing,
            "_u_query": rng.random(m),
        }
    ).with_columns(
        pl.col("ts").cast(pl.Datetime("us", "UTC")),
        pl.col("session_start").cast(pl.Datetime("us", "UTC")),
        pl.col("revenue").fill_nan(None),
    )
    return ev_df.with_columns(pl.col("ts").dt.date().alias("date")), has_email, path_pool


def _carry_forward(flag: np.ndarray, new_group: np.ndarray) -> np.ndarray:
    """True from the first True in each group onwards (groups start where new_group is True)."""
    group = np.cumsum(new_group) - 1
    idx = np.where(flag, np.arange(len(flag)), -1)
    last = np.maximum.accumulate(idx)
    group_start = np.flatnonzero(new_group)[group]
    return last >= group_start


def _urls(scenario: Scenario, ev: pl.DataFrame, email: pl.Series, path_pool: list[str]) -> pl.DataFrame:
    """Full URLs and referrers: UTM on campaign landings, a click id on paid ones, and the
    e-mail in the query string where newsletters and GET forms leak it, as real sites do.
    Only the few rows with a query string are built; the rest are gathered from a pool."""
    site = datasets.site(scenario.site.kind)
    pop = _population()
    ch = pop["channel"]
    code = ev["_ch"].to_numpy()
    landing = ev["_landing"].to_numpy()
    has_utm = np.asarray([bool(x) for x in ch["utm_source"]])[code] & landing
    has_email = email.is_not_null().to_numpy()[ev["_v"].to_numpy()]
    leak_event = "cta_click" if scenario.site.kind == "shop" else "cta_subscribe"
    leak_spot = (landing & (code == ch["names"].index("email"))) | (ev["event"] == leak_event).to_numpy()
    leaks = has_email & leak_spot & (ev["_u_query"].to_numpy() < pop["session"]["email_in_url_share"])
    rows = np.flatnonzero(has_utm | leaks)
    sub = ev[rows]
    src = _gather(ch["utm_source"], code[rows]).replace("", None)
    utm_q = pl.concat_str([pl.lit("utm_source="), pl.lit(src), pl.lit("&utm_medium="),
                           pl.lit(_gather(ch["utm_medium"], code[rows])), pl.lit("&utm_campaign="),
                           pl.lit(_gather(ch["utm_campaign"], code[rows]))])
    gclid = pl.concat_str([pl.lit("&gclid=Cj0K"), (pl.col("event_id").hash(scenario.seed) % 10**12).cast(pl.String)])
    utm = pl.when(pl.lit(has_utm[rows])).then(
        pl.concat_str([utm_q, pl.when(pl.col("channel") == "paid").then(gclid).otherwise(pl.lit(""))])
    )
    mail = pl.when(pl.lit(leaks[rows])).then(pl.concat_str([pl.lit("email="), pl.lit(email.gather(sub["_v"]))]))
    full_pool = [f"https://{site['domain']}{p}" for p in path_pool]
    base = _gather(full_pool, ev["_p"].to_numpy())
    with_query = sub.select(
        pl.concat_str([pl.lit(base.gather(rows)), pl.lit("?"), pl.concat_str([utm, mail], separator="&", ignore_nulls=True)])
    ).to_series()
    referrer = pl.Series("referrer", [None] * len(ev), dtype=pl.String)
    first = np.flatnonzero(landing)
    referrer = referrer.scatter(first, _gather(ch["referrer"], code[first]).replace("", None))
    return ev.with_columns(url=base.scatter(rows, with_query), referrer=referrer).drop("_ch", "_v", "_u_query", "_landing", "_p")


def fingerprint_sample(scenario: Scenario, n: int, columns: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Fingerprints of the scenario's first `n` visitors (any n, whatever traffic.visitors says), as
    one 64-bit hash of `columns` per browser, and each browser's device class. Only the visitor
    columns are generated, chunk by chunk, so millions of browsers cost seconds and little memory
    (no sessions or events); the first traffic.visitors of them are the run's own visitors."""
    codes, devices = [], []
    for vis in _visitor_chunks(scenario, n, frozenset([*columns, "device"])):
        codes.append(vis.select(pl.struct(list(columns)).hash(seed=0)).to_series().to_numpy())
        devices.append(vis["device"].to_numpy())
    return np.concatenate(codes), np.concatenate(devices)


# What a browser's fingerprint attributes and device class are drawn from (_visitors): no other knob
# changes them, so a cache of fingerprint samples is keyed by these alone (`fingerprint_key`).
FINGERPRINT_KNOBS = ("seed", "traffic.region_mix", "traffic.device_mix", "traffic.safari_share", "traffic.fingerprint_population")


def fingerprint_key(scenario: Scenario) -> str:
    """The knobs `fingerprint_sample` reads (FINGERPRINT_KNOBS), as canonical JSON."""
    dumped = scenario.model_dump(mode="json")

    def at(path: str) -> Any:
        node = dumped
        for part in path.split("."):
            node = node[part]
        return node

    return json.dumps({k: at(k) for k in FINGERPRINT_KNOBS}, sort_keys=True, separators=(",", ":"))


def visitor_sample(scenario: Scenario, n: int) -> pl.DataFrame:
    """The scenario's first `n` visitors' stored columns, without sessions or events."""
    return pl.concat(list(_visitor_chunks(scenario, n)))


def _visitor_chunks(scenario: Scenario, n: int, columns: frozenset[str] | None = None) -> Iterator[pl.DataFrame]:
    for chunk in range(math.ceil(n / CHUNK_VISITORS)):
        lo = chunk * CHUNK_VISITORS
        yield _visitors(scenario, chunk, lo, min(lo + CHUNK_VISITORS, n), columns=columns)[0]


# Columns of a second device's browser row taken from its own draw (the rest are the person's:
# who they are, where they live, their account and e-mail, their language and network address).
_BROWSER_COLUMNS = ("device", "os", "browser", "platform", "user_agent", "screen", "webgl", "fonts", "canvas",
                    "plugins", "accept", "dnt", "cookies_enabled", "adblock", "gpc")


def _second_devices(scenario: Scenario, chunk: int, lo: int, hi: int, vis: pl.DataFrame, vi: dict[str, np.ndarray],
                    ev: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cross-device visitors (population.toml, [cross_device]): some account holders with two or
    more sessions have some of their return sessions on a second device (a phone beside a desktop,
    or a desktop beside a phone or tablet). That device is a browser of its own: a visitor row with
    its own id (the person's id + DEVICE2_ID_OFFSET), its own browser attributes, cookie and consent
    draws, and the person's `person_id` and e-mail (it logs in like the first device). The
    sessions' contents are the person's, drawn before the split. All draws come from streams of
    their own, one row per person of the chunk (fixed size), so one-device visitors are unchanged."""
    cd = _population()["cross_device"]
    n = hi - lo
    rng = _rng(scenario.seed, chunk, _S_DEVICE2_PICK)
    u_person = rng.random(n)
    u_session = rng.random((n, _population()["session"]["max_sessions"]))
    local = ev["visitor_id"].to_numpy() - lo
    sidx = ev["session_index"].to_numpy().astype(np.int64)
    kept = np.zeros(n, dtype=np.int64)
    np.maximum.at(kept, local, sidx + 1)  # a visitor's kept sessions are a prefix of its session indices
    multi = vi["has_account"] & (kept >= 2) & (u_person < cd["second_device_share"])
    # The first return session is always on the second device (so every such person uses two);
    # later ones are with the configured probability.
    moved = multi[local] & ((sidx == 1) | ((sidx > 1) & (u_session[local, sidx] < cd["session_share"])))
    vis = vis.with_columns(person_id=pl.col("visitor_id"))
    ev = ev.with_columns(person_id=pl.col("visitor_id"))
    if not multi.any():
        return vis, ev
    who = np.flatnonzero(multi)
    other = np.where(vi["device"][who] == 0, 1, 0)  # device class indices as in _profile_weights: desktop, mobile, tablet
    alt, _ = _visitors(scenario, chunk, lo, hi, stream=_S_DEVICE2_BROWSER, rows=who, device=other)
    second = vis.select(pl.all().gather(pl.Series(who))).with_columns(
        alt.select(_BROWSER_COLUMNS), visitor_id=pl.col("visitor_id") + DEVICE2_ID_OFFSET,
    )
    # Second devices' ids follow every first device's, and keep their people's order: the moved
    # events, appended in their order, keep the events sorted by browser, then time.
    stay, move = ev.filter(~pl.Series(moved)), ev.filter(pl.Series(moved))
    ev = pl.concat([stay, move.with_columns(visitor_id=pl.col("visitor_id") + DEVICE2_ID_OFFSET)])
    browser = ev["visitor_id"].to_numpy()
    new_browser = np.concatenate([[True], browser[1:] != browser[:-1]])
    seq = np.arange(len(browser)) - np.flatnonzero(new_browser)[np.cumsum(new_browser) - 1]
    ev = ev.with_columns(seq=pl.Series(seq, dtype=pl.Int32))
    return pl.concat([vis, second.select(vis.columns)]), ev


def _device2_draws(scenario: Scenario, chunk: int, lo: int, hi: int) -> pl.DataFrame:
    """Consent draws of every possible second-device browser of the chunk (consent is stored per browser)."""
    cu = _rng(scenario.seed, chunk, _S_DEVICE2_CONSENT).random((hi - lo, len(CONSENT_DRAWS)))
    return pl.DataFrame({"visitor_id": np.arange(lo, hi, dtype=np.int64) + DEVICE2_ID_OFFSET} | {k: cu[:, i] for i, k in enumerate(CONSENT_DRAWS)})


def generate_chunk(scenario: Scenario, chunk: int) -> Traffic:
    """Ground truth for visitors [chunk * CHUNK_VISITORS, ...) of the scenario (and their second devices)."""
    lo = chunk * CHUNK_VISITORS
    hi = min(lo + CHUNK_VISITORS, scenario.traffic.visitors)
    vis, vi = _visitors(scenario, chunk, lo, hi)
    ss = _sessions(scenario, chunk, hi - lo, vi)
    ev, has_email, path_pool = _events(scenario, chunk, vis, vi, ss)
    vis = vis.with_columns(_email=pl.when(pl.Series(has_email)).then(pl.col("_email")))
    ev = _urls(scenario, ev, vis["_email"], path_pool)
    vis, ev = _second_devices(scenario, chunk, lo, hi, vis, vi, ev)
    per_visitor = ev.group_by("visitor_id").agg(
        first_seen=pl.col("ts").min(),
        n_sessions=pl.col("session_id").n_unique().cast(pl.Int32),
        n_events=pl.len().cast(pl.Int32),
    )
    # A visitor whose only sessions fell after the run's end never arrived: drop them.
    vis = (
        vis.join(per_visitor, on="visitor_id", how="inner", maintain_order="left")
        .rename({"_email": "email"})
        .with_columns(date=pl.col("first_seen").dt.date())
        .select(VISITOR_COLUMNS)
    )
    cu = _rng(scenario.seed, chunk, _S_CONSENT).random((hi - lo, len(CONSENT_DRAWS)))
    draws = pl.DataFrame({"visitor_id": np.arange(lo, hi, dtype=np.int64)} | {k: cu[:, i] for i, k in enumerate(CONSENT_DRAWS)})
    draws = pl.concat([draws, _device2_draws(scenario, chunk, lo, hi)])
    draws = draws.join(vis.select("visitor_id"), on="visitor_id", how="semi", maintain_order="left")
    return Traffic(visitors=vis, events=ev.select(EVENT_COLUMNS), draws=draws)


def generate_traffic(scenario: Scenario) -> Traffic:
    """The whole run's ground truth in memory (for app-sized runs; the CLI streams chunks). Chunks
    are concatenated in browser-id order (second devices' ids follow all first devices')."""
    parts = [generate_chunk(scenario, c) for c in range(n_chunks(scenario))]
    traffic = Traffic(
        visitors=pl.concat([p.visitors for p in parts]),
        events=pl.concat([p.events for p in parts]),
        draws=pl.concat([p.draws for p in parts]),
    )
    if len(parts) == 1:
        return traffic
    return Traffic(
        visitors=traffic.visitors.sort("visitor_id"),
        events=traffic.events.sort("visitor_id", maintain_order=True),
        draws=traffic.draws.sort("visitor_id"),
    )
