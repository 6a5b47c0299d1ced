"""Golden numbers for ReCapABR, the throughput estimators and robust MPC."""

from __future__ import annotations

import math

import numpy as np
import pytest

from artic_rl.control.grid import ceil_tier, floor_tier
from artic_rl.control.mpc import MEAN_CONFIDENCE, RobustMpc, accuracy_curve
from artic_rl.control.recap import confidence_at, recap_kbps
from artic_rl.control.throughput import (
    AckedThroughput,
    ThroughputHistory,
    delivered_kbps,
    harmonic_mean,
)
from artic_rl.sender.feedback import PacketReports

MEAN = np.array(MEAN_CONFIDENCE)  # 0.47, 0.81, 0.89, 0.95, 0.97, 0.98 at 200..3150 kbps


def test_recap_drops_to_the_controller() -> None:
    assert recap_kbps(1000.0, 800.0, MEAN) == 800.0


def test_recap_keeps_a_confident_bitrate_even_if_allowed_more() -> None:
    assert confidence_at(610.0, MEAN) == pytest.approx(0.89)
    assert recap_kbps(610.0, 2000.0, MEAN) == 610.0


def test_recap_moves_to_the_interpolated_saturation_point() -> None:
    # at 300 kbps: 0.47 + 0.34 * log2(1.5) = 0.6689 < 0.8
    assert confidence_at(300.0, MEAN) == pytest.approx(0.47 + 0.34 * math.log2(1.5))
    # 0.8 is reached (0.8 - 0.47) / 0.34 = 0.9706 of the way from 200 to 400 in log-rate
    assert recap_kbps(300.0, 2000.0, MEAN) == pytest.approx(200.0 * 2.0 ** (0.33 / 0.34))
    assert recap_kbps(300.0, 350.0, MEAN) == 350.0  # never above the controller


def test_recap_one_tier_up_when_no_tier_reaches_0_8_and_no_confidence_means_the_controller() -> (
    None
):
    low = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    assert recap_kbps(3150.0, 9000.0, low) == pytest.approx(3150.0 * 3150.0 / 1710.0)
    assert recap_kbps(3150.0, 4000.0, low) == 4000.0
    assert recap_kbps(300.0, 1200.0, None) == 1200.0
    assert confidence_at(150.0, MEAN) == 0.0  # below the lowest tier: not confident


def test_tiers() -> None:
    tiers = (100.0, 200.0, 400.0)
    assert floor_tier(tiers, 399.0) == 200.0
    assert floor_tier(tiers, 50.0) == 100.0
    assert ceil_tier(tiers, 201.0) == 400.0
    assert ceil_tier(tiers, 900.0) == 400.0


def _packets(send: list[float], arrival: list[float], size: list[int]) -> PacketReports:
    return PacketReports(
        seq=np.arange(len(send), dtype=np.int64),
        send_ms=np.asarray(send, dtype=np.float64),
        arrival_ms=np.asarray(arrival, dtype=np.float64),
        size_bytes=np.asarray(size, dtype=np.int64),
    )


def test_harmonic_mean_and_delivered_rate() -> None:
    assert harmonic_mean([100.0, 300.0]) == pytest.approx(150.0)
    assert harmonic_mean([]) == 0.0
    pk = _packets([0, 1, 2], [10, float("nan"), 12], [1000, 1000, 500])
    assert delivered_kbps(pk, 100.0) == pytest.approx(1500 * 8 / 100.0)  # 120 kbps


def test_acked_throughput_window() -> None:
    acked = AckedThroughput(window_ms=500.0)
    assert acked.update(_packets([], [], []), 0.0) is None
    # 10 x 1000 bytes arriving at 100..1000 ms; at 1000 ms the window (500, 1000] holds 5
    t = [100.0 * (i + 1) for i in range(10)]
    assert acked.update(_packets(t, t, [1000] * 10), 1000.0) == pytest.approx(5 * 8000 / 500.0)


def test_robust_prediction_discounts_by_the_max_error() -> None:
    h = ThroughputHistory(window=5)
    h.add(1000.0)
    h.add(500.0)  # predicted 1000 -> error |1000 - 500| / 500 = 1.0
    assert h.predict() == pytest.approx(2 / (1 / 1000 + 1 / 500))  # 666.7
    assert h.robust_predict() == pytest.approx(666.6667 / 2.0, rel=1e-4)


def test_accuracy_curve_goes_to_zero_below_the_lowest_tier() -> None:
    acc = accuracy_curve(np.array([50.0, 100.0, 200.0, 3150.0, 5000.0]), None)
    assert acc[0] == 0.0
    assert acc[1] == pytest.approx(0.47 * 0.5)  # half-way in log from 50 to 200
    assert acc[2] == pytest.approx(0.47)
    assert acc[3] == acc[4] == pytest.approx(0.98)


def test_mpc_keeps_the_queue_bounded_and_uses_capacity_when_it_pays() -> None:
    tiers = (200.0, 400.0, 800.0, 1600.0)
    mpc = RobustMpc(tiers, horizon=2)
    # 1000 kbps capacity, empty queue: 800 fills no queue; 1600 adds 600 * 200 = 120 kbit (mean
    # delay 60 ms, under the 150 ms budget, but its accuracy gain 0.98 - 0.95.. is worth less than bits)
    assert mpc.plan(1000.0, 0.0, MEAN) == 800.0
    # a 1 s standing queue (1 Mbit): every plan is far over the delay budget, so it drains below
    # capacity; 400 over 200 gains 0.15 * (0.81 - 0.47) = 0.051 in accuracy for 20 ms more mean
    # delay (0.55 * 0.02 = 0.011); 800 gains only 0.15 * 0.12 = 0.018 more for 40 ms more delay
    # in both steps plus 0.008 in bits
    assert mpc.plan(1000.0, 1000.0, MEAN) == 400.0
