"""ui/cache.py: one cache per decorated function, keyed by the subject's serialised form."""

from __future__ import annotations

import threading
import time

import polars as pl
import pytest

from engine.scenario import Scenario, apply_overrides, load_preset
from ui import heavy
from ui.cache import TEXT, MemoryStore, cached, frame_bytes, size_of


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_preset("eu_shop")


@pytest.mark.parametrize("kind", ["data", "resource"])
def test_each_decorated_function_has_its_own_cache(kind, scenario):
    # Same signature, same body shape: Streamlit would give both one cache if the decorator's
    # inner function, not theirs, named it.
    @cached(kind, max_entries=4)
    def first(s: Scenario) -> str:
        return "first"

    @cached(kind, max_entries=4)
    def second(s: Scenario) -> str:
        return "second"

    assert first(scenario) == "first"
    assert second(scenario) == "second"
    assert first(scenario) == "first"


def test_data_and_resource_functions_of_one_name_do_not_share(scenario):
    def make(kind: str, value: str):
        @cached(kind, max_entries=4)
        def same_name(s: Scenario) -> str:
            return value

        return same_name

    as_data, as_resource = make("data", "a copy"), make("resource", "shared")
    assert (as_data(scenario), as_resource(scenario)) == ("a copy", "shared")


def test_keyed_by_the_scenario_content_and_extra_arguments(scenario):
    calls: list[tuple[str, int]] = []

    @cached("data", max_entries=8)
    def counted(s: Scenario, n: int, label: str = "x") -> pl.DataFrame:
        calls.append((s.run_id, n))
        return pl.DataFrame({"run_id": [s.run_id], "n": [n], "label": [label]})

    counted.clear()
    same = Scenario.model_validate_json(scenario.canonical_json())  # another object, equal content
    assert counted(scenario, 1).equals(counted(same, 1))
    assert counted(scenario, 1, "x").equals(counted(scenario, n=1))  # defaults bound: one entry
    assert len(calls) == 1
    other = apply_overrides(scenario, {"consent.banner": "no_reject"})
    assert counted(other, 1)["run_id"].item() == other.run_id
    assert counted(scenario, 2)["n"].item() == 2
    assert len(calls) == 3
    counted.clear()
    counted(scenario, 1)
    assert len(calls) == 4


def test_a_key_function_shares_an_entry_between_scenarios(scenario):
    calls: list[str] = []

    @cached("resource", max_entries=4, key=lambda s: s.traffic_key)
    def by_traffic(s: Scenario) -> str:
        calls.append(s.run_id)
        return s.consent.banner

    by_traffic.clear()
    consent_only = apply_overrides(scenario, {"consent.banner": "no_reject"})
    assert consent_only.traffic_key == scenario.traffic_key
    assert by_traffic(scenario) == by_traffic(consent_only) == scenario.consent.banner
    assert calls == [scenario.run_id]


def test_the_body_gets_the_subject_rebuilt_from_its_key(scenario):
    @cached("data", max_entries=4)
    def echo(s: Scenario) -> str:
        return s.canonical_json()

    assert echo(scenario) == scenario.canonical_json()

    @cached("data", max_entries=4, codec=TEXT)
    def shout(text: str) -> str:
        return text.upper()

    assert (shout("a"), shout("b")) == ("A", "B")
    assert shout.__name__ == "shout"


# --- bounded by memory --------------------------------------------------------------------------


def _frame(mb: float) -> pl.DataFrame:
    return pl.DataFrame({"x": pl.zeros(int(mb * 1024 * 1024 / 8), dtype=pl.Int64, eager=True)})


def test_store_evicts_least_recently_used_beyond_its_size():
    store = MemoryStore(limit=lambda: 10 * 1024 * 1024)
    for k in "abcd":
        store.put(k, 1, _frame(3), ttl=60, max_entries=100)
    assert store.stats()["bytes"] <= 10 * 1024 * 1024
    assert store.get("a") == (False, None)  # the oldest went first
    store.get("b")  # b is used again: c goes next, not b
    store.put("e", 1, _frame(3), ttl=60, max_entries=100)
    assert store.get("b")[0] and not store.get("c")[0] and store.get("e")[0]
    assert store.stats()["evicted"] == 2


def test_store_keeps_nothing_larger_than_itself_and_honours_ttl_and_entries():
    store = MemoryStore(limit=lambda: 1024 * 1024)
    store.put("big", 1, _frame(2), ttl=60, max_entries=10)
    assert store.stats() == {"entries": 0, "bytes": 0, "lingering": 0, "limit": 1024 * 1024, "evicted": 0, "room_wait_s": 0.0}
    store.put("old", 1, "v", ttl=-1, max_entries=10)
    assert store.get("old") == (False, None)
    for i in range(5):
        store.put(i, 2, i, ttl=60, max_entries=3)
    assert [store.get(i)[0] for i in range(5)] == [False, False, True, True, True]


