"""Golden observation vectors for :class:`ObservationBuilder`, worked out by hand.

Every expected number below comes from the feature table in ``artic_rl/sender/observation.py``
(the module docstring) and the GCC rules in ``artic_rl/control`` (AIMD, loss-based, acknowledged
throughput), computed in the comments; none comes from calling the code under test.
``lr(x)`` is the docstring's normalisation ``ln(x / 100) / ln(40)`` written out here
(ln 40 = 3.688879), not the module's ``log_rate``.

The three-interval scenario (control interval 200 ms, 1200-byte packets):

Interval 1, report at 200 ms
    packets seq 0..4 sent at 0, 10, 20, 30, 40 ms; seq 2 lost; one-way delays 30, 30, -, 40, 50 ms
    -> arrivals 30, 40, -, 70, 90 ms. The sender put 5 x 1200 = 6000 B on the wire.
    frames: frame 0 captured 0, decodable 90 (delay 90 ms); frame 1 captured 33, never decodable.
    cloud: question active, region known (area 0.25), confidence 0.5, 0.7, 0.9, 1, 1, 1.
    last action 473 kbps, ROI level 2, 15 fps; 1500 ms since the last keyframe.
Interval 2, report at 400 ms
    packets seq 5..19 sent at 200, 210, ..., 340 ms; seq 9 and 14 lost; one-way delay 40 ms,
    except the last (seq 19, sent 340) 55 ms -> arrivals send + 40, the last at 395 ms.
    15 x 1200 = 18000 B sent. frames: captured 200 decodable 270 (70 ms), captured 300
    decodable 390 (90 ms). cloud: no question, region unknown (area field 0.3 must be masked),
    confidence 0.1 .. 0.6 (no tier reaches 0.8). last action 697 kbps, ROI 0, 30 fps; 1700 ms.
Interval 3, report at 600 ms
    nothing sent, no packet and no frame reported, keyframe requested, confidence unknown.
    last action 100 kbps, ROI 3, 1 fps; 0 ms since the keyframe.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from artic_rl.control.gcc import observation_estimator
from artic_rl.sender.actions import SenderAction
from artic_rl.sender.feedback import FeedbackReport, FrameReports, PacketReports
from artic_rl.sender.observation import (
    FEATURE_NAMES,
    OBS_DIM,
    OBS_HIGH,
    OBS_LOW,
    ObservationBuilder,
    observation_space,
)

LN40 = math.log(40.0)  # 3.688879


def lr(kbps: float) -> float:
    """The docstring's normalisation, written out independently: ln(kbps / 100) / ln(40)."""
    return math.log(kbps / 100.0) / LN40


NAN = math.nan
PKT_BYTES = 1200


def packets(seq0: int, send_ms: list[float], owd_ms: list[float]) -> PacketReports:
    """Hand-built transport feedback: 1200-byte packets, one-way delay NaN for a lost one."""
    n = len(send_ms)
    return PacketReports(
        seq=np.arange(seq0, seq0 + n, dtype=np.int64),
        send_ms=np.array(send_ms, dtype=np.float64),
        arrival_ms=np.array(send_ms, dtype=np.float64) + np.array(owd_ms, dtype=np.float64),
        size_bytes=np.full(n, PKT_BYTES, dtype=np.int64),
    )


def frames(id0: int, capture_ms: list[float], decodable_ms: list[float]) -> FrameReports:
    return FrameReports(
        frame_id=np.arange(id0, id0 + len(capture_ms), dtype=np.int64),
        capture_ms=np.array(capture_ms, dtype=np.float64),
        decodable_ms=np.array(decodable_ms, dtype=np.float64),
    )


