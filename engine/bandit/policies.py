"""The policies and the world they learn in: a simulated copy test, round by round.

The environment's random draws (visitor types, reward and observation uniforms) depend on the seed
only, so policies and rails compared under one seed meet the same visitors (common random numbers).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from engine.bandit.calibration import exploration_floor
from engine.bandit.context import CONTEXTS, check_context

POLICIES = ("uniform", "epsilon_greedy", "ucb1", "thompson", "contextual_thompson")
POLICY_LABELS = {"uniform": "Uniform split (A/B)", "epsilon_greedy": "ε-greedy", "ucb1": "UCB1",
                 "thompson": "Thompson", "contextual_thompson": "Contextual Thompson"}
RAILS = ("truth", "fullstack", "baseline")
SINGLE = "all"  # the visitor type of a problem given as one list of rates
_BLOCK = 1 << 15  # rounds of random draws precomputed at a time
_CODES = {p: i for i, p in enumerate(POLICIES)}


# --- the environment ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Env:
    names: tuple[str, ...]  # visitor types
    rates: np.ndarray  # visitor type x arm
    shares: np.ndarray  # per visitor type
    observe: np.ndarray  # full-stack observation probability per visitor type
    segment: np.ndarray  # visitor type -> index of the segment a contextual policy sees


def _per_type(value: float | Mapping[str, float], names: Sequence[str], what: str) -> np.ndarray:
    if isinstance(value, Mapping):
        missing = set(names) - set(value)
        if missing:
            raise ValueError(f"{what} is missing visitor types {sorted(missing)}")
        return np.array([float(value[n]) for n in names])
    return np.full(len(names), float(value))


def _env(true_rates: Sequence[float] | Mapping[str, Sequence[float]], shares: Mapping[str, float] | None,
         observe: float | Mapping[str, float], segments: Mapping[str, str] | None) -> _Env:
    table = dict(true_rates) if isinstance(true_rates, Mapping) else {SINGLE: true_rates}
    names = tuple(table)
    rates = np.array([list(map(float, table[n])) for n in names], dtype=float)
    if rates.ndim != 2 or rates.shape[1] < 2 or not np.all((rates >= 0) & (rates <= 1)):
        raise ValueError("true_rates must give every visitor type the same number (>= 2) of rates in [0, 1]")
    w = _per_type(shares, names, "shares") if shares is not None else np.ones(len(names))
    if np.any(w < 0) or w.sum() <= 0:
        raise ValueError("shares must be non-negative and not all zero")
    obs = _per_type(observe, names, "observe")
    if np.any((obs < 0) | (obs > 1)):
        raise ValueError("observe probabilities must lie in [0, 1]")
    labels = [segments[n] for n in names] if segments is not None else list(names)
    _, seg = np.unique(np.array(labels, dtype=object).astype(str), return_inverse=True)
    return _Env(names, rates, w / w.sum(), obs, seg.astype(np.int64))


def population_rates(true_rates: Mapping[str, Sequence[float]], shares: Mapping[str, float]) -> np.ndarray:
    """Each arm's true rate over the whole population (visitor types weighted by their share)."""
    env = _env(true_rates, shares, 1.0, None)
    return env.shares @ env.rates


def observed_rates(true_rates: Mapping[str, Sequence[float]], shares: Mapping[str, float],
                   observe: Mapping[str, float]) -> np.ndarray:
    """Each arm's rate among the sessions the full stack observes: what it converges to with endless data."""
    env = _env(true_rates, shares, observe, None)
    w = env.shares * env.observe
    return w @ env.rates / w.sum() if w.sum() > 0 else np.full(env.rates.shape[1], np.nan)


# --- the learning loop ----------------------------------------------------------------------------


