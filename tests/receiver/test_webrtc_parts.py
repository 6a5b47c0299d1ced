"""The parts of the WebRTC model: jitter estimator, NACK list, sender history, limiter and gate."""

from __future__ import annotations

import pytest

from artic_rl.receiver.config import WebRtcReceiverConfig
from artic_rl.receiver.jitter import JitterEstimator
from artic_rl.receiver.nack import NackList, RttEstimate
from artic_rl.receiver.timing import TimestampExtrapolator
from artic_rl.sender.rtx import (
    KeyframeGate,
    PacketHistory,
    RtxLimiter,
    WebRtcSenderConfig,
    answer_nack,
)


def test_jitter_on_a_clean_link_settles_at_one_ms_plus_os_jitter() -> None:
    """Equal frames, no delay variation, 25 fps: the noise variance falls to its floor of 1, so
    E = max(2.33 - 30, 1) + slope x (max - avg = 0) = 1 ms and J = E + 10 = 11 ms."""
    est = JitterEstimator(WebRtcReceiverConfig())
    for k in range(200):
        est.update(None if k == 0 else 0.0, 3000, 40.0 * k)
    assert est.var_noise == 1.0
    assert est.fps_hz() == pytest.approx(25.0)
    assert est.jitter_ms(50.0, 8000.0) == pytest.approx(11.0)


def test_jitter_grows_with_frame_size_spread() -> None:
    """A keyframe 10x the P-frames raises max - avg: the size term adds slope x (max - avg) > 0."""
    est = JitterEstimator(WebRtcReceiverConfig())
    for k in range(100):
        est.update(None if k == 0 else 0.0, 30_000 if k == 50 else 3000, 40.0 * k)
    assert est.max_size > 29_000
    assert est.jitter_ms(50.0, 4000.0) > 11.0 + 0.9 * est.kalman.slope * 20_000


def test_jitter_adds_the_rtt_after_three_nacked_frames_and_scales_with_low_fps() -> None:
    cfg = WebRtcReceiverConfig(jitter_model="fixed", fixed_jitter_ms=11.0)
    est = JitterEstimator(cfg)
    est.prewarm_fps(25.0)
    for t in (100.0, 200.0):
        est.frame_nacked(t)
    assert est.jitter_ms(50.0, 300.0) == 11.0
    est.frame_nacked(300.0)
    assert est.jitter_ms(50.0, 300.0) == 11.0 + 45.0  # min(0.9 x 50, 200)
    assert est.jitter_ms(500.0, 300.0) == 11.0 + 200.0  # capped
    assert est.jitter_ms(50.0, 300.0 + 60_001.0) == 11.0  # 60 s after the last: reset
    slow = JitterEstimator(cfg)
    slow.prewarm_fps(7.5)  # halfway between 5 and 10 fps: half the jitter delay
    assert slow.jitter_ms(50.0, 0.0) == pytest.approx(5.5)
    slow = JitterEstimator(cfg)
    slow.prewarm_fps(4.0)
    assert slow.jitter_ms(50.0, 0.0) == 0.0


def test_extrapolator_maps_timestamps_to_completion_on_a_constant_delay() -> None:
    ext = TimestampExtrapolator()
    assert ext.local_ms(0.0) is None
    for k in range(5):
        ext.update(40.0 * k + 30.0, 90.0 * 40.0 * k)
    assert ext.local_ms(90.0 * 400.0) == pytest.approx(430.0)


def test_nack_list_sends_at_once_retries_after_an_rtt_and_gives_up() -> None:
    cfg = WebRtcReceiverConfig(nack_max_retries=3)
    nack = NackList(cfg)
    assert nack.on_packet(0, 0.0) == (0, [])
    assert nack.on_packet(3, 10.0) == (0, [1, 2])  # the gap, NACKed at once
    assert nack.on_tick(40.0, 50.0) == []  # NACKed 30 ms ago, RTT 50
    assert nack.on_tick(60.0, 50.0) == [1, 2]
    assert nack.on_packet(1, 70.0) == (2, [])  # it was NACKed twice
    assert nack.on_tick(120.0, 50.0) == [2]  # third try: dropped
    assert nack.entries == {}
    assert nack.on_tick(200.0, 50.0) == []


def test_nack_list_overflow_clears_and_asks_for_a_keyframe() -> None:
    nack = NackList(WebRtcReceiverConfig(nack_max_list=10))
    nack.on_packet(0, 0.0)
    assert nack.on_packet(12, 1.0) == (0, [])
    assert nack.overflowed and not nack.entries


def test_rtt_is_the_maximum_report_within_one_and_a_half_seconds() -> None:
    rtt = RttEstimate(WebRtcReceiverConfig())
    assert rtt.rtt_ms(0.0) == 100.0  # the default
    rtt.on_sample(0.0, 80.0)
    rtt.on_sample(1000.0, 50.0)
    assert rtt.rtt_ms(1000.0) == 80.0
    assert rtt.rtt_ms(1600.0) == 50.0


def test_history_resend_guard_and_culling() -> None:
    history = PacketHistory()
    history.put(7, 1200, 0.0, 50.0)
    assert history.resend(7, 100.0, 50.0) == 1202  # + the 2-byte OSN
    assert history.resend(7, 154.0, 50.0) is None  # within 5 + 50 ms of the last resend
    assert history.resend(7, 155.0, 50.0) == 1202
    assert history.resend(8, 155.0, 50.0) is None  # never stored
    small = PacketHistory(WebRtcSenderConfig(history_min_packets=2))
    for seq in range(3):
        small.put(seq, 100, 0.0, 50.0)
    small.put(3, 100, 1001.0, 50.0)  # 0 and 1: older than max(1 s, 3 RTT), more than 2 stored
    assert len(small) == 2 and small.resend(1, 1001.0, 50.0) is None
    small.put(4, 100, 3002.0, 50.0)  # 2: older than 3 x 1 s, culled however few are stored
    assert len(small) == 2 and small.resend(2, 3002.0, 50.0) is None
    assert small.resend(3, 3002.0, 50.0) == 102


def test_rtx_limiter_aborts_the_rest_of_a_nack() -> None:
    """100 kbps over 500 ms = 6250 bytes: five 1202-byte resends fit, the sixth does not."""
    history, limiter = PacketHistory(), RtxLimiter()
    for seq in range(8):
        history.put(seq, 1200, 0.0, 50.0)
    out = answer_nack(history, limiter, list(range(8)), 10.0, 50.0, 100.0)
    assert [s for s, _ in out] == [0, 1, 2, 3, 4]
    assert limiter.allow(510.0, 1202, 100.0)  # the window has moved on


def test_keyframe_gate_honours_one_request_per_300_ms() -> None:
    gate = KeyframeGate()
    assert [gate.accept(t) for t in (0.0, 100.0, 299.0, 300.0)] == [True, False, False, True]