def test_store_computes_a_missing_entry_once_for_concurrent_callers():
    store = MemoryStore(limit=lambda: 1 << 30)
    calls = []

    def compute():
        calls.append(1)
        time.sleep(0.2)
        return "v"

    threads = [threading.Thread(target=lambda: store.get_or_compute("k", 1, compute, ttl=60, max_entries=4)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1] and store.get("k") == (True, "v")


def test_data_entries_are_copies_resource_entries_are_shared(scenario):
    @cached("data", max_entries=2)
    def as_data(s: Scenario) -> dict:
        return {"rows": [1, 2]}

    @cached("resource", max_entries=2)
    def as_resource(s: Scenario) -> dict:
        return {"rows": [1, 2]}

    as_data(scenario)["rows"].append(3)
    assert as_data(scenario) == {"rows": [1, 2]}
    assert as_resource(scenario) is as_resource(scenario)


# --- one heavy computation at a time ------------------------------------------------------------


def test_heavy_computations_run_one_at_a_time_in_arrival_order():
    queue = heavy.Queue()
    inside, most, order, lock = [0], [0], [], threading.Lock()

    def work(name: str, delay: float) -> None:
        time.sleep(delay)
        with heavy.turn(name, queue, show=lambda place, ahead, label: None):
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            order.append(name)
            with heavy.turn("nested", queue):  # a run computing its own traffic does not queue behind itself
                time.sleep(0.15)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=work, args=(n, i * 0.03)) for i, n in enumerate("abcd")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 1 and order == list("abcd")
    assert queue.stats()["served"] == 4 and queue.stats()["waiting"] == 0