def report_1() -> FeedbackReport:
    return FeedbackReport(
        now_ms=200.0,
        interval_ms=200.0,
        sent_bytes=5 * PKT_BYTES,
        packets=packets(0, [0.0, 10.0, 20.0, 30.0, 40.0], [30.0, 30.0, NAN, 40.0, 50.0]),
        frames=frames(0, [0.0, 33.0], [90.0, NAN]),
        question_active=True,
        roi_known=True,
        roi_area=0.25,
        confidence=np.array([0.5, 0.7, 0.9, 1.0, 1.0, 1.0]),
        question_asked_ms=120.0,
        sent_capture_ms=166.0,
    )


def report_2() -> FeedbackReport:
    send = [200.0 + 10.0 * k for k in range(15)]  # seq 5..19: 200 .. 340 ms
    owd = [40.0] * 15
    owd[9 - 5] = NAN  # seq 9 lost
    owd[14 - 5] = NAN  # seq 14 lost
    owd[-1] = 55.0  # seq 19: sent 340, arrives 395
    return FeedbackReport(
        now_ms=400.0,
        interval_ms=200.0,
        sent_bytes=15 * PKT_BYTES,
        packets=packets(5, send, owd),
        frames=frames(2, [200.0, 300.0], [270.0, 390.0]),
        question_active=False,
        roi_known=False,
        roi_area=0.3,  # stale area of an unknown region: the observation must show 0
        confidence=np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]),
    )


def report_3() -> FeedbackReport:
    return FeedbackReport(
        now_ms=600.0,
        interval_ms=200.0,
        sent_bytes=0,
        keyframe_request=True,
        question_asked_ms=550.0,
        sent_capture_ms=500.0,
    )


ACTION_1 = SenderAction(473.0, 2, 15.0)
ACTION_2 = SenderAction(697.0, 0, 30.0)
ACTION_3 = SenderAction(100.0, 3, 1.0)

# ---- interval 1 -------------------------------------------------------------------------------
GOLDEN_1 = np.zeros(OBS_DIM)
# 0 send rate: 6000 B * 8 / 200 ms = 240 kbps -> ln 2.4 / ln 40 = 0.875469 / 3.688879 = 0.237326
GOLDEN_1[0] = lr(240.0)
# 1 delivered: 4 x 1200 = 4800 B * 8 / 200 ms = 192 kbps -> ln 1.92 / ln 40 = 0.176836
GOLDEN_1[1] = lr(192.0)
# 2 last 1 s = 5 intervals of 200 ms: the mean of the history's first five log rates; the four
# before the first report are the history's initial 0 -> 0.176836 / 5 = 0.035367
GOLDEN_1[2] = lr(192.0) / 5.0
# 3 mean frame delay: only frame 0 was decodable, 90 - 0 = 90 ms -> 0.090
GOLDEN_1[3] = 0.090
# 4 trend: a single frame-delay point -> 0
GOLDEN_1[4] = 0.0
# 5 queueing: one-way delay of the last received packet (seq 4) 50 - minimum 30 = 20 ms
GOLDEN_1[5] = 0.020
# 6 RTT: report time 200 - send time of the last received packet 40 = 160 ms
GOLDEN_1[6] = 0.160
# 7 loss: 1 of 5
GOLDEN_1[7] = 0.2
# 8 previous bitrate 473 kbps: ln 4.73 / ln 40 = 1.553925 / 3.688879 = 0.421246
GOLDEN_1[8] = lr(473.0)
# 9 ROI level 2 / 3; 10: 15 / 30 fps
GOLDEN_1[9] = 2.0 / 3.0
GOLDEN_1[10] = 0.5
# 11, 12, 13: area 0.25, region known, question active
GOLDEN_1[11] = 0.25
GOLDEN_1[12] = 1.0
GOLDEN_1[13] = 1.0
# 14 saturation: first tier >= 0.8 is 610 kbps (0.9), the one below 400 kbps (0.7);
# frac = (0.8 - 0.7) / (0.9 - 0.7) = 0.5 -> exp(ln 400 + 0.5 ln(610/400)) = sqrt(400 * 610)
# = sqrt(244000) = 493.96 kbps -> ln 4.9396 / ln 40 = 0.433002
GOLDEN_1[14] = lr(math.sqrt(400.0 * 610.0))
# 15 time since keyframe: 1500 ms / 10 s = 0.15; 16: no keyframe request
GOLDEN_1[15] = 0.15
GOLDEN_1[16] = 0.0
# 17 GCC (start 300 kbps). Delay-based: 4 packets, each its own 5 ms group -> 2 group deltas,
# fewer than the trendline's 20 points, so the slope stays 0: NORMAL. AIMD hold -> increase
# with no time elapsed (+1 kbps floor): 301, if below 1.5 x acknowledged + 10. Acknowledged:
# 4800 B over min(500, max(200 - first arrival 30, 125)) = 170 ms = 225.88 kbps -> limit
# 348.8 > 300: AIMD 301. Loss-based: 5 packets < 20, no update: 300. Target min(301, 300) = 300
# -> ln 3 / ln 40 = 0.297817
GOLDEN_1[17] = lr(300.0)
# 18+k delivered history: this interval first, then the initial zeros
GOLDEN_1[18] = lr(192.0)
# 26+k frame-delay history
GOLDEN_1[26] = 0.090
# 34 question asked at 120 ms: (200 - 120) / 1000; 35 frame captured at 166 >= 120 encoded
GOLDEN_1[34] = 0.080
GOLDEN_1[35] = 1.0
# 36 in flight: 5 x 1200 sent, 5 x 1200 reported -> 0; 37 newest reported send 40 ms: 160 ms
GOLDEN_1[37] = 0.160
# 38 MLLM phase at 2 fps: 200 % 500 / 500
GOLDEN_1[38] = 0.4