def _gamma(d: float, x: float, log_u: float, rng: np.random.Generator) -> float:
    """Gamma(d + 1/3) from one normal and one log-uniform (Marsaglia-Tsang; exact, shape >= 1)."""
    v = 1.0 + x / (3.0 * math.sqrt(d))
    if v > 0.0:
        v = v * v * v
        if log_u < 0.5 * x * x + d - d * v + d * math.log(v):
            return d * v
    return float(rng.standard_gamma(d + 1.0 / 3.0))  # rare rejection: draw directly


def _learn(code: int, env: _Env, vis: np.ndarray, u_reward: np.ndarray, observed: np.ndarray, baseline: bool,
           day_length: int, floor: int, epsilon: float, rng: np.random.Generator) -> np.ndarray:
    """Arms chosen round by round. A tight loop over Python floats: the random draws are made in
    numpy blocks beforehand, and the state is a few lists of counts per segment."""
    rounds, k, groups = len(vis), env.rates.shape[1], int(env.segment.max()) + 1
    rates, seg = env.rates.tolist(), env.segment.tolist()
    s = [[0] * k for _ in range(groups)]  # successes the policy knows of, per segment and arm
    n = [[0] * k for _ in range(groups)]  # observations the policy knows of
    ps = [[0] * k for _ in range(groups)]  # baseline: today's orders, not yet reported
    pn = [[0] * k for _ in range(groups)]
    exploring = [floor > 0] * groups
    thompson = code in (_CODES["thompson"], _CODES["contextual_thompson"])
    ucb, arange = code == _CODES["ucb1"], range(k)
    sqrt, log = math.sqrt, math.log
    arms = np.empty(rounds, dtype=np.int64)
    for start in range(0, rounds, _BLOCK):
        m = min(rounds, start + _BLOCK) - start
        vis_b, ur, ob = vis[start:start + m].tolist(), u_reward[start:start + m].tolist(), observed[start:start + m].tolist()
        ue, ue2 = rng.random(m).tolist(), rng.random(m).tolist()
        if thompson:
            z, lu = rng.standard_normal((m, 2 * k)).tolist(), np.log(rng.random((m, 2 * k))).tolist()
        out = [0] * m
        for j in range(m):
            v = vis_b[j]
            g = seg[v]
            ng, sg = n[g], s[g]
            a = -1
            if exploring[g]:
                under = [i for i in arange if ng[i] < floor]
                if under:
                    a = under[int(ue[j] * len(under))]
                else:
                    exploring[g] = False
            if a >= 0:
                pass
            elif thompson:
                zj, lj, best = z[j], lu[j], -1.0
                for i in arange:
                    # Beta(1 + s, 1 + f) = Ga / (Ga + Gb); Marsaglia-Tsang inlined (this is the hot loop)
                    d, x = sg[i] + 2.0 / 3.0, zj[2 * i]
                    w = 1.0 + x / (3.0 * sqrt(d))
                    w = w * w * w
                    ga = d * w if w > 0.0 and lj[2 * i] < 0.5 * x * x + d - d * w + d * log(w) else _gamma(d, x, lj[2 * i], rng)
                    d, x = ng[i] - sg[i] + 2.0 / 3.0, zj[2 * i + 1]
                    w = 1.0 + x / (3.0 * sqrt(d))
                    w = w * w * w
                    gb = d * w if w > 0.0 and lj[2 * i + 1] < 0.5 * x * x + d - d * w + d * log(w) else _gamma(d, x, lj[2 * i + 1], rng)
                    theta = ga / (ga + gb)
                    if theta > best:
                        best, a = theta, i
            elif ucb:
                log_total, best = math.log(max(sum(ng), 1)), -1.0
                for i in arange:
                    score = math.inf if ng[i] == 0 else sg[i] / ng[i] + math.sqrt(2.0 * log_total / ng[i])
                    if score > best:
                        best, a = score, i
            elif ue2[j] < epsilon:
                a = int(ue[j] * k)
            else:
                best = -1.0
                for i in arange:
                    score = math.inf if ng[i] == 0 else sg[i] / ng[i]
                    if score > best:
                        best, a = score, i
            out[j] = a
            r = ur[j] < rates[v][a]
            if baseline:
                ps[g][a] += r
                pn[g][a] += 1
                if (start + j + 1) % day_length == 0:  # end of day: the server reports counts per arm
                    for h in range(groups):
                        for i in arange:
                            s[h][i] += ps[h][i]
                            n[h][i] += pn[h][i]
                            ps[h][i] = pn[h][i] = 0
            elif ob[j]:
                sg[a] += r
                ng[a] += 1
        arms[start:start + m] = out
    return arms


