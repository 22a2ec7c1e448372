"""Identity stitching, measured (never offered): how well each rail's identifiers tell which
sessions belong to the same person, scored against the truth with pair-counting precision/recall.

Sessions are the truth's sessions and "same person" is the truth's `person_id` (a person's second
device is a browser of its own); a rail row is mapped to its true session through `event_id`.
That join is the lab's privilege (it holds the truth): a real site cannot do it. The cookieless
fingerprint match is computed only when a caller asks for it by name (`measure_fingerprinting=True`):
it is a method some vendors use without consent, measured here on simulated visitors only.
"""

from __future__ import annotations

import polars as pl

# What a script on the page can read for a fingerprint (a vendor computes this client side).
FINGERPRINT_ATTRIBUTES = ("user_agent", "screen", "timezone", "language", "fonts", "canvas", "webgl", "plugins")

# (rail, method key, plain-words label); the fingerprint entry is used only when asked for.
METHODS: tuple[tuple[str, str, str], ...] = (
    ("baseline", "daily_hash", "Daily visitor hash"),
    ("fullstack", "device_cookie", "Device cookie"),
    ("fullstack", "login", "Cookie + login"),
)
FINGERPRINT_METHOD = ("fullstack", "fingerprint", "Fingerprint match")

_SCORE_SCHEMA = {
    "rail": pl.String, "method": pl.String, "label": pl.String, "sessions": pl.Int64, "sessions_identified": pl.Int64,
    "share_identified": pl.Float64, "claimed_pairs": pl.Int64, "true_pairs": pl.Int64, "correct_pairs": pl.Int64,
    "precision": pl.Float64, "recall": pl.Float64, "multi_session_visitors": pl.Int64, "share_joined": pl.Float64,
}


