"""The profile exposé: what a rail's events alone reveal about who a visitor is.

From one rail's rows, grouped by the identifier the rail keeps, build a small feature vector per
profile (how much and how deep it browses, which kinds of page, which events, what time of day,
device class, country), and fit a multinomial logistic regression that guesses the visitor's
persona. The truth (`truth_events.visitor_id` -> `visitors.persona`) only labels and scores the
guesses; the features never see it.

The model is a plain softmax regression in numpy (standardised features, L2 penalty, full-batch
gradient descent from zero weights), so it is deterministic and needs no extra dependency; the only
random step is the seeded split of true visitors into training and test visitors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

# Page category per path prefix, first match wins (shop and content sites; anything else "other").
PATH_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("/checkout", "checkout"),
    ("/cart", "checkout"),
    ("/product/", "product"),
    ("/category/", "category"),
    ("/sale", "sale"),
    ("/search", "search"),
    ("/blog/", "guides"),
    ("/snacks/", "guides"),
    ("/snacks", "guides"),
    ("/newsletter", "newsletter"),
    ("/subscribe", "newsletter"),
    ("/about", "about"),
    ("/share", "share"),
    ("/out", "share"),
)
CATEGORIES = ("home", *dict.fromkeys(c for _, c in PATH_CATEGORIES), "other")
HOUR_BINS = 6  # 4-hour blocks of the UTC day
DEVICES = ("desktop", "mobile", "tablet")
TEST_SHARE = 0.3
MAX_TRAIN = 6000  # training profiles kept (a seeded sample): more barely moves the accuracy, and costs seconds
_L2 = 1e-3
_STEPS = 150
_LEARNING_RATE = 1.0
_MOMENTUM = 0.9


def page_category(path: pl.Expr) -> pl.Expr:
    """A page's category from its path (the mapping above; "/" is the home page)."""
    # The first non-null match wins, in the order of PATH_CATEGORIES.
    matches = [pl.when(path.str.starts_with(prefix)).then(pl.lit(cat)) for prefix, cat in PATH_CATEGORIES]
    return pl.coalesce([pl.when(path == "/").then(pl.lit("home")), *matches, pl.lit("other")])


def fullstack_keys(fullstack: pl.DataFrame) -> pl.DataFrame:
    """Full-stack rows that carry an identifier, keyed by the logged-in user where the device ever
    logged in (identity stitching, as an analytics suite does), else by the device cookie."""
    rows = fullstack.filter(pl.col("device_id").is_not_null())
    user = pl.col("user_id").drop_nulls().first().over("device_id")
    return rows.with_columns(pl.coalesce(user, pl.col("device_id")).alias("key"), pl.col("session_id").alias("session"),
                             user.is_not_null().alias("signed_in"))


def baseline_keys(baseline: pl.DataFrame) -> pl.DataFrame:
    """Baseline rows keyed by the visitor hash (one day per hash with the daily salt), no sessions."""
    return baseline.with_columns(pl.col("visitor_hash").alias("key"), pl.lit(None, pl.String).alias("session"),
                                 pl.lit(False).alias("signed_in"))