# ---- interval 2 -------------------------------------------------------------------------------
GOLDEN_2 = np.zeros(OBS_DIM)
# 0 send rate: 18000 B * 8 / 200 = 720 kbps -> ln 7.2 / ln 40 = 0.535144
GOLDEN_2[0] = lr(720.0)
# 1 delivered: 13 x 1200 = 15600 B * 8 / 200 = 624 kbps -> ln 6.24 / ln 40 = 0.496351
GOLDEN_2[1] = lr(624.0)
# 2 (0.496351 + 0.176836 + 0 + 0 + 0) / 5 = 0.134637
GOLDEN_2[2] = (lr(624.0) + lr(192.0)) / 5.0
# 3 mean frame delay: (70 + 90) / 2 = 80 ms
GOLDEN_2[3] = 0.080
# 4 trend: points (200 ms, 90 ms) and (400 ms, 80 ms): slope -10 / 200 = -0.05 ms per ms
# = -50 ms/s -> / 1000 = -0.050
GOLDEN_2[4] = -0.050
# 5 queueing: last received (seq 19) 55 - minimum over both reports 30 = 25 ms
GOLDEN_2[5] = 0.025
# 6 RTT: 400 - 340 = 60 ms
GOLDEN_2[6] = 0.060
# 7 loss: 2 of 15 = 0.133333
GOLDEN_2[7] = 2.0 / 15.0
# 8 previous bitrate 697 kbps: ln 6.97 / ln 40 = 0.526343; 9: ROI 0; 10: 30 / 30
GOLDEN_2[8] = lr(697.0)
GOLDEN_2[9] = 0.0
GOLDEN_2[10] = 1.0
# 11, 12, 13: region unknown -> area 0 (not 0.3), known 0; no question
# 14 saturation: no tier reaches 0.8 -> top tier x (top / second) = 3150 * 3150 / 1710
# = 9922500 / 1710 = 5802.63 kbps -> ln 58.0263 / ln 40 = 4.060897 / 3.688879 = 1.100848
GOLDEN_2[14] = lr(3150.0 * 3150.0 / 1710.0)
# 15: 1700 ms -> 0.17; 16: no request
GOLDEN_2[15] = 0.17
# 17 GCC. Delay-based: 13 more group deltas, 15 in all < 20: slope 0, NORMAL, AIMD stays in
# increase. Acknowledged: (4800 + 15600) B = 20400 B, none older than 400 - 500 ms, over
# min(500, 400 - 30) = 370 ms -> 163200 / 370 = 441.08 kbps; limit 1.5 x 441.08 + 10 = 671.6.
# Multiplicative (no capacity estimate yet) over 200 ms since the last change at 200 ms:
# 301 x 1.08 ** 0.2 = 301 x 1.015511 = 305.67. Loss-based: 1 + 2 = 3 lost of 5 + 15 = 20
# reported (>= 20 packets): 15 % > 10 % and no earlier decrease -> 300 x (1 - 0.5 x 0.15)
# = 277.5. Target min(305.67, 277.5) = 277.5 -> ln 2.775 / ln 40 = 0.276683
GOLDEN_2[17] = lr(277.5)
GOLDEN_2[18] = lr(624.0)
GOLDEN_2[19] = lr(192.0)
GOLDEN_2[26] = 0.080
GOLDEN_2[27] = 0.090
# 34, 35: no question pending; 36: 15 x 1200 sent and reported; 37: 400 - 340; 38: 400 % 500
GOLDEN_2[37] = 0.060
GOLDEN_2[38] = 0.8