def _pairs(n: pl.Expr) -> pl.Expr:
    return (n * (n - 1) // 2).cast(pl.Int64)


def pair_scores(assignment: pl.DataFrame, truth: str = "visitor_id", pred: str = "label") -> dict[str, float | int | None]:
    """Precision and recall of "these two sessions are the same person" from group sizes alone
    (no pair list): correct pairs = sum of C(n,2) over (truth, predicted) cells, claimed pairs = sum
    over predicted clusters, true pairs = sum over true people. One row per session.

    Precision is 1 when no pair is claimed (no claim is wrong); recall is None when nobody has two
    sessions (there is nothing to find). `share_joined`: people with several sessions whose sessions
    all got one predicted identity."""
    def pair_sum(*by: str) -> int:
        return int(assignment.group_by(*by).len().select(_pairs(pl.col("len")).sum()).item() or 0)

    correct, claimed, true = pair_sum(truth, pred), pair_sum(pred), pair_sum(truth)
    people = assignment.group_by(truth).agg(n=pl.len(), ids=pl.col(pred).n_unique()).filter(pl.col("n") > 1)
    return {
        "claimed_pairs": claimed, "true_pairs": true, "correct_pairs": correct,
        "precision": correct / claimed if claimed else 1.0,
        "recall": correct / true if true else None,
        "multi_session_visitors": people.height,
        "share_joined": people.filter(pl.col("ids") == 1).height / people.height if people.height else None,
    }


def session_labels(rail_events: pl.DataFrame, truth_events: pl.DataFrame, id_column: str) -> pl.DataFrame:
    """Per true session the rail holds an identifier for: the identifier on its first recorded event
    (a daily key can change it at midnight inside a session). Columns: session_id, visitor_id (the
    browser), person_id, label."""
    return (
        rail_events.select("event_id", "ts", pl.col(id_column).alias("label")).drop_nulls("label")
        .join(truth_events.select("event_id", "session_id", "visitor_id", "person_id"), on="event_id", how="inner")
        .sort("ts", "event_id")
        .group_by("session_id", maintain_order=True).agg(pl.col("visitor_id").first(), pl.col("person_id").first(),
                                                         pl.col("label").first())
    )


def components(edges: pl.DataFrame) -> pl.DataFrame:
    """Connected components of an undirected graph given as edges (a, b): node -> smallest node of
    its component. Label propagation over the edge list; iterations are bounded by the graph's
    diameter (short here: a person's cookies chained by their logins)."""
    e = pl.concat([edges.select(a="a", b="b"), edges.select(a="b", b="a")]).unique()
    labels = e.select(node="a").unique().with_columns(comp=pl.col("node"))
    while True:
        spread = e.join(labels, left_on="b", right_on="node").select(node="a", comp="comp")
        new = pl.concat([labels, spread]).group_by("node").agg(pl.col("comp").min())
        changed = new.join(labels, on="node", suffix="_old").filter(pl.col("comp") != pl.col("comp_old")).height
        labels = new
        if not changed:
            return labels


def login_labels(fullstack_events: pl.DataFrame, truth_events: pl.DataFrame, by_device: pl.DataFrame | None = None) -> pl.DataFrame:
    """Deterministic stitching: device cookies joined through the keyed e-mail hashes seen with them;
    each session takes its first device cookie's joined identity. `by_device`: the sessions' device
    cookie labels (`session_labels(..., "device_id")`) when the caller has them already."""
    if by_device is None:
        by_device = session_labels(fullstack_events, truth_events, "device_id")
    pairs = fullstack_events.select("device_id", "user_id").drop_nulls().unique()
    edges = pl.concat([
        pairs.select(a="d:" + pl.col("device_id"), b="u:" + pl.col("user_id")),
        by_device.select(a="d:" + pl.col("label"), b="d:" + pl.col("label")),  # every cookie is a node
    ])
    comp = components(edges)
    return by_device.with_columns(node="d:" + pl.col("label")).join(comp, on="node", how="left").select(
        "session_id", "visitor_id", "person_id", label="comp")


def _fingerprint_labels(visitors: pl.DataFrame, fullstack_events: pl.DataFrame, truth_events: pl.DataFrame) -> pl.DataFrame:
    """Probabilistic matching: sessions where the site's script ran (any full-stack row, pings
    included, with or without consent) grouped by the visitor's fingerprint attributes."""
    fp = visitors.select("visitor_id", fp=pl.struct(list(FINGERPRINT_ATTRIBUTES)).hash(13).cast(pl.String))
    ran = truth_events.select("event_id", "session_id", "visitor_id", "person_id").join(
        fullstack_events.select("event_id"), on="event_id", how="semi")
    return ran.select("session_id", "visitor_id", "person_id").unique("session_id", maintain_order=True).join(
        fp, on="visitor_id").select("session_id", "visitor_id", "person_id", label="fp")


def _labels(tables: dict[str, pl.DataFrame], measure_fingerprinting: bool) -> tuple[list[tuple[str, str, str]], dict[str, pl.DataFrame]]:
    truth, full = tables["truth_events"], tables["fullstack_events"]
    by_device = session_labels(full, truth, "device_id")
    found = {
        "daily_hash": session_labels(tables["baseline_events"], truth, "visitor_hash"),
        "device_cookie": by_device,
        "login": login_labels(full, truth, by_device),
    }
    methods = list(METHODS)
    if measure_fingerprinting:
        found["fingerprint"] = _fingerprint_labels(tables["visitors"], full, truth)
        methods.append(FINGERPRINT_METHOD)
    return methods, found


def identity_scores(tables: dict[str, pl.DataFrame], *, measure_fingerprinting: bool = False) -> pl.DataFrame:
    """Precision/recall of "same person" per rail and method against the truth's sessions. The
    fingerprint match is added only with `measure_fingerprinting=True`."""
    sessions = tables["truth_events"]["session_id"].n_unique()
    methods, found = _labels(tables, measure_fingerprinting)
    rows = [
        {"rail": rail, "method": key, "label": label, "sessions": sessions, "sessions_identified": found[key].height,
         "share_identified": found[key].height / sessions if sessions else 0.0, **pair_scores(found[key], truth="person_id")}
        for rail, key, label in methods
    ]
    return pl.DataFrame(rows, schema=_SCORE_SCHEMA)


_CROSS_SCHEMA = {
    "rail": pl.String, "method": pl.String, "label": pl.String, "multi_device_people": pl.Int64,
    "seen_on_two_devices": pl.Int64, "joined": pl.Int64, "share_joined": pl.Float64,
}


def joined_across_devices(labels: pl.DataFrame, multi_device: pl.DataFrame) -> tuple[int, int]:
    """Of the people in `multi_device` (a person_id column): how many the method identified on two or
    more of their browsers, and how many it joined across devices (one identity covering sessions of
    two or more of their browsers)."""
    lab = labels.join(multi_device, on="person_id", how="semi")
    seen = lab.group_by("person_id").agg(b=pl.col("visitor_id").n_unique()).filter(pl.col("b") > 1).height
    joined = lab.group_by("person_id", "label").agg(b=pl.col("visitor_id").n_unique()).filter(pl.col("b") > 1)
    return seen, joined["person_id"].n_unique()


def cross_device(tables: dict[str, pl.DataFrame], *, measure_fingerprinting: bool = False) -> pl.DataFrame:
    """Per rail and method, of the true people who used two or more devices (browsers): how many the
    method saw on two of them, how many it joined across devices, and that as a share of all of them.
    The fingerprint match only with `measure_fingerprinting=True`."""
    truth = tables["truth_events"]
    multi = truth.group_by("person_id").agg(n=pl.col("visitor_id").n_unique()).filter(pl.col("n") > 1).select("person_id")
    methods, found = _labels(tables, measure_fingerprinting)
    rows = []
    for rail, key, label in methods:
        seen, joined = joined_across_devices(found[key], multi)
        rows.append({"rail": rail, "method": key, "label": label, "multi_device_people": multi.height,
                     "seen_on_two_devices": seen, "joined": joined,
                     "share_joined": joined / multi.height if multi.height else None})
    return pl.DataFrame(rows, schema=_CROSS_SCHEMA)


def cookie_splits(tables: dict[str, pl.DataFrame]) -> dict[str, int | float | None]:
    """People, people with several browsers, and browsers the full stack split over several device
    cookies (Safari's cap, rotated keys) that a login joins back."""
    truth, full = tables["truth_events"], tables["fullstack_events"]
    browsers = truth.group_by("person_id").agg(n=pl.col("visitor_id").n_unique())
    by_device = session_labels(full, truth, "device_id")
    cookie = by_device.group_by("visitor_id").agg(cookies=pl.col("label").n_unique())
    login = login_labels(full, truth, by_device).group_by("visitor_id").agg(ids=pl.col("label").n_unique())
    split = cookie.filter(pl.col("cookies") > 1).join(login, on="visitor_id")
    return {
        "people": browsers.height,
        "multi_device_people": browsers.filter(pl.col("n") > 1).height,
        "browsers_with_cookie": cookie.height,
        "split_browsers": split.height,
        "rejoined_by_login": split.filter(pl.col("ids") == 1).height,
        "share_rejoined": split.filter(pl.col("ids") == 1).height / split.height if split.height else None,
    }
