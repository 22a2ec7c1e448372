"""Identity stitching: pair-counting precision/recall against hand-made truth, connected components,
the fingerprint guard, and the measurement on a real small run."""

from __future__ import annotations

from itertools import combinations

import polars as pl
import pytest

from engine import identity


def _assign(truth: list[int], pred: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"visitor_id": truth, "label": pred})


def _brute(truth: list[int], pred: list[str]) -> tuple[int, int, int]:
    """Every pair listed: the definition the vectorised counts must match."""
    pairs = list(combinations(range(len(truth)), 2))
    claimed = {p for p in pairs if pred[p[0]] == pred[p[1]]}
    true = {p for p in pairs if truth[p[0]] == truth[p[1]]}
    return len(claimed & true), len(claimed), len(true)


# 6 sessions of 3 people: A has 3 sessions, B 2, C 1 -> 3 + 1 = 4 true pairs.
TRUTH = [1, 1, 1, 2, 2, 3]


@pytest.mark.parametrize(("pred", "precision", "recall"), [
    (["a", "a", "a", "b", "b", "c"], 1.0, 1.0),            # perfect
    (["a", "b", "c", "d", "e", "f"], 1.0, 0.0),            # all singletons: nothing claimed, nothing found
    (["x"] * 6, 4 / 15, 1.0),                               # everyone one person: 15 claimed pairs, 4 right
    (["a", "a", "b", "c", "c", "c"], 2 / 4, 2 / 4),         # A split 2+1, B merged with C
])
def test_pair_precision_recall_on_hand_made_truth(pred, precision, recall):
    got = identity.pair_scores(_assign(TRUTH, pred))
    correct, claimed, true = _brute(TRUTH, pred)
    assert (got["correct_pairs"], got["claimed_pairs"], got["true_pairs"]) == (correct, claimed, true)
    assert got["precision"] == pytest.approx(precision)
    assert got["recall"] == pytest.approx(recall)


def test_share_joined_counts_people_kept_whole():
    # A's three sessions in one identity, B's two split: one of the two people with several sessions.
    got = identity.pair_scores(_assign(TRUTH, ["a", "a", "a", "b", "z", "c"]))
    assert got["multi_session_visitors"] == 2
    assert got["share_joined"] == pytest.approx(0.5)


def test_recall_undefined_when_nobody_returns():
    got = identity.pair_scores(_assign([1, 2, 3], ["a", "a", "b"]))
    assert got["recall"] is None and got["precision"] == 0.0


def test_components_join_chains_and_keep_islands_apart():
    edges = pl.DataFrame({"a": ["d:1", "u:x", "d:3", "d:9"], "b": ["u:x", "d:2", "u:x", "d:9"]})
    comp = dict(identity.components(edges).iter_rows())
    assert comp["d:1"] == comp["d:2"] == comp["d:3"] == comp["u:x"] != comp["d:9"]