# ---- interval 3 -------------------------------------------------------------------------------
GOLDEN_3 = np.zeros(OBS_DIM)
# 0, 1: nothing sent or delivered: 0 kbps, floored at 10 kbps by log_rate -> ln 0.1 / ln 40
# = -2.302585 / 3.688879 = -0.624196
GOLDEN_3[0] = lr(10.0)
GOLDEN_3[1] = lr(10.0)
# 2 (-0.624196 + 0.496351 + 0.176836 + 0 + 0) / 5 = 0.048991 / 5 = 0.009798
GOLDEN_3[2] = (lr(10.0) + lr(624.0) + lr(192.0)) / 5.0
# 3..6 no new sample: frame delay 80 ms, trend -50 ms/s, queue 25 ms, RTT 60 ms kept
GOLDEN_3[3] = 0.080
GOLDEN_3[4] = -0.050
GOLDEN_3[5] = 0.025
GOLDEN_3[6] = 0.060
# 7 loss: the code reports 0 for a report without packets (the docstring's "keeps its last
# value" would give 2/15; see the report of this test folder)
GOLDEN_3[7] = 0.0
# 8 100 kbps -> 0; 9: 3 / 3; 10: 1 / 30
GOLDEN_3[8] = 0.0
GOLDEN_3[9] = 1.0
GOLDEN_3[10] = 1.0 / 30.0
# 11..13: 0. 14: confidence unknown -> 0. 15: 0 ms. 16: keyframe requested
GOLDEN_3[16] = 1.0
# 17 GCC: an empty report leaves the target at 277.5
GOLDEN_3[17] = lr(277.5)
GOLDEN_3[18] = lr(10.0)
GOLDEN_3[19] = lr(624.0)
GOLDEN_3[20] = lr(192.0)
GOLDEN_3[26] = 0.080  # the kept frame delay enters the history again
GOLDEN_3[27] = 0.080
GOLDEN_3[28] = 0.090
# 34 asked at 550: 50 ms; 35 newest frame encoded was captured at 500 < 550: not yet
GOLDEN_3[34] = 0.050
# 37 no report since the one covering the packet sent at 340: 600 - 340; 38 600 % 500 / 500
GOLDEN_3[37] = 0.260
GOLDEN_3[38] = 0.2


def run_three() -> list[np.ndarray]:
    builder = ObservationBuilder(200.0, observation_estimator())
    return [
        builder.update(report_1(), ACTION_1, 1500.0),
        builder.update(report_2(), ACTION_2, 1700.0),
        builder.update(report_3(), ACTION_3, 0.0),
    ]