def simulate(policy: str, true_rates: Sequence[float] | Mapping[str, Sequence[float]], rounds: int, seed: int, *,
             shares: Mapping[str, float] | None = None, rail: str = "truth", observe: float | Mapping[str, float] = 1.0,
             day_length: int = 1000, context: str | None = None, segments: Mapping[str, str] | None = None,
             epsilon: float = 0.1, floor: int | None = None) -> pl.DataFrame:
    """One copy test: per round the arm chosen, the reward, and the regret (the visitor type's best
    true rate minus the chosen arm's true rate), plus the visitor type and whether the rail saw it.

    `true_rates` is one list of rates per arm, or a mapping visitor type -> rates (drawn by
    `shares`). Options: `rail` (truth, fullstack, baseline), `observe` (full-stack observation
    probability, one number or per visitor type), `day_length` (rounds per baseline report),
    `context` and `segments` (contextual_thompson: the context's name and visitor type -> its
    value; default each visitor type is its own segment), `epsilon`, `floor` (default: calibration).
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; one of {', '.join(POLICIES)}")
    if rail not in RAILS:
        raise ValueError(f"unknown rail {rail!r}; one of {', '.join(RAILS)}")
    if context is not None:
        check_context(context)
    elif policy == "contextual_thompson":
        raise ValueError(f"contextual_thompson needs a context: one of {', '.join(CONTEXTS)}")
    if rounds < 1 or day_length < 1:
        raise ValueError("rounds and day_length must be positive")
    contextual = policy == "contextual_thompson"
    env = _env(true_rates, shares, observe, segments if contextual else None)
    if not contextual:
        env = _Env(env.names, env.rates, env.shares, env.observe, np.zeros(len(env.names), dtype=np.int64))
    env_rng, rng = np.random.default_rng([seed, 0]), np.random.default_rng([seed, 1])
    vis = np.searchsorted(np.cumsum(env.shares)[:-1], env_rng.random(rounds), side="right")
    u_reward, u_obs = env_rng.random(rounds), env_rng.random(rounds)
    observed = u_obs < env.observe[vis] if rail == "fullstack" else np.ones(rounds, dtype=bool)
    k = env.rates.shape[1]
    if policy == "uniform":
        arms = rng.integers(k, size=rounds)
    else:
        arms = _learn(_CODES[policy], env, vis, u_reward, observed, rail == "baseline", day_length,
                      exploration_floor() if floor is None else floor, epsilon, rng)
    served = env.rates[vis, arms]
    return pl.DataFrame({
        "round": np.arange(1, rounds + 1, dtype=np.int64),
        "arm": arms.astype(np.int64),
        "reward": (u_reward < served).astype(np.int64),
        "regret": env.rates.max(axis=1)[vis] - served,
        "visitor": pl.Series(np.array(env.names, dtype=object)[vis], dtype=pl.Enum(env.names)),
        "observed": observed,
    })


def simulate_many(policy: str, true_rates: Sequence[float] | Mapping[str, Sequence[float]], rounds: int,
                  seeds: Sequence[int], **options: Any) -> pl.DataFrame:
    """`simulate` once per seed, stacked with a `seed` column."""
    return pl.concat([simulate(policy, true_rates, rounds, s, **options).with_columns(seed=pl.lit(s, pl.Int64))
                      for s in seeds])
