"""The link emulator: golden numbers worked out by hand, and agreement with mm-link's own loop."""

from __future__ import annotations

import math

import numpy as np
import pytest

from artic_rl.net import MTU_BYTES, FeedbackPath, GilbertElliottLoss, Link, Trace
from artic_rl.net.reference import MmLinkReference, plain_loop


def every(period_ms: int, *opps: int) -> Trace:
    return Trace("hand", np.array(opps or (period_ms,)), period_ms)


def arrivals(link: Link, sends: list[float], sizes: list[int]) -> list[float]:
    return link.send(np.array(sends, dtype=float), np.array(sizes)).tolist()


def same(got: list[float], want: list[float]) -> bool:
    return len(got) == len(want) and all(
        (math.isnan(g) and math.isnan(w)) or g == w for g, w in zip(got, want, strict=True)
    )


def test_one_mtu_per_opportunity() -> None:
    # trace "1": one 1504-byte opportunity every millisecond (12 Mbps)
    link = Link(every(1))
    assert arrivals(link, [0, 0, 0], [MTU_BYTES] * 3) == [1, 2, 3]


def test_small_packets_share_one_opportunity() -> None:
    # opportunities at 10, 20, 30 (period 30): 500 + 500 + 504 = 1504 fill the one at 10
    link = Link(every(30, 10, 20, 30))
    assert arrivals(link, [0, 0, 0, 0], [500, 500, 504, 100]) == [10, 10, 10, 20]


def test_spill_over_into_the_next_opportunity() -> None:
    # 1000 ends at byte 1000 (opp 10); the second 1000 sends 504 at 10 and 496 at 20;
    # 1008 more exactly fills opp 20 (496 + 1008 = 1504); one byte more needs opp 30.
    link = Link(every(30, 10, 20, 30))
    assert arrivals(link, [0, 0, 0, 0], [1000, 1000, 1008, 1]) == [10, 20, 20, 30]


def test_same_millisecond_opportunity_does_not_serve() -> None:
    # the opportunity at 10 is burned before a packet sent at 10 (or 10.5) is enqueued
    assert arrivals(Link(every(30, 10, 20, 30)), [9.999], [100]) == [10]
    assert arrivals(Link(every(30, 10, 20, 30)), [10.0], [100]) == [20]
    assert arrivals(Link(every(30, 10, 20, 30)), [10.5], [100]) == [20]


def test_unused_bytes_of_an_opportunity_are_lost() -> None:
    # 100 bytes leave at 10; the other 1404 bytes of that opportunity are gone by t=15
    link = Link(every(30, 10, 20, 30))
    assert arrivals(link, [0, 15], [100, 100]) == [10, 20]
    # but a packet already waiting at 10 uses them
    link = Link(every(30, 10, 20, 30))
    assert arrivals(link, [0, 5], [100, 100]) == [10, 10]


def test_packet_in_transit_keeps_its_place() -> None:
    # the second 1000 is half sent at 10; a 600 sent at 15 follows it into opp 20 (496+600 < 1504)
    link = Link(every(30, 10, 20, 30))
    assert arrivals(link, [0, 0], [1000, 1000]) == [10, 20]
    assert arrivals(link, [15], [600]) == [20]


def test_trace_wraps_around() -> None:
    # trace [5, 10] repeats every 10 ms: opportunities at 5, 10, 15, 20, 25, 30
    link = Link(every(10, 5, 10))
    assert arrivals(link, [0] * 5, [MTU_BYTES] * 5) == [5, 10, 15, 20, 25]
    # at 23 the queue still holds the packet leaving at 25, so the next one takes 30
    assert arrivals(link, [23], [1]) == [30]


def test_repeated_timestamps_and_start_offset() -> None:
    # [3, 3, 7] period 7: opportunities 3, 3, 7, 10, 10, 14 ...; start at trace time 7
    link = Link(every(7, 3, 3, 7), start_ms=7.0)
    # link 0 = trace 7 (burned); next are trace 10, 10, 14 = link 3, 3, 7
    assert arrivals(link, [0, 0, 0], [MTU_BYTES] * 3) == [3, 3, 7]


def test_fixed_delay_is_added_after_the_bottleneck() -> None:
    link = Link(every(30, 10, 20, 30), delay_ms=25.0)
    assert arrivals(link, [0, 0], [1504, 1]) == [35, 45]


def test_drop_tail_counts_packets_without_the_one_in_transit() -> None:
    # opportunities every 10 ms; limit 2 packets. At 15, B is in transit (504 of 1000 sent),
    # so the queue is empty: C and D fit, E is dropped. Counting B would have dropped D.
    link = Link(every(10), queue_packets=2)
    assert arrivals(link, [0, 0], [1000, 1000]) == [10, 20]
    got = arrivals(link, [15, 15, 15], [MTU_BYTES] * 3)
    # C: bytes 2000..3504 -> opp index 2 (t=30); D: 3504..5008 -> index 3 (t=40)
    assert same(got, [30, 40, math.nan])
    assert link.packets_dropped == 1


def test_drop_tail_in_one_batch() -> None:
    # limit 2: at t=0 A and B are queued (nothing in transit yet), the rest is dropped
    link = Link(every(10), queue_packets=2)
    got = arrivals(link, [0, 0, 0, 0, 5], [MTU_BYTES] * 5)
    assert same(got, [10, 20, math.nan, math.nan, math.nan])
    # at t=12 A is gone and B is still queued (its opportunity is at 20): one place is free
    assert same(arrivals(link, [12, 12], [MTU_BYTES] * 2), [30, math.nan])


