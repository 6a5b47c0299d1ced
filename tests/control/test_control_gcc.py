"""Golden numbers for GCC's parts (worked out by hand in the comments) and its behaviour on a scripted link."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from artic_rl.control.aimd import AimdRateControl, RateControlState
from artic_rl.control.delay_based import (
    BandwidthUsage,
    GroupDelta,
    InterArrival,
    TrendlineEstimator,
)
from artic_rl.control.gcc import GccController
from artic_rl.control.loss_based import LossBasedControl

sys.path.insert(0, str(Path(__file__).parent))
from scripted import ScriptedLink  # noqa: E402


def test_inter_arrival_groups_5ms_bursts_and_emits_deltas() -> None:
    ia = InterArrival()
    assert ia.packet(0.0, 10.0) is None  # group A opens
    assert ia.packet(2.0, 12.0) is None  # sent 2 ms after A's first: same group
    assert ia.packet(10.0, 21.0) is None  # 10 ms later: group B opens, no previous group yet
    delta = ia.packet(20.0, 33.0)  # group C opens: B is complete
    # send delta = 10 - 2 = 8, arrival delta = 21 - 12 = 9 -> variation 1 ms
    assert delta == GroupDelta(send_delta_ms=8.0, arrival_delta_ms=9.0, arrival_ms=21.0)
    assert delta.delay_variation_ms == 1.0


def test_inter_arrival_burst_rule_joins_a_packet_that_queued_behind_the_group() -> None:
    ia = InterArrival()
    ia.packet(0.0, 10.0)
    # sent 8 ms later (> 5 ms) but arrives 2 ms after, with a negative gradient (2 - 8 < 0): same burst
    assert ia.packet(8.0, 12.0) is None
    ia.packet(20.0, 40.0)  # B opens
    delta = ia.packet(40.0, 60.0)  # C opens; A = (send 8, arrival 12), B = (20, 40)
    assert delta == GroupDelta(12.0, 28.0, 40.0)


def test_trendline_slope_and_threshold_by_hand() -> None:
    tl = TrendlineEstimator(window=3, smoothing=0.5, gain=4.0)
    # three groups, each arriving 12 ms after the previous, sent 10 ms apart: d = 2 ms each.
    states = [tl.update(GroupDelta(10.0, 12.0, t)) for t in (12.0, 24.0, 36.0)]
    assert states == [BandwidthUsage.NORMAL] * 3
    # accumulated 2, 4, 6; smoothed 1, 2.5, 4.25 at x = 0, 12, 24:
    # slope = (-12 * -1.5833 + 12 * 1.6667) / 288 = 39 / 288
    assert tl.trend == pytest.approx(39.0 / 288.0)
    assert tl.modified_trend == pytest.approx(3 * 39.0 / 288.0 * 4.0)  # 1.625
    # threshold 12.5 shrinks with k_down over 12 ms: 12.5 + 0.039 * (1.625 - 12.5) * 12
    assert tl.threshold == pytest.approx(12.5 + 0.039 * (1.625 - 12.5) * 12.0)


def test_trendline_declares_overuse_only_after_10ms_and_two_samples() -> None:
    tl = TrendlineEstimator(window=2, smoothing=0.0, gain=4.0)
    # smoothing 0: y = accumulated delay; d = 10 ms per group 10 ms apart on arrival -> slope 1,
    # modified = n * 1 * 4 = 8, 12, 16 ... against a threshold starting at 12.5 (clamped >= 6).
    t, states = 0.0, []
    for _ in range(6):
        t += 20.0
        states.append(tl.update(GroupDelta(10.0, 20.0, t)))
    # n=1: NORMAL (too few); n=2: slope 0.5 (x step 20, y step 10) -> 4 < 12.5;
    # n=3: 6 < thr; n=4: 8; n=5: 10 ... the threshold decays toward the signal, so it is crossed
    assert states[0] is BandwidthUsage.NORMAL
    assert BandwidthUsage.OVERUSING in states
    first = states.index(BandwidthUsage.OVERUSING)
    assert first >= 2  # needs time over threshold > 10 ms and at least two samples over


def test_aimd_decrease_then_additive_then_multiplicative() -> None:
    aimd = AimdRateControl(start_kbps=500.0)
    # overuse with 400 kbps measured: 0.85 * 400 = 340 < 500
    assert aimd.update(BandwidthUsage.OVERUSING, 400.0, 0.0) == pytest.approx(340.0)
    assert aimd.state is RateControlState.HOLD
    assert aimd.link.estimate_kbps == 400.0
    assert aimd.link.upper_kbps == pytest.approx(400.0 + 3.0 * math.sqrt(0.4 * 400.0))
    # normal: hold -> increase, no time elapsed yet
    assert aimd.update(BandwidthUsage.NORMAL, 400.0, 100.0) == pytest.approx(340.0)
    # additive (capacity known): frame 340000/30 = 11333 bits -> 2 packets of 5666.7 bits per
    # response time 2 * (200 + 100) ms = 0.6 s -> 9.444 kbps/s, over 0.2 s: +1.8889
    assert aimd.update(BandwidthUsage.NORMAL, 400.0, 300.0) == pytest.approx(
        340.0 + 11333.333 / 2 / 0.6 / 1000 * 0.2
    )
    # throughput 500 above the upper bound (437.9): capacity forgotten -> multiplicative 8 %/s over 1 s
    before = aimd.rate_kbps
    assert aimd.update(BandwidthUsage.NORMAL, 500.0, 1300.0) == pytest.approx(before * 1.08)


def test_aimd_never_increases_beyond_1_5x_throughput() -> None:
    aimd = AimdRateControl(start_kbps=300.0)
    aimd.update(BandwidthUsage.NORMAL, 100.0, 0.0)
    # limit 1.5 * 100 + 10 = 160 < 300: no increase (and no decrease either)
    assert aimd.update(BandwidthUsage.NORMAL, 100.0, 1000.0) == 300.0
    assert aimd.update(BandwidthUsage.UNDERUSING, 100.0, 2000.0) == 300.0
    assert aimd.state is RateControlState.HOLD


def test_loss_based_increase_from_last_second_minimum() -> None:
    lb = LossBasedControl(start_kbps=300.0)
    assert lb.update(0, 20, 0.0) == pytest.approx(325.0)  # 1.08 * 300 + 1
    for t in (200.0, 400.0, 600.0, 800.0, 1000.0):
        assert lb.update(0, 20, t) == pytest.approx(325.0)  # 300 still within the last second
    assert lb.update(0, 20, 1200.0) == pytest.approx(1.08 * 325.0 + 1.0)  # 352


def test_loss_based_decrease_is_rate_limited_and_mid_loss_holds() -> None:
    lb = LossBasedControl(start_kbps=300.0)
    assert lb.update(6, 20, 0.0, rtt_ms=200.0) == pytest.approx(255.0)  # 30 %: x (1 - 0.15)
    assert lb.update(6, 20, 200.0, rtt_ms=200.0) == pytest.approx(255.0)  # < 300 + 200 ms later
    assert lb.update(6, 20, 500.0, rtt_ms=200.0) == pytest.approx(255.0 * 0.85)
    assert lb.update(1, 20, 900.0) == pytest.approx(255.0 * 0.85)  # 5 %: hold
    assert lb.update(5, 10, 1100.0) == pytest.approx(255.0 * 0.85)  # < 20 packets: waits
    assert lb.last_loss == pytest.approx(0.05)


def _run(gcc: GccController, link: ScriptedLink, capacities: list[float]) -> list[float]:
    rate, out = gcc.target_kbps, []
    for k, cap in enumerate(capacities):
        packets = link.interval(k * 200.0, 200.0, rate, cap)
        rate = gcc.on_feedback(packets, (k + 1) * 200.0)
        out.append(rate)
    return out


def test_gcc_grows_8_percent_per_second_on_an_empty_link() -> None:
    rates = _run(GccController(start_kbps=300.0), ScriptedLink(), [10_000.0] * 5)
    # delay-based: hold -> increase with no elapsed time (+1 kbps floor), then x 1.08 ** 0.2 per
    # 200 ms: 301, 305.65, 310.3, 315.19, 320.11. Loss-based: acts once 20 packets are reported
    # (12 per interval at 300 kbps), from the last second's minimum 300: 1.08 * 300 + 1 = 325 at
    # 400 and 800 ms, capped to the delay-based value. Target = the minimum of the two.
    assert rates[0] == pytest.approx(300.0)
    assert rates[1] == pytest.approx(301.0 * 1.08**0.2)
    assert rates[2] == pytest.approx(301.0 * 1.08**0.2)
    assert rates[3] == pytest.approx(301.0 * 1.08**0.6)
    assert rates[4] == pytest.approx(301.0 * 1.08**0.6)


def test_gcc_backs_off_below_a_dropped_capacity_and_recovers_the_queue() -> None:
    link = ScriptedLink()
    gcc = GccController(start_kbps=1200.0)
    rates = _run(gcc, link, [1500.0] * 50 + [600.0] * 50)
    assert 1000.0 < rates[49] <= 1500.0 * 1.05
    assert any(u < 600.0 for u in rates[50:60])  # overuse detected within 2 s of the drop
    assert np.mean(rates[70:]) < 700.0
    assert link.queue_ms(100 * 200.0) < 100.0  # the queue drained again