@pytest.mark.parametrize("step", [0, 1, 2], ids=["interval1", "interval2", "interval3"])
@pytest.mark.parametrize("idx", range(OBS_DIM), ids=lambda i: FEATURE_NAMES[i])
def test_golden_vector_feature_by_feature(step: int, idx: int) -> None:
    obs = run_three()[step]
    expected = (GOLDEN_1, GOLDEN_2, GOLDEN_3)[step][idx]
    assert obs[idx] == pytest.approx(expected, abs=1e-6), FEATURE_NAMES[idx]


def test_golden_vectors_whole() -> None:
    obs = run_three()
    for got, want in zip(obs, (GOLDEN_1, GOLDEN_2, GOLDEN_3), strict=True):
        assert got.dtype == np.float32 and got.shape == (39,)
        np.testing.assert_allclose(got, want, rtol=0.0, atol=1e-6)


def test_reset_starts_over_including_gcc() -> None:
    builder = ObservationBuilder(200.0, observation_estimator())
    builder.update(report_1(), ACTION_1, 1500.0)
    builder.update(report_2(), ACTION_2, 1700.0)
    builder.reset()
    # the same first report must give interval 1's golden vector again: history, minimum
    # one-way delay, trend points, saturation cache and GCC (300 kbps, not 277.5) all reset
    np.testing.assert_allclose(
        builder.update(report_1(), ACTION_1, 1500.0), GOLDEN_1, rtol=0.0, atol=1e-6
    )


def test_saturation_feature_follows_each_new_confidence_table() -> None:
    builder = ObservationBuilder(200.0, observation_estimator())
    conf = np.array([0.9, 1.0, 1.0, 1.0, 1.0, 1.0])
    act = SenderAction(100.0, 0, 30.0)
    rep = FeedbackReport(now_ms=200.0, interval_ms=200.0, sent_bytes=0, confidence=conf)
    # first tier already >= 0.8: 200 kbps -> ln 2 / ln 40 = 0.187902
    assert builder.update(rep, act, 0.0)[14] == pytest.approx(lr(200.0), abs=1e-6)
    other = np.array([0.0, 0.0, 0.0, 0.0, 0.6, 1.0])
    rep2 = FeedbackReport(now_ms=400.0, interval_ms=200.0, sent_bytes=0, confidence=other)
    # 1710 (0.6) .. 3150 (1.0): frac 0.5 -> sqrt(1710 * 3150) = 2320.9 kbps -> 0.852436
    assert builder.update(rep2, act, 0.0)[14] == pytest.approx(
        lr(math.sqrt(1710.0 * 3150.0)), abs=1e-6
    )


# Frame-delay trend: frames only (no packets), one decodable frame per 200 ms interval.
# Points (t, delay ms); the slope is least squares over the last five points, in ms per s, / 1000.
#   t=200 (10):              one point -> 0
#   t=400 (30):              (30 - 10) / 200 = 0.1 ms/ms = 100 ms/s -> 0.100
#   t=600 (20):              t mean 400, d mean 20; dt -200, 0, 200; dd -10, 10, 0
#                            num 2000, den 80000 -> 0.025 ms/ms -> 0.025
#   t=800 (40):              t mean 500, d mean 25; dt -300 -100 100 300; dd -15 5 -5 15
#                            num 4500 - 500 - 500 + 4500 = 8000, den 200000 -> 0.040
#   t=1000 (60):             t mean 600, d mean 32; dt -400 -200 0 200 400; dd -22 -2 -12 8 28
#                            num 8800 + 400 + 0 + 1600 + 11200 = 22000, den 400000 -> 0.055
#   t=1200 (50):             the point at 200 leaves: t mean 800, d mean 40; dd -10 -20 0 20 10
#                            num 4000 + 4000 + 0 + 4000 + 4000 = 16000, den 400000 -> 0.040
#                            (with all six points it would be 31000 / 700000 = 0.044286)
TREND_DELAYS = [10.0, 30.0, 20.0, 40.0, 60.0, 50.0]
TREND_GOLDEN = [0.0, 0.100, 0.025, 0.040, 0.055, 0.040]


