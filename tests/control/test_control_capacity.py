"""The capacity a sender can measure: golden numbers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from artic_rl.control.capacity import CapacityEstimator
from artic_rl.sender.feedback import PacketReports


def _packets(send: list[float], arrival: list[float], size: int = 1000) -> PacketReports:
    n = len(send)
    return PacketReports(
        seq=np.arange(n, dtype=np.int64),
        send_ms=np.asarray(send, dtype=np.float64),
        arrival_ms=np.asarray(arrival, dtype=np.float64),
        size_bytes=np.full(n, size, dtype=np.int64),
    )


def test_paced_packets_bound_the_capacity_and_a_queued_burst_measures_it() -> None:
    est = CapacityEstimator(window_ms=1000.0, min_busy_ms=5.0)
    assert math.isnan(est.kbps)  # nothing arrived yet
    # paced 10 ms apart, 20 ms one way, none queued: the link kept pace with 1000 B / 10 ms
    est.update(_packets([0.0, 10.0, 20.0], [20.0, 30.0, 40.0]))
    assert est.kbps == 800.0
    # a burst of three sent at once leaves the link 4 ms apart: each of the last two would have
    # arrived by 120 ms on a free link, so it queued behind the one before: 2000 B in 8 ms
    est.update(_packets([100.0, 100.0, 100.0], [120.0, 124.0, 128.0]))
    assert est.kbps == 2000.0
    # a lost packet (NaN) is skipped; a second burst at half the rate: 4000 B in 24 ms
    est.update(_packets([200.0, 200.0, 200.0, 200.0], [220.0, 228.0, math.nan, 236.0]))
    assert est.kbps == pytest.approx(4000 * 8 / 24)


def test_busy_time_below_the_minimum_falls_back_to_the_bound_and_old_samples_leave() -> None:
    est = CapacityEstimator(window_ms=1000.0, min_busy_ms=20.0)
    est.update(_packets([0.0, 10.0], [20.0, 30.0]))
    est.update(_packets([100.0, 100.0], [120.0, 124.0]))  # 4 ms busy < 20: the bound, 800
    assert est.kbps == 800.0
    # 1.5 s later only the new pair is in the window: 1000 B over 2 ms (the clock floor is 1 ms)
    est.update(_packets([1600.0, 1602.0], [1620.0, 1622.0]))
    assert est.kbps == 4000.0
    est.update(_packets([1700.0, 1700.3], [1720.0, 1720.3]))  # 0.3 ms apart: read as 1 ms
    assert est.kbps == 8000.0
    est.reset()
    assert math.isnan(est.kbps)
    with pytest.raises(ValueError, match="window_ms"):
        CapacityEstimator(window_ms=0.0)