def test_drop_tail_in_bytes() -> None:
    # limit 3000 bytes: 1504 fits, a second 1504 would make 3008, a 100 makes 1604
    link = Link(every(10), queue_bytes=3000)
    got = arrivals(link, [0, 0, 0], [MTU_BYTES, MTU_BYTES, 100])
    assert same(got, [10, math.nan, 20])


def test_bernoulli_loss_uses_the_given_generator() -> None:
    sends, sizes = np.zeros(50), np.full(50, 100)
    got = Link(every(1), loss=0.3, np_random=np.random.default_rng(7)).send(sends, sizes)
    want_lost = np.random.default_rng(7).random(50) < 0.3
    np.testing.assert_array_equal(np.isnan(got), want_lost)


def test_gilbert_elliott_alternates_when_both_transitions_are_certain() -> None:
    ge = GilbertElliottLoss(p_good_to_bad=1.0, p_bad_to_good=1.0, loss_good=0.0, loss_bad=1.0)
    got = Link(every(1), loss=ge, np_random=np.random.default_rng(0)).send(
        np.zeros(6), np.full(6, 100)
    )
    assert np.isnan(got).tolist() == [False, True, False, True, False, True]


def test_gilbert_elliott_mean_loss_and_bursts() -> None:
    ge = GilbertElliottLoss(p_good_to_bad=0.02, p_bad_to_good=0.25)
    rng = np.random.default_rng(1)
    lost = np.concatenate([ge.sample(1000, rng) for _ in range(100)])
    assert ge.mean_loss == pytest.approx(0.02 / 0.27)
    assert lost.mean() == pytest.approx(ge.mean_loss, rel=0.1)
    starts = np.flatnonzero(np.diff(lost.astype(int)) == 1).size
    assert lost.sum() / starts == pytest.approx(4.0, rel=0.15)  # mean burst 1 / 0.25


def test_send_rejects_bad_batches() -> None:
    link = Link(every(1))
    with pytest.raises(ValueError, match="non-decreasing"):
        link.send(np.array([5.0, 4.0]), np.array([1, 1]))
    link.send(np.array([5.0]), np.array([1]))
    with pytest.raises(ValueError, match="non-decreasing"):
        link.send(np.array([4.0]), np.array([1]))
    with pytest.raises(ValueError, match="size_bytes"):
        link.send(np.array([6.0]), np.array([1505]))
    with pytest.raises(ValueError, match="np_random"):
        Link(every(1), loss=0.1)


def test_capacity_queue_and_drain_introspection() -> None:
    link = Link(every(10))
    assert link.capacity_bytes(0, 35) == 3 * MTU_BYTES  # opportunities 10, 20, 30
    link.send(np.zeros(3), np.full(3, MTU_BYTES))
    assert link.queue_packets_at(0) == 3
    assert link.queue_packets_at(15) == 2  # A left at 10; B (opp 20) and C (opp 30) wait
    assert link.queue_bytes_at(15) == 2 * MTU_BYTES
    assert link.queue_packets_at(20) == 1
    assert link.drain_ms == 30


def test_feedback_path_fixed_and_trace_driven() -> None:
    fixed = FeedbackPath(delay_ms=40)
    assert fixed.send(np.array([0.0, 5.0]), np.array([80, 80])).tolist() == [40, 45]
    driven = FeedbackPath(delay_ms=40, trace=every(10))
    assert driven.send(np.array([0.0, 5.0]), np.array([80, 80])).tolist() == [50, 50]


@pytest.mark.parametrize("numpy_only", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_matches_mm_link_reference_on_random_schedules(
    seed: int, numpy_only: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if (
        numpy_only
    ):  # small batches normally take the plain-Python path: cover the vectorised one too
        import artic_rl.net.link as link_module

        monkeypatch.setattr(link_module, "PLAIN_MAX_PACKETS", 0)
        monkeypatch.setattr(link_module, "PLAIN_MAX_DROPTAIL", 0)
    rng = np.random.default_rng(seed)
    opps = np.sort(rng.integers(1, 60, size=rng.integers(1, 40)))
    trace = Trace("rand", opps, int(opps[-1]) + int(rng.integers(0, 5)))
    n = 400
    sends = np.cumsum(rng.exponential(rng.uniform(0.2, 3.0), size=n))
    sizes = rng.integers(1, MTU_BYTES + 1, size=n)
    limit = [None, 1, 3, 20][seed % 4]
    byte_limit = None if seed % 3 else 6000
    start = float(rng.uniform(0, 100))
    ref = MmLinkReference(trace, limit, byte_limit, start_ms=start)
    want = ref.run(sends.tolist(), sizes.tolist())
    link = Link(trace, queue_packets=limit, queue_bytes=byte_limit, start_ms=start)
    cuts = np.sort(rng.choice(np.arange(1, n), size=30, replace=False))
    got = np.concatenate(
        [link.send(s, z) for s, z in zip(np.split(sends, cuts), np.split(sizes, cuts), strict=True)]
    )
    assert same(got.tolist(), want)
    if byte_limit is None:
        assert same(
            plain_loop(trace, (sends + start).tolist(), sizes.tolist(), limit, -start), want
        )
