"""Copy tests as multi-armed bandits: policies, feedback through a rail, and the checks around them.

A round is one session that sees one copy variant (an arm) and orders or not (reward 1/0). The
world knows each visitor type's true rate per arm; the policy only sees rewards, and only those
its rail delivers: the truth (every reward at once), the full stack (only consenting, non-blocked
visitors report, each with a per-visitor-type probability) or the privacy baseline (server-side
orders without identity: counts per arm arrive once a day). Every learning policy explores
uniformly until each arm has `exploration_floor` observations (calibration.toml [bandit]).

Pure numpy/polars; no Streamlit, no I/O beyond reading `datasets/`. The environment's random
draws (visitor types, reward and observation uniforms) depend on the seed only, so policies and
rails compared under one seed meet the same visitors (common random numbers).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import polars as pl

from engine import datasets

POLICIES = ("uniform", "epsilon_greedy", "ucb1", "thompson", "contextual_thompson")
POLICY_LABELS = {"uniform": "Uniform split (A/B)", "epsilon_greedy": "ε-greedy", "ucb1": "UCB1",
                 "thompson": "Thompson", "contextual_thompson": "Contextual Thompson"}
RAILS = ("truth", "fullstack", "baseline")
CONTEXTS = ("persona", "device")  # what a contextual policy may condition on
# Sensitive traits (GDPR Art. 9 and the usual anti-discrimination grounds): never a context.
SENSITIVE_TRAITS = frozenset({
    "sex", "gender", "origin", "ethnic", "ethnicity", "race", "nationality", "age", "birth", "birthdate",
    "religion", "belief", "disability", "health", "orientation", "sexuality", "pregnancy", "union", "political",
})
SRM_ALPHA = 0.001  # a usual SRM threshold (a convention of this lab, not a calibrated number)
SINGLE = "all"  # the visitor type of a problem given as one list of rates
_BLOCK = 1 << 15  # rounds of random draws precomputed at a time
_CODES = {p: i for i, p in enumerate(POLICIES)}


def bandit_calibration() -> dict[str, Any]:
    """calibration.toml [bandit]: exploration_floor, fairness_gap and their source."""
    return datasets.calibration()["bandit"]


def exploration_floor() -> int:
    return int(bandit_calibration()["exploration_floor"])


def check_context(name: str) -> str:
    """`name` if a policy may use it as context; ValueError for sensitive traits or unknown names."""
    tokens = set(re.split(r"[^a-z0-9]+", name.lower()))
    if tokens & SENSITIVE_TRAITS:
        raise ValueError(f"context {name!r} is a sensitive trait; a copy test may use {', '.join(CONTEXTS)} only")
    if name not in CONTEXTS:
        raise ValueError(f"unknown context {name!r}; a copy test may use {', '.join(CONTEXTS)}")
    return name


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


# --- reading a run ----------------------------------------------------------------------------------


def posteriors(frame: pl.DataFrame, arms: int) -> tuple[np.ndarray, np.ndarray]:
    """Beta(1,1)-Bernoulli posteriors (alpha, beta) per arm from the rewards the rail saw; one row
    per seed (shape seeds x arms; a frame without `seed` is one run)."""
    seen = frame.filter(pl.col("observed"))
    seed_ids = np.unique(frame["seed"].to_numpy()) if "seed" in frame.columns else np.zeros(1, dtype=np.int64)
    row = np.searchsorted(seed_ids, seen["seed"].to_numpy()) if "seed" in frame.columns else np.zeros(seen.height, dtype=np.int64)
    idx = row * arms + seen["arm"].to_numpy()
    size = len(seed_ids) * arms
    wins = np.bincount(idx, weights=seen["reward"].to_numpy().astype(float), minlength=size).reshape(-1, arms)
    total = np.bincount(idx, minlength=size).reshape(-1, arms)
    return 1.0 + wins, 1.0 + total - wins


def prob_best(alpha: np.ndarray, beta: np.ndarray, draws: int = 20_000, seed: int = 0) -> np.ndarray:
    """Monte Carlo probability that each arm has the highest rate under Beta posteriors (same shape as alpha)."""
    a, b = np.atleast_2d(alpha), np.atleast_2d(beta)
    theta = np.random.default_rng(seed).beta(a, b, size=(draws, *a.shape))
    winner = theta.argmax(axis=-1)
    p = (winner[..., None] == np.arange(a.shape[-1])).mean(axis=0)
    return p.reshape(np.shape(alpha))


def posterior_density(alpha: np.ndarray, beta: np.ndarray, labels: Sequence[str], points: int = 200) -> pl.DataFrame:
    """Beta posterior densities per arm on a grid of rates (up to a little beyond the widest posterior)."""
    a, b = np.asarray(alpha, dtype=float), np.asarray(beta, dtype=float)
    mean, sd = a / (a + b), np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    upper = float(min(1.0, (mean + 5 * sd).max()))
    x = np.linspace(upper / points, upper, points) - upper / (2 * points)
    log_norm = np.array([math.lgamma(p) + math.lgamma(q) - math.lgamma(p + q) for p, q in zip(a, b)])
    dens = np.exp((a[:, None] - 1) * np.log(x) + (b[:, None] - 1) * np.log1p(-x) - log_norm[:, None])
    return pl.DataFrame({"arm": np.repeat(np.array(labels, dtype=object), points).astype(str),
                         "rate": np.tile(x, len(a)), "density": dens.ravel()})


def allocation(frame: pl.DataFrame, labels: Sequence[str], buckets: int = 40) -> pl.DataFrame:
    """Share of rounds given to each arm in consecutive windows of rounds (averaged over seeds)."""
    last = int(frame["round"].max())
    width = max(1, math.ceil(last / buckets))
    counts = (frame.group_by(window=((pl.col("round") - 1) // width + 1) * width, arm="arm").len()
              .with_columns(share=pl.col("len") / pl.col("len").sum().over("window")))
    grid = pl.DataFrame({"window": sorted(set(counts["window"]))}).join(pl.DataFrame({"arm": range(len(labels))}), how="cross")
    return (grid.join(counts, on=["window", "arm"], how="left").fill_null(0.0)
            .select(pl.col("window").clip(upper_bound=last).alias("round"),
                    pl.col("arm").replace_strict(dict(enumerate(labels)), return_dtype=pl.String).alias("arm"),
                    pl.col("share").cast(pl.Float64))
            .sort("round", "arm"))


def regret_curve(frame: pl.DataFrame, points: int = 150, band: tuple[float, float] = (0.1, 0.9)) -> pl.DataFrame:
    """Cumulative regret over rounds: mean and a quantile band over seeds, at about `points` rounds."""
    seeds = ["seed"] if "seed" in frame.columns else []
    marks = np.unique(np.linspace(1, int(frame["round"].max()), points).round().astype(np.int64)).tolist()
    cum = (frame.sort([*seeds, "round"]).with_columns(cum=pl.col("regret").cum_sum().over(seeds) if seeds else pl.col("regret").cum_sum())
           .filter(pl.col("round").is_in(marks)))
    return (cum.group_by("round").agg(mean=pl.col("cum").mean(), low=pl.col("cum").quantile(band[0]),
                                      high=pl.col("cum").quantile(band[1])).sort("round"))


# --- checks -------------------------------------------------------------------------------------------


def _upper_gamma(a: float, x: float) -> float:
    """Regularised upper incomplete gamma Q(a, x) (series below a + 1, continued fraction above)."""
    if x <= 0:
        return 1.0
    log_front = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        ap = a
        for _ in range(10_000):
            ap += 1
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    tiny = 1e-300
    b, c = x + 1 - a, 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        h *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return math.exp(log_front) * h


def chi2_sf(x: float, df: int) -> float:
    """P(X >= x) for a chi-square with `df` degrees of freedom (no scipy needed)."""
    return _upper_gamma(df / 2.0, x / 2.0)


def srm(assigned: Sequence[float], observed: Sequence[float], alpha: float = SRM_ALPHA) -> dict[str, float | bool]:
    """Sample-ratio-mismatch check: chi-square goodness of fit of the observed counts per arm to
    the ratio in which the arms were assigned; `mismatch` when p < alpha."""
    exp_share = np.asarray(assigned, dtype=float)
    obs = np.asarray(observed, dtype=float)
    keep = exp_share > 0
    if obs[~keep].sum() > 0:
        return {"chi2": math.inf, "df": int(keep.sum()), "p_value": 0.0, "mismatch": True}
    expected = obs.sum() * exp_share[keep] / exp_share[keep].sum()
    df = int(keep.sum()) - 1
    if df < 1 or obs.sum() == 0:
        return {"chi2": 0.0, "df": max(df, 0), "p_value": 1.0, "mismatch": False}
    chi2 = float(((obs[keep] - expected) ** 2 / expected).sum())
    p = chi2_sf(chi2, df)
    return {"chi2": chi2, "df": df, "p_value": p, "mismatch": p < alpha}


def srm_counts(frame: pl.DataFrame, arms: int) -> tuple[np.ndarray, np.ndarray]:
    """Rounds assigned to each arm, and rounds the rail observed per arm."""
    arm = frame["arm"].to_numpy()
    return np.bincount(arm, minlength=arms), np.bincount(arm[frame["observed"].to_numpy()], minlength=arms)


def gap_flag(values: Mapping[str, float], gap: float, relative: bool = True) -> tuple[float, bool]:
    """The gap between the best and the worst group and whether it exceeds `gap`. Relative: 1 -
    worst / best (a share of the best group's value); absolute: best - worst (same unit as values)."""
    v = np.array(list(values.values()), dtype=float)
    top, bottom = float(v.max()), float(v.min())
    size = (1 - bottom / top if top > 0 else 0.0) if relative else top - bottom
    return size, size > gap


def fairness(frame: pl.DataFrame, true_rates: Mapping[str, Sequence[float]], groups: Mapping[str, str],
             gap: float | None = None) -> pl.DataFrame:
    """Per group: sessions, realised conversion, the conversion its own best copy would give, and
    `attainment` (expected conversion under the policy / that best). A group is flagged when its
    attainment trails the best-served group's by more than `gap`, relatively (1 - its / best's);
    attainment, not raw conversion, so that groups with different buying intent compare fairly."""
    gap = float(bandit_calibration()["fairness_gap"]) if gap is None else gap
    lookup = pl.DataFrame({"visitor": list(true_rates), "group": [groups[v] for v in true_rates],
                           "best": [max(r) for r in true_rates.values()]})
    table = (frame.with_columns(pl.col("visitor").cast(pl.String)).join(lookup, on="visitor")
             .group_by("group").agg(sessions=pl.len(), conversion=pl.col("reward").mean(),
                                    expected=(pl.col("best") - pl.col("regret")).mean(), best=pl.col("best").mean())
             .with_columns(attainment=pl.col("expected") / pl.col("best")))
    return (table.with_columns(shortfall=1 - pl.col("attainment") / pl.col("attainment").max())
            .with_columns(flagged=pl.col("shortfall") > gap).sort("group"))


# --- the lab's problem, from a run ---------------------------------------------------------------------


def visitor_types(tables: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """Per persona x device: sessions and their share, and `observe`, the share of truth events
    the full stack records as non-ping rows (consent given and no blocker)."""
    v = tables["visitors"].select("visitor_id", "persona", "device", "n_sessions")
    seen = tables["fullstack_events"].filter(~pl.col("is_ping")).select("event_id", seen=pl.lit(True))
    events = (tables["truth_events"].select("visitor_id", "event_id").join(v, on="visitor_id")
              .join(seen, on="event_id", how="left")
              .group_by("persona", "device").agg(truth_events=pl.len(), fullstack_events=pl.col("seen").count()))
    return (v.group_by("persona", "device").agg(visitors=pl.len(), sessions=pl.col("n_sessions").sum().cast(pl.Int64))
            .join(events, on=["persona", "device"], how="left").fill_null(0)
            .with_columns(share=pl.col("sessions") / pl.col("sessions").sum(),
                          observe=pl.when(pl.col("truth_events") > 0)
                          .then(pl.col("fullstack_events") / pl.col("truth_events")).otherwise(0.0))
            .sort("persona", "device"))


@dataclass(frozen=True)
class Problem:
    """A copy test: arms, and per visitor type (persona/device) true rates, share and observation."""

    arms: tuple[str, ...]
    texts: tuple[str, ...]
    rates: dict[str, tuple[float, ...]]
    shares: dict[str, float]
    observe: dict[str, float]
    attributes: dict[str, dict[str, str]]

    def segments(self, context: str) -> dict[str, str]:
        """Visitor type -> the value of `context` a contextual policy sees (sensitive names refused)."""
        check_context(context)
        return {v: a[context] for v, a in self.attributes.items()}

    def options(self, rail: str, context: str = "persona", day_length: int = 1000) -> dict[str, Any]:
        """Keyword options for `simulate` on `rail`."""
        return {"shares": self.shares, "rail": rail, "observe": self.observe, "day_length": day_length,
                "context": context, "segments": self.segments(context)}

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Problem:
        raw = json.loads(text)
        return cls(tuple(raw["arms"]), tuple(raw["texts"]), {k: tuple(v) for k, v in raw["rates"].items()},
                   raw["shares"], raw["observe"], raw["attributes"])


def variants() -> dict[str, Any]:
    """datasets/copy_variants.toml: the arms, their texts and their (illustrative) true rates."""
    return datasets.load("copy_variants")


def problem(types: pl.DataFrame, spec: Mapping[str, Any] | None = None) -> Problem:
    """The copy test on a run's visitor types: rate = persona rate x device lift (capped at 1)."""
    spec = variants() if spec is None else spec
    arms = spec["variant"]
    persona_index = {p: i for i, p in enumerate(spec["personas"])}
    rates, shares, observe, attributes = {}, {}, {}, {}
    for row in types.iter_rows(named=True):
        name = f"{row['persona']}/{row['device']}"
        lift = spec["device_lift"].get(row["device"], [1.0] * len(arms))
        rates[name] = tuple(min(1.0, a["rates"][persona_index[row["persona"]]] * f) for a, f in zip(arms, lift))
        shares[name], observe[name] = float(row["share"]), float(row["observe"])
        attributes[name] = {"persona": row["persona"], "device": row["device"]}
    return Problem(tuple(a["id"] for a in arms), tuple(a["text"] for a in arms), rates, shares, observe, attributes)


def arm_table(prob: Problem) -> pl.DataFrame:
    """Per arm: its text, the true rate over all sessions, the rate among the sessions the full stack
    observes (what it converges to), and the true rate per persona."""
    cols: dict[str, Any] = {"arm": list(prob.arms), "text": list(prob.texts),
                            "true_rate": population_rates(prob.rates, prob.shares),
                            "fullstack_rate": observed_rates(prob.rates, prob.shares, prob.observe)}
    for persona in sorted({a["persona"] for a in prob.attributes.values()}):
        types = [v for v, a in prob.attributes.items() if a["persona"] == persona]
        cols[persona] = population_rates({v: prob.rates[v] for v in types}, {v: prob.shares[v] for v in types})
    return pl.DataFrame(cols)


def observed_share(prob: Problem) -> float:
    """Share of sessions whose reward the full stack reports."""
    return float(sum(prob.shares[v] * prob.observe[v] for v in prob.shares))


def summary(prob: Problem, policy: str, rail: str, rounds: int, seeds: int, context: str = "persona",
            day_length: int = 1000) -> dict[str, pl.DataFrame]:
    """Everything the page shows about one policy on one rail, over `seeds` seeds: regret curve,
    allocation, P(best) and who gets crowned, posterior densities (first seed), SRM, fairness."""
    frame = simulate_many(policy, prob.rates, rounds, range(seeds), **prob.options(rail, context, day_length))
    k = len(prob.arms)
    alpha, beta = posteriors(frame, k)
    p_best = prob_best(alpha, beta, draws=4000)
    crowned = np.bincount(p_best.argmax(axis=1), minlength=k) / seeds
    assigned, seen = srm_counts(frame, k)
    check = srm(assigned, seen)
    fair = pl.concat([fairness(frame, prob.rates, prob.segments(by)).with_columns(by=pl.lit(by)) for by in CONTEXTS])
    return {
        "regret": regret_curve(frame),
        "allocation": allocation(frame, prob.arms),
        "arms": pl.DataFrame({"arm": list(prob.arms), "p_best": p_best.mean(axis=0), "crowned": crowned,
                              "assigned": assigned, "observed": seen}),
        "density": posterior_density(alpha[0], beta[0], prob.arms),
        "srm": pl.DataFrame([{"chi2": check["chi2"], "df": check["df"], "p_value": check["p_value"], "mismatch": check["mismatch"]}]),
        "fairness": fair.select("by", pl.exclude("by")),
        "totals": pl.DataFrame([{"regret": float(frame.group_by("seed").agg(pl.col("regret").sum())["regret"].mean()),
                                 "conversion": float(frame["reward"].mean()), "observed_share": float(frame["observed"].mean())}]),
    }