def frame_only(now_ms: float, delay_ms: float | None) -> FeedbackReport:
    if delay_ms is None:
        fr = FrameReports()
    else:
        # capture 100 ms before the report; a second, undecodable frame is ignored by the mean
        fr = frames(int(now_ms), [now_ms - 100.0, now_ms - 50.0], [now_ms - 100.0 + delay_ms, NAN])
    return FeedbackReport(now_ms=now_ms, interval_ms=200.0, sent_bytes=0, frames=fr)


def test_frame_delay_trend_least_squares_over_five_points() -> None:
    builder = ObservationBuilder(200.0, observation_estimator())
    act = SenderAction(100.0, 0, 30.0)
    for k, (delay, trend) in enumerate(zip(TREND_DELAYS, TREND_GOLDEN, strict=True)):
        obs = builder.update(frame_only(200.0 * (k + 1), delay), act, 0.0)
        assert obs[3] == pytest.approx(delay / 1000.0, abs=1e-6)
        assert obs[4] == pytest.approx(trend, abs=1e-6), k
    # 26+k: the last eight frame delays, newest first (two initial zeros at the end)
    np.testing.assert_allclose(
        obs[26:34], [0.050, 0.060, 0.040, 0.020, 0.030, 0.010, 0.0, 0.0], rtol=0, atol=1e-6
    )


def test_frame_delay_trend_window_counts_samples_not_seconds() -> None:
    """After two intervals without frames the window still holds five *samples* (code), not the
    docstring's "last 1 s". Points after t=1200: (1400 none), (1600 none), (1800, 50).
    Code, last five points (600, 20) (800, 40) (1000, 60) (1200, 50) (1800, 50):
      t mean 5400 / 5 = 1080, d mean 270 / 5 = 54; dt -480 -280 -80 120 720; dd -34 -14 6 -4 -4
      num 16320 + 3920 - 480 - 480 - 2880 = 16400; den 230400 + 78400 + 6400 + 14400 + 518400
      = 848000 -> 0.0193396 ms/ms -> 0.0193396.
    (The docstring's last 1 s, [800, 1800]: num 2000, den 560000 -> 0.0035714.)
    """
    builder = ObservationBuilder(200.0, observation_estimator())
    act = SenderAction(100.0, 0, 30.0)
    for k, delay in enumerate(TREND_DELAYS):
        builder.update(frame_only(200.0 * (k + 1), delay), act, 0.0)
    for now in (1400.0, 1600.0):  # no frame: delay and trend keep their values
        obs = builder.update(frame_only(now, None), act, 0.0)
        assert obs[3] == pytest.approx(0.050, abs=1e-6)
        assert obs[4] == pytest.approx(0.040, abs=1e-6)
    obs = builder.update(frame_only(1800.0, 50.0), act, 0.0)
    assert obs[4] == pytest.approx(16400.0 / 848000.0, abs=1e-6)


@pytest.mark.parametrize(
    ("interval_ms", "n_bytes", "expected"),
    [
        # 1000 ms: one interval is the last second: 25000 B * 8 / 1000 = 200 kbps -> 0.187902
        (1000.0, 25_000, lr(200.0)),
        # 100 ms: round(1000 / 100) = 10 intervals, but only 8 are kept: 1000 B * 8 / 100 = 80
        # kbps -> ln 0.8 / ln 40 = -0.060491, / 8 = -0.0075614 (the code averages 800 ms)
        (100.0, 1000, lr(80.0) / 8.0),
    ],
)
def test_delivered_last_second_depends_on_the_interval(
    interval_ms: float, n_bytes: int, expected: float
) -> None:
    pk = PacketReports(
        seq=np.array([0]),
        send_ms=np.array([0.0]),
        arrival_ms=np.array([20.0]),
        size_bytes=np.array([n_bytes]),
    )
    rep = FeedbackReport(
        now_ms=interval_ms, interval_ms=interval_ms, sent_bytes=n_bytes, packets=pk
    )
    obs = ObservationBuilder(interval_ms, observation_estimator()).update(
        rep, SenderAction(100.0, 0, 30.0), 0.0
    )
    assert obs[2] == pytest.approx(expected, abs=1e-6)


