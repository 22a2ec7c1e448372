"""The writer's group gathering: a short quiet gap for a lone client, a longer one (bounded by the
linger) when batches arrive densely, so groups amortise the rails' fixed cost."""

from collector.writer import QUIET_S, ArrivalGap


def test_dense_arrivals_wait_longer_but_never_past_the_linger():
    gap = ArrivalGap(linger=0.2)
    assert gap.quiet() == QUIET_S  # nothing seen yet
    for i in range(50):
        gap.arrived(i * 0.004)  # a batch every 4 ms (25,000 events/s in batches of 100)
    assert QUIET_S < gap.quiet() <= 0.2
    assert abs(gap.quiet() - 3 * 0.004) < 1e-3
    slow = ArrivalGap(linger=0.01)
    for i in range(50):
        slow.arrived(i * 0.001)
    assert slow.quiet() <= 0.01


def test_a_lone_client_keeps_the_short_gap():
    gap = ArrivalGap(linger=0.2)
    for i in range(50):
        gap.arrived(i * 0.03)  # one batch in flight: its group's commit and a round trip, ~30 ms
    assert gap.quiet() == QUIET_S
    # A pause of minutes counts as one second, so dense traffic after it is recognised quickly.
    gap.arrived(600.0)
    for i in range(40):
        gap.arrived(600.0 + (i + 1) * 0.004)
    assert gap.quiet() > QUIET_S
