"""The compiled observation equals the reference bit for bit (``ObservationBuilder(backend=...)``).

The same reports go through both backends (each with its own GCC of the same backend); every
vector must be the same float32 bytes, never approximately: hand-built reports (the golden
scenario of ``test_sender_observation``), random ones with lost, reordered and missing packets,
undecodable frames, questions and confidence tables, over several intervals and resets; the
kernel's clip against ``np.clip``; its ``** 2`` against CPython's where ``x * x`` differs.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from artic_rl.control.gcc import observation_estimator
from artic_rl.sender.actions import SenderAction
from artic_rl.sender.feedback import FeedbackReport, FrameReports, PacketReports
from artic_rl.sender.observation import OBS_DIM, OBS_HIGH, OBS_LOW, ObservationBuilder

pytest.importorskip("numba")
from artic_rl.sender import _observation_kernels as kernels  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from test_sender_observation import (  # noqa: E402
    ACTION_1,
    ACTION_2,
    ACTION_3,
    report_1,
    report_2,
    report_3,
)


def builders(
    interval_ms: float = 200.0, mllm_fps: float = 2.0
) -> tuple[ObservationBuilder, ObservationBuilder]:
    return (
        ObservationBuilder(interval_ms, observation_estimator(), mllm_fps),
        ObservationBuilder(
            interval_ms, observation_estimator("compiled"), mllm_fps, backend="compiled"
        ),
    )


def test_the_golden_scenario_equals_the_reference() -> None:
    ref, fast = builders()
    for report, action, since_kf in (
        (report_1(), ACTION_1, 1500.0),
        (report_2(), ACTION_2, 1700.0),
        (report_3(), ACTION_3, 0.0),
    ):
        a, b = ref.update(report, action, since_kf), fast.update(report, action, since_kf)
        assert b.dtype == np.float32 and b.shape == (OBS_DIM,)
        assert a.tobytes() == b.tobytes()


def random_report(
    rng: np.random.Generator, now_ms: float, interval_ms: float, tables: list[np.ndarray]
) -> FeedbackReport:
    """One interval's report with everything a report can hold, drawn at random."""
    n = int(rng.choice([0, 1, int(rng.integers(2, 60)), int(rng.integers(200, 400))]))
    send = now_ms - interval_ms - 100.0 + np.sort(rng.uniform(0.0, interval_ms, n))
    arrival = send + 20.0 + rng.exponential(rng.choice([0.5, 30.0, 3000.0]), n)
    arrival[rng.random(n) < rng.choice([0.0, 0.1, 1.0])] = np.nan  # lost, or all lost
    for i in rng.integers(0, max(n - 1, 1), n // 8 if n > 1 else 0):
        arrival[[i, i + 1]] = arrival[[i + 1, i]]
    m = int(rng.integers(0, 6))
    capture = now_ms - 300.0 + np.sort(rng.uniform(0.0, 300.0, m))
    decodable = capture + rng.exponential(rng.choice([20.0, 9000.0]), m)
    decodable[rng.random(m) < 0.3] = np.nan  # never decodable
    asked = math.nan if rng.random() < 0.4 else now_ms - float(rng.uniform(0.0, 8000.0))
    roll = rng.random()
    confidence = None if roll < 0.3 else tables[int(roll * 10) % len(tables)]
    if rng.random() < 0.05:
        confidence = np.array(rng.random(6))  # a new table, never seen
    return FeedbackReport(
        now_ms=now_ms,
        interval_ms=interval_ms,
        sent_bytes=int(rng.integers(0, 2_000_000)) if rng.random() < 0.9 else 0,
        packets=PacketReports(
            np.arange(n, dtype=np.int64), send, arrival, rng.integers(40, 1241, n)
        ),
        frames=FrameReports(np.arange(m, dtype=np.int64), capture, decodable),
        keyframe_request=bool(rng.random() < 0.1),
        question_active=bool(rng.random() < 0.5),
        roi_known=bool(rng.random() < 0.5),
        roi_area=float(rng.random()),
        confidence=confidence,
        question_asked_ms=asked,
        sent_capture_ms=now_ms - float(rng.uniform(0.0, 9000.0))
        if rng.random() < 0.9
        else math.nan,
    )


def state(builder: ObservationBuilder) -> tuple[object, ...]:
    """What a builder carries from one interval to the next, as float64 (finer than the
    float32 vector); the compiled backend's from its arrays."""
    if builder.backend == "python":
        return (
            builder._min_owd_ms,
            builder._queue_ms,
            builder._rtt_ms,
            builder._frame_delay_ms,
            builder._newest_send_ms,
            builder._unreported_bytes,
            list(builder._delivered),
            list(builder._frame_delay),
            list(builder._trend_pts),
        )
    k, values = kernels, builder._values.tolist()
    n = int(builder._counts[k.TREND_POINTS])
    return (
        values[k.MIN_OWD_MS],
        values[k.QUEUE_MS],
        values[k.RTT_MS],
        values[k.FRAME_DELAY_MS],
        values[k.NEWEST_SEND_MS],
        int(builder._counts[k.UNREPORTED_BYTES]),
        builder._delivered_arr.tolist(),
        builder._frame_delay_arr.tolist(),
        list(map(tuple, builder._trend_arr[:n].tolist())),
    )


@pytest.mark.parametrize(("interval_ms", "mllm_fps"), [(200.0, 2.0), (50.0, 3.0), (1000.0, 0.7)])
def test_random_reports_equal_the_reference(interval_ms: float, mllm_fps: float) -> None:
    rng = np.random.default_rng(int(interval_ms))
    tables = [np.array(rng.random(6)) for _ in range(3)]  # re-sent as the same objects
    ref, fast = builders(interval_ms, mllm_fps)
    now = 0.0
    for k in range(1500):
        now += interval_ms
        report = random_report(rng, now, interval_ms, tables)
        action = SenderAction(
            float(rng.choice([50.0, 100.0, 473.0, 4000.0, 32_000.0])),
            int(rng.integers(0, 4)),
            float(rng.choice([1.0, 15.0, 30.0])),
        )
        since_kf = float(rng.uniform(0.0, 20_000.0))
        a, b = ref.update(report, action, since_kf), fast.update(report, action, since_kf)
        assert a.tobytes() == b.tobytes(), (k, np.flatnonzero(a != b))
        assert state(ref) == state(fast), k
        if k % 500 == 499:
            ref.reset()
            fast.reset()
            assert state(ref) == state(fast)


def test_the_clip_is_numpys() -> None:
    # np.clip with array bounds (the reference's): NaN stays NaN, -0.0 at a bound of 0 becomes
    # 0.0, a value at a bound is the bound
    specials = [-0.0, 0.0, math.nan, math.inf, -math.inf, 1e-46, -1e-46, 1e39, -1.0, 2.0, 5.0]
    for value in specials:
        for i in (0, 4, 7, 36):
            out = np.zeros(OBS_DIM, dtype=np.float32)
            kernels.put(out, np.stack([OBS_LOW, OBS_HIGH]), i, value)
            with np.errstate(over="ignore"):  # 1e39 is inf as a float32
                ref = np.full(OBS_DIM, value, dtype=np.float32)
            ref.clip(OBS_LOW, OBS_HIGH, out=ref)
            assert out[i : i + 1].tobytes() == ref[i : i + 1].tobytes(), (value, i)


def test_the_trend_squares_as_cpython_does() -> None:
    # (t - t_mean) ** 2 is libm's pow in CPython, which differs from (t - t_mean) * (t - t_mean)
    # in the last bit for some t: the kernel must give the reference's slope for those too
    rng = np.random.default_rng(3)
    differs = 0
    for _ in range(3000):
        points = np.column_stack([np.cumsum(rng.uniform(1.0, 300.0, 5)), rng.uniform(0, 500, 5)])
        t_mean = sum(points[:, 0].tolist()) / 5
        differs += any((t - t_mean) ** 2 != (t - t_mean) * (t - t_mean) for t in points[:, 0])
        ref, fast = builders()
        for t, d in points.tolist():  # one frame per report: a trend point each
            report = FeedbackReport(
                now_ms=t,
                interval_ms=200.0,
                sent_bytes=0,
                frames=FrameReports(np.array([0]), np.array([t - d]), np.array([t])),
            )
            action = SenderAction(100.0, 0, 30.0)
            a, b = ref.update(report, action, 0.0), fast.update(report, action, 0.0)
        assert ref._trend_per_s() == kernels.trend_per_s(
            fast._counts, fast._trend_arr, fast._params
        )
        assert a.tobytes() == b.tobytes()
    assert differs > 0  # the inputs did reach squares where pow and x * x disagree