def test_a_session_that_leaves_drops_out_of_the_queue():
    queue = heavy.Queue()
    seen: list[int] = []
    order: list[str] = []

    class Left(Exception):
        pass

    def leaves(place, ahead, label):
        seen.append(ahead)
        raise Left  # what Streamlit raises in a script whose session went away

    def hold() -> None:
        with heavy.turn("a", queue, show=lambda *a: None):
            order.append("a")
            time.sleep(0.4)

    def leaver() -> None:
        time.sleep(0.05)
        with pytest.raises(Left), heavy.turn("b", queue, show=leaves):
            order.append("b")

    def patient() -> None:
        time.sleep(0.1)
        with heavy.turn("c", queue, show=lambda *a: None):
            order.append("c")

    threads = [threading.Thread(target=f) for f in (hold, leaver, patient)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [1] and order == ["a", "c"] and queue.stats()["waiting"] == 0


def test_two_entry_points_to_one_heavy_entry_do_not_deadlock(scenario):
    """Session A computes `outer`, which needs `inner`; session B asks for `inner` directly while A
    holds the server's turn. B must wait for its turn without holding `inner`'s lock."""

    @cached("resource", max_entries=4, heavy=True)
    def inner(s: Scenario) -> str:
        time.sleep(0.2)
        return "inner"

    @cached("resource", max_entries=4, heavy=True)
    def outer(s: Scenario) -> str:
        time.sleep(0.3)  # B arrives meanwhile and misses `inner`
        return inner(s) + "+outer"

    results: dict[str, str] = {}
    a = threading.Thread(target=lambda: results.setdefault("a", outer(scenario)), daemon=True)
    b = threading.Thread(target=lambda: (time.sleep(0.1), results.setdefault("b", inner(scenario))), daemon=True)
    a.start()
    b.start()
    a.join(timeout=10)
    b.join(timeout=10)
    assert not a.is_alive() and not b.is_alive(), "deadlock"
    assert results == {"a": "inner+outer", "b": "inner"}


# --- shared frames, lingering frames, room before a heavy computation ---------------------------


def test_a_frame_two_entries_hold_is_counted_once_and_freed_with_the_last():
    store = MemoryStore(limit=lambda: 100 * 1024 * 1024)
    shared, own = _frame(4), _frame(2)
    store.put("traffic", 1, {"events": shared}, ttl=60, max_entries=10)
    one = store.stats()["bytes"]
    store.put("run", 2, {"truth_events": shared, "fullstack": own}, ttl=60, max_entries=10)
    both = store.stats()["bytes"]
    assert both - one < own.estimated_size() + 4096  # the run adds only its own frame
    store.clear_owner(1)
    assert store.stats()["bytes"] == both - (one - shared.estimated_size())  # still held by the run
    store.clear_owner(2)
    assert store.stats()["bytes"] == 0


def test_a_dropped_frame_still_referenced_counts_until_it_is_freed():
    store = MemoryStore(limit=lambda: 100 * 1024 * 1024)
    page_holds = _frame(3)
    store.put("a", 1, {"t": page_holds}, ttl=60, max_entries=10)
    store.put("b", 1, {"t": _frame(3)}, ttl=60, max_entries=10)
    store.clear_owner(1)
    assert store.stats()["bytes"] == 0
    assert store.stats()["lingering"] == page_holds.estimated_size()  # b's frame went with b; a page still renders a's
    del page_holds
    assert store.stats()["lingering"] == 0


def test_make_room_evicts_for_the_estimate_and_waits_for_lingering_frames():
    mib = 1024 * 1024
    store = MemoryStore(limit=lambda: 10 * mib)
    store.put("older", 1, {"t": _frame(2)}, ttl=60, max_entries=10, units=1000.0)
    rendering = {"t": _frame(3)}
    store.put("old", 1, rendering, ttl=60, max_entries=10, units=1000.0)
    assert store.estimate(1, 2000.0) >= 6 * mib  # learnt: at most 3 MiB per 1,000 units
    store.make_room(4 * mib)  # 2 + 3 + 4 fit 10: nothing goes
    assert store.stats()["entries"] == 2 and store.stats()["evicted"] == 0
    # 8 MiB needed: both go (least recently used first); a page still holds old's frame, so the
    # store waits for it to let go.
    released = threading.Timer(0.3, rendering.clear)
    released.start()
    t0 = time.monotonic()
    store.make_room(8 * mib, wait_s=5.0)
    waited = time.monotonic() - t0
    assert store.stats()["entries"] == 0 and store.stats()["evicted"] == 2
    assert 0.2 < waited < 4.0  # it waited for the page, not for the whole timeout
    assert store.stats()["lingering"] == 0
    t0 = time.monotonic()
    store.make_room(20 * mib, wait_s=0.0)  # more than the limit with nothing left to evict: no blocking
    assert time.monotonic() - t0 < 0.5


def test_a_heavy_miss_makes_room_before_it_computes(scenario, monkeypatch):
    """A heavy function's second new entry evicts the first before computing (not after), so the
    cache plus the computation under way stays within the limit."""
    from ui import cache as cache_module

    store = MemoryStore(limit=lambda: 12 * 1024 * 1024)
    monkeypatch.setattr(cache_module, "STORE", store)
    monkeypatch.setattr(cache_module, "TRANSIENT_BYTES_PER_UNIT", 0.0)
    held_during: list[int] = []

    @cached("resource", max_entries=8, heavy=True)
    def big(s: Scenario) -> pl.DataFrame:
        held_during.append(store.stats()["bytes"])
        return _frame(7)

    first = apply_overrides(scenario, {"seed": 1})
    second = apply_overrides(scenario, {"seed": 2})
    big(first)
    big(second)
    assert held_during[0] == 0 and held_during[1] == 0  # 7 + 7 MiB do not fit 12: the first went before
    assert store.stats()["evicted"] == 1 and store.stats()["entries"] == 1


def test_string_columns_count_their_views():
    # 200,000 rows of one short string: polars' estimate counts the strings' bytes, not the
    # 16-byte view each row holds (3 MiB here), which is what the column really occupies.
    repeated = pl.DataFrame({"s": ["eu"] * 200_000, "n": pl.zeros(200_000, dtype=pl.Int64, eager=True)})
    assert repeated.estimated_size() < 16 * 200_000
    assert frame_bytes(repeated) >= 16 * 200_000 + 8 * 200_000
    long = pl.Series("u", [f"https://example.com/{i:040d}" for i in range(10_000)])
    assert frame_bytes(long) == long.estimated_size()  # long distinct strings: their bytes dominate
    assert size_of({"a": repeated, "b": repeated}) < frame_bytes(repeated) + 4096  # one frame, counted once


def test_peek_computes_nothing_and_keep_stores_what_the_function_would(scenario):
    calls: list[str] = []

    @cached("resource", max_entries=4, key=lambda s: s.rails_key)
    def part(s: Scenario) -> pl.DataFrame:
        calls.append(s.run_id)
        return pl.DataFrame({"run": [s.run_id]})

    part.clear()
    assert part.peek(scenario) is None and calls == []
    kept = part.keep(pl.DataFrame({"run": ["computed by the caller"]}), scenario)
    other_banner = apply_overrides(scenario, {"consent.banner": "no_reject"})  # same rails key
    assert part.peek(other_banner) is kept and part(other_banner) is kept and calls == []


def test_the_queue_speaks_the_session_language():
    from ui import heavy
    from ui.words import speaking, t

    with speaking("de"):
        one, many = heavy._message(1, t("spinner.simulating")), heavy._message(3, t("spinner.simulating"))
    assert one.startswith("Vor Ihnen ist noch 1 Berechnung") and "(Besucher werden simuliert)" in one
    assert "Vor Ihnen sind noch 3 Berechnungen" in many
    assert heavy._message(2, "Simulating visitors…").startswith("2 computations are ahead of you")