def _tables(**extra: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """A hand-made run: person 1 has two cookies (a reset) and logs in on both; person 2 one cookie
    and no login; person 3 is seen only by the baseline; persons 2 and 3 share a fingerprint."""
    truth = pl.DataFrame({
        "event_id": [1, 2, 3, 4, 5, 6],
        "session_id": [10, 11, 12, 20, 21, 30],
        "visitor_id": [1, 1, 1, 2, 2, 3],
    }).with_columns(person_id=pl.col("visitor_id"))
    ts = pl.datetime_range(pl.datetime(2026, 1, 1), pl.datetime(2026, 1, 6), "1d", eager=True)
    full = pl.DataFrame({
        "event_id": [1, 2, 3, 4, 5, 6], "ts": ts,
        "device_id": ["c1", "c1", "c2", "c9", "c9", None],
        "user_id": ["u1", None, "u1", None, None, None],
    })
    base = pl.DataFrame({"event_id": [1, 2, 3, 4, 5, 6], "ts": ts, "visitor_hash": ["h1", "h2", "h3", "h4", "h4", "h5"]})
    fp = {a: ["same", "same", "same"] for a in identity.FINGERPRINT_ATTRIBUTES}
    visitors = pl.DataFrame({"visitor_id": [1, 2, 3], **fp}).with_columns(
        pl.when(pl.col("visitor_id") == 1).then(pl.lit("own")).otherwise(pl.col("canvas")).alias("canvas"),
        device=pl.lit("desktop"))
    return {"truth_events": truth, "fullstack_events": full, "baseline_events": base, "visitors": visitors} | extra


def test_methods_on_a_hand_made_run():
    scores = {r["method"]: r for r in identity.identity_scores(_tables(), measure_fingerprinting=True).iter_rows(named=True)}
    # The cookie alone claims (10,11) and (20,21): both right, misses (10,12) and (11,12).
    assert (scores["device_cookie"]["precision"], scores["device_cookie"]["recall"]) == (1.0, 0.5)
    # The login joins c1 and c2: all of person 1's pairs found.
    assert (scores["login"]["precision"], scores["login"]["recall"]) == (1.0, 1.0)
    assert scores["login"]["sessions_identified"] == 5
    # Baseline hash: only (20,21) linked.
    assert scores["daily_hash"]["recall"] == pytest.approx(0.25)
    # Fingerprint: the script ran on all 6 sessions (person 3's row has no cookie, as a ping would);
    # persons 2 and 3 collide, so (20,30) and (21,30) are wrong claims.
    fpr = scores["fingerprint"]
    assert fpr["sessions_identified"] == 6
    assert fpr["recall"] == 1.0 and fpr["precision"] == pytest.approx(4 / 6)


def test_fingerprinting_is_never_computed_by_default(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("fingerprint matching ran without being asked for")

    monkeypatch.setattr(identity, "_fingerprint_labels", refuse)
    scores = identity.identity_scores(_tables())
    assert "fingerprint" not in scores["method"].to_list()
    with pytest.raises(AssertionError, match="without being asked"):
        identity.identity_scores(_tables(), measure_fingerprinting=True)


def test_on_a_real_run(base_tables):
    scores = identity.identity_scores(base_tables, measure_fingerprinting=True)
    by = {r["method"]: r for r in scores.iter_rows(named=True)}
    truth = base_tables["truth_events"]
    assert by["daily_hash"]["sessions"] == truth["session_id"].n_unique()
    # Joining cookies through logins never finds fewer same-person pairs than the cookie alone.
    assert by["login"]["correct_pairs"] >= by["device_cookie"]["correct_pairs"]
    # A fingerprint is shared by look-alike browsers: it claims wrong pairs the keyed ids do not.
    assert by["fingerprint"]["precision"] < by["device_cookie"]["precision"]
    assert by["fingerprint"]["share_identified"] > by["device_cookie"]["share_identified"]  # no consent needed
    splits = identity.cookie_splits(base_tables)
    # 14 days: Safari's 7-day cap splits returning browsers over two cookies; some log in on both.
    assert splits["split_browsers"] > 0
    assert 0 < splits["rejoined_by_login"] <= splits["split_browsers"]
    # Some people use a second device; only the login joins any of them across devices.
    xd = {r["method"]: r for r in identity.cross_device(base_tables, measure_fingerprinting=True).iter_rows(named=True)}
    people = truth.group_by("person_id").agg(pl.col("visitor_id").n_unique())
    assert xd["login"]["multi_device_people"] == splits["multi_device_people"] == (people["visitor_id"] > 1).sum() > 0
    assert 0 < xd["login"]["joined"] <= xd["login"]["seen_on_two_devices"]
    assert xd["device_cookie"]["joined"] == xd["daily_hash"]["joined"] == 0


def _two_device_tables() -> dict[str, pl.DataFrame]:
    """The hand-made run with person 1's third session on a second device (browser 101, cookie c2,
    its own canvas): the login joins the two devices, nothing else does."""
    t = _tables()
    truth = t["truth_events"].with_columns(visitor_id=pl.when(pl.col("event_id") == 3).then(101).otherwise(pl.col("visitor_id")))
    phone = t["visitors"].filter(pl.col("visitor_id") == 1).with_columns(visitor_id=pl.lit(101, pl.Int64), canvas=pl.lit("phone"))
    return t | {"truth_events": truth, "visitors": pl.concat([t["visitors"], phone])}


def test_cross_device_on_a_hand_made_run():
    xd = {r["method"]: r for r in identity.cross_device(_two_device_tables(), measure_fingerprinting=True).iter_rows(named=True)}
    assert {r["multi_device_people"] for r in xd.values()} == {1}
    assert (xd["login"]["seen_on_two_devices"], xd["login"]["joined"], xd["login"]["share_joined"]) == (1, 1, 1.0)
    assert (xd["device_cookie"]["seen_on_two_devices"], xd["device_cookie"]["joined"]) == (1, 0)
    assert xd["daily_hash"]["joined"] == xd["fingerprint"]["joined"] == 0
    # Same person across browsers still counts as same person for precision/recall.
    scores = {r["method"]: r for r in identity.identity_scores(_two_device_tables()).iter_rows(named=True)}
    assert (scores["login"]["precision"], scores["login"]["recall"]) == (1.0, 1.0)
    assert scores["device_cookie"]["recall"] == 0.5


def test_cross_device_share_is_none_without_multi_device_people():
    xd = identity.cross_device(_tables())
    assert xd["multi_device_people"].to_list() == [0, 0, 0]
    assert xd["share_joined"].null_count() == 3