def features(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per `key`: volume (log counts), signed in or not, shares of page categories, event types and
    4-hour blocks, device class and country shares. `rows` needs key, session, signed_in, event, path, ts, date,
    device_class, country."""
    events = sorted(rows["event"].unique().drop_nulls().to_list())
    countries = sorted(rows["country"].unique().drop_nulls().to_list())
    cat = page_category(pl.col("path").fill_null(""))
    block = (pl.col("ts").dt.hour() // (24 // HOUR_BINS)).cast(pl.Int32)
    share = lambda cond, name: cond.cast(pl.Float64).mean().alias(name)  # noqa: E731
    aggs = [
        pl.len().log1p().alias("log events"),
        pl.col("date").n_unique().log1p().alias("log active days"),
        pl.col("session").n_unique().log1p().alias("log sessions"),
        pl.col("signed_in").any().cast(pl.Float64).alias("signed in"),
        *(share(cat == c, f"page: {c}") for c in CATEGORIES),
        *(share(pl.col("event") == e, f"event: {e}") for e in events),
        *(share(block == b, f"hours {b * 24 // HOUR_BINS:02d}-{(b + 1) * 24 // HOUR_BINS:02d} UTC") for b in range(HOUR_BINS)),
        *(share(pl.col("device_class") == d, f"device: {d}") for d in DEVICES),
        *(share(pl.col("country") == c, f"country: {c}") for c in countries),
    ]
    return rows.group_by("key").agg(aggs).sort("key")


def labels(rows: pl.DataFrame, truth_events: pl.DataFrame, visitors: pl.DataFrame) -> pl.DataFrame:
    """Per `key`: the true visitor behind most of its rows and that visitor's persona (scoring only)."""
    who = rows.select("key", "event_id").join(truth_events.select("event_id", "visitor_id"), on="event_id", how="inner")
    main = who.group_by("key").agg(pl.col("visitor_id").mode().min())
    return main.join(visitors.select("visitor_id", "persona"), on="visitor_id", how="inner").sort("key")


@dataclass(frozen=True)
class Softmax:
    """A fitted multinomial logistic regression on standardised features."""

    classes: tuple[str, ...]
    names: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray  # (features + 1) x classes, last row the intercepts

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = _product(np.column_stack([(x - self.mean) / self.scale, np.ones(len(x))]), self.weights)
        return np.asarray(self.classes)[z.argmax(axis=1)]


def _product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b for a narrow b, one matrix-vector product per column: on a busy shared machine OpenBLAS's
    threaded matrix product of a tall matrix by 4 columns ran 5-10x slower than these products."""
    return np.column_stack([a @ b[:, k] for k in range(b.shape[1])])


def fit_softmax(x: np.ndarray, y: np.ndarray, names: tuple[str, ...]) -> Softmax:
    """Full-batch gradient descent with Nesterov momentum on the L2-penalised cross-entropy, from zero
    weights (deterministic)."""
    classes, yi = np.unique(y, return_inverse=True)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)  # a constant feature stays 0 instead of dividing by zero
    xs = np.column_stack([(x - mean) / scale, np.ones(len(x))])
    onehot = np.eye(len(classes))[yi]
    w = np.zeros((xs.shape[1], len(classes)))
    velocity = np.zeros_like(w)
    penalty = np.ones((xs.shape[1], 1))
    penalty[-1] = 0.0  # intercepts are not shrunk
    xt = np.ascontiguousarray(xs.T)
    for _ in range(_STEPS):
        ahead = w + _MOMENTUM * velocity
        z = _product(xs, ahead)
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        velocity = _MOMENTUM * velocity - _LEARNING_RATE * (_product(xt, p - onehot) / len(xs) + _L2 * penalty * ahead)
        w = w + velocity
    return Softmax(tuple(str(c) for c in classes), names, mean, scale, w)


@dataclass(frozen=True)
class Profiling:
    """How well one rail's profiles reveal personas."""

    setting: str
    visitors_total: int  # true visitors with any event
    visitors_profiled: int  # true visitors behind at least one profile
    profiles: int
    test_profiles: int
    accuracy: float  # on test profiles (their visitors were never trained on)
    majority: float  # accuracy of always guessing the training set's commonest persona
    recall: pl.DataFrame  # persona, profiles, recall (test set)
    drivers: pl.DataFrame  # persona, feature, weight: the strongest positive weights per persona

    @property
    def share_profiled(self) -> float:
        return self.visitors_profiled / self.visitors_total if self.visitors_total else 0.0


def profile(setting: str, rows: pl.DataFrame, truth_events: pl.DataFrame, visitors: pl.DataFrame,
            seed: int, top: int = 3) -> Profiling:
    """Fit on the profiles of a seeded 70% of true visitors, score on the rest. `rows` come from
    `fullstack_keys` or `baseline_keys`."""
    feats = features(rows)
    lab = labels(rows, truth_events, visitors)
    data = feats.join(lab, on="key", how="inner").sort("key")
    total = truth_events["visitor_id"].n_unique()
    ids = np.unique(data["visitor_id"].to_numpy())
    rng = np.random.default_rng(seed)
    test_ids = ids[rng.random(len(ids)) < TEST_SHARE]
    is_test = np.isin(data["visitor_id"].to_numpy(), test_ids)
    train_rows = np.flatnonzero(~is_test)
    if len(train_rows) > MAX_TRAIN:
        train_rows = np.sort(rng.choice(train_rows, MAX_TRAIN, replace=False))
    names = tuple(c for c in feats.columns if c != "key")
    x = data.select(names).to_numpy().astype(np.float64)
    y = data["persona"].to_numpy().astype(str)
    if not len(train_rows) or not is_test.any() or len(np.unique(y[train_rows])) < 2:
        return Profiling(setting, total, len(ids), data.height, int(is_test.sum()), float("nan"), float("nan"),
                         pl.DataFrame(schema={"persona": pl.String, "profiles": pl.Int64, "recall": pl.Float64}),
                         pl.DataFrame(schema={"persona": pl.String, "feature": pl.String, "weight": pl.Float64}))
    model = fit_softmax(x[train_rows], y[train_rows], names)
    guess = model.predict(x[is_test])
    truth = y[is_test]
    values, counts = np.unique(y[train_rows], return_counts=True)
    commonest = values[counts.argmax()]
    scored = pl.DataFrame({"persona": truth, "hit": guess == truth})
    recall = scored.group_by("persona").agg(pl.len().cast(pl.Int64).alias("profiles"), pl.col("hit").mean().alias("recall")).sort("persona")
    w = model.weights[:-1]
    drivers = pl.DataFrame(
        {"persona": np.repeat(model.classes, len(names)), "feature": np.tile(names, len(model.classes)), "weight": w.T.ravel()}
    ).sort(["persona", "weight"], descending=[False, True]).group_by("persona", maintain_order=True).head(top)
    return Profiling(setting, total, len(ids), data.height, int(is_test.sum()), float((guess == truth).mean()),
                     float((truth == commonest).mean()), recall, drivers)


def summary(results: list[Profiling]) -> pl.DataFrame:
    """One row per setting: profiles, share of visitors profiled, accuracy and the majority guess."""
    return pl.DataFrame(
        {
            "setting": [r.setting for r in results],
            "profiles": [r.profiles for r in results],
            "visitors_profiled": [r.visitors_profiled for r in results],
            "share_profiled": [r.share_profiled for r in results],
            "accuracy": [r.accuracy for r in results],
            "majority_guess": [r.majority for r in results],
        }
    )