def test_values_beyond_the_bounds_are_clipped() -> None:
    pk = PacketReports(
        seq=np.array([0, 1]),
        send_ms=np.array([0.0, 1.0]),
        arrival_ms=np.array([10.0, 7001.0]),  # one-way delays 10 and 7000 ms
        size_bytes=np.array([500_000, 500_000]),
    )
    rep = FeedbackReport(
        now_ms=9000.0,
        interval_ms=200.0,
        sent_bytes=1_000_000,  # 40000 kbps: lr = ln 400 / ln 40 = 1.624196 (inside [-1, 2])
        packets=pk,
        frames=frames(0, [0.0], [8000.0]),  # 8000 ms frame delay -> 8 -> clipped to 5
    )
    obs = ObservationBuilder(200.0, observation_estimator()).update(
        rep, SenderAction(4000.0, 3, 30.0), 60_000.0
    )
    assert obs[0] == pytest.approx(lr(40_000.0), abs=1e-6)  # 1.624196, not clipped
    assert obs[3] == 5.0  # 8.0 clipped
    assert obs[5] == 5.0  # queue 7000 - 10 = 6990 ms -> 6.99 clipped
    assert obs[6] == 5.0  # RTT 9000 - 1 = 8999 ms -> 8.999 clipped
    assert obs[8] == pytest.approx(1.0, abs=1e-6)  # 4000 kbps: ln 40 / ln 40
    assert obs[15] == 1.0  # 60 s since the keyframe: 6 clipped to 1
    assert obs[26] == 5.0


def test_docstring_table_matches_bounds_and_dimension() -> None:
    """The bounds column of the module docstring's table, typed in by hand, against OBS_LOW/HIGH."""
    #      idx: 0   1   2  3   4  5  6  7   8  9 10 11 12 13  14 15 16  17
    low = [-1, -1, -1, 0, -5, 0, 0, 0, -1, 0, 0, 0, 0, 0, -1, 0, 0, -1] + [-1] * 8 + [0] * 8
    high = [2, 2, 2, 5, 5, 5, 5, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1, 2] + [2] * 8 + [5] * 8
    low += [0, 0, 0, 0, 0]  # 34..38
    high += [5, 1, 10, 5, 1]
    assert OBS_DIM == 18 + 8 + 8 + 5 == 39
    assert OBS_LOW.tolist() == low
    assert OBS_HIGH.tolist() == high
    space = observation_space()
    assert space.shape == (39,) and space.dtype == np.float32
    assert len(FEATURE_NAMES) == 39
    assert FEATURE_NAMES[17] == "gcc_rate" and FEATURE_NAMES[26] == "frame_delay_t-0"
    assert FEATURE_NAMES[34] == "question_age" and FEATURE_NAMES[38] == "mllm_phase"
    for obs in run_three():
        assert space.contains(obs)


def test_bytes_in_flight_count_what_no_report_covered_yet() -> None:
    builder = ObservationBuilder(200.0, observation_estimator())
    act = SenderAction(100.0, 0, 30.0)
    # 3 packets sent, the report covers 1 (delivered): 2 x 1200 B in flight = 2.4 kB -> 0.024
    first = FeedbackReport(
        now_ms=200.0, interval_ms=200.0, sent_bytes=3 * PKT_BYTES, packets=packets(0, [0.0], [30.0])
    )
    assert builder.update(first, act, 0.0)[36] == pytest.approx(0.024, abs=1e-6)
    # the next report covers the other two, one of them lost: nothing in flight
    second = FeedbackReport(
        now_ms=400.0,
        interval_ms=200.0,
        sent_bytes=0,
        packets=packets(1, [10.0, 20.0], [NAN, 30.0]),
    )
    assert builder.update(second, act, 0.0)[36] == 0.0
