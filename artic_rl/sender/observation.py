"""The observation a real sender can build from its own feedback: one implementation for the
simulator and the runtime streamer.

===  ===============================  ======  =================================================  ===========
idx  feature                          unit    normalisation                                      bounds
===  ===============================  ======  =================================================  ===========
0    sending rate, last interval      kbps    ``log_rate`` = ln(max(kbps, 10) / 100) / ln(40)    [-1, 2]
1    delivered throughput, interval   kbps    ``log_rate``                                       [-1, 2]
2    delivered throughput, last 1 s   kbps    mean of feature 1 over the last 1 s (<= 8 steps)   [-1, 2]
3    mean frame delay                 ms      / 1000                                             [0, 5]
4    frame delay trend                ms/s    / 1000, least squares over the last 5 samples      [-5, 5]
5    queueing delay estimate          ms      (one-way delay - its minimum) / 1000               [0, 5]
6    round-trip time of last report   ms      / 1000                                             [0, 5]
7    packet loss, interval            -       fraction (0 when no packet was reported)           [0, 1]
8    previous bitrate                 kbps    ``log_rate``                                       [-1, 2]
9    previous ROI level               -       / max level                                        [0, 1]
10   previous frame rate              fps     / 30                                               [0, 1]
11   region area (cloud prediction)   -       fraction of the frame, 0 when unknown              [0, 1]
12   region known                     -       0 / 1                                              [0, 1]
13   question active                  -       0 / 1                                              [0, 1]
14   saturation bitrate               kbps    ``log_rate`` of confidence >= 0.8, 0 when unknown  [-1, 2]
15   time since keyframe              s       / 10                                               [0, 1]
16   keyframe requested               -       0 / 1                                              [0, 1]
17   GCC's target rate                kbps    ``log_rate`` of WebRTC GCC run on the same feedback  [-1, 2]
18+k delivered throughput, k steps ago kbps   ``log_rate``, k = 0..7                              [-1, 2]
26+k mean frame delay, k steps ago    ms      / 1000, k = 0..7                                    [0, 5]
34   time since the question was asked s      0 when no question awaits its answer               [0, 5]
35   answering frame sent             -       0 / 1: a frame captured at or after it was encoded [0, 1]
36   bytes in flight                  kB      (bytes sent - bytes reported) / 100 kB             [0, 10]
37   time since the newest feedback   s       now - send time of the newest reported packet      [0, 5]
38   MLLM sampling phase              -       time since its last sampling instant / its period  [0, 1]
===  ===============================  ======  =================================================  ===========

The delay features (3-6) keep their last value when an interval brings no new sample (a real
sender cannot tell "no frame arrived" from "the report is late", except through those features
themselves); the throughput and loss features (1, 2, 7) read an empty interval as zero delivered
and zero lost. ``log_rate`` floors rates at 10 kbps, so an empty interval reads -0.624. Feature 2
averages feature 1's log rates over the last second (a geometric mean; 8 steps at most, the
history's length), starting from a history of 0 (100 kbps).

Features 34-38 say where the pending question stands and what the queue holds when feedback
stops. The phone hears the question (34: ``FeedbackReport.question_asked_ms``); the question is
answered by the first frame captured at or after it, so 35 compares that time with the newest
frame the sender has encoded (``sent_capture_ms``). 36 counts bytes sent but not yet reported
(delivered or lost): it keeps growing through an outage, where the delay features freeze. 37 is
the age of the newest packet any report has covered, so it too grows while reports stop. 38 is
the MLLM's phase: it samples at ``mllm_fps`` from the start of the stream.

Feature 17 is learning-augmented, in the spirit of Orca (Abbasloo et al., SIGCOMM 2020): the
estimate of a classical controller (WebRTC GCC, :class:`artic_rl.control.gcc.GccController`) run on the
very same feedback, so the policy can refine a congestion controller rather than rediscover one.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from itertools import islice
from types import ModuleType
from typing import Protocol

import numpy as np
from gymnasium import spaces

from artic_rl.backend import check_backend
from artic_rl.sender.actions import FPS_CHOICES, MAX_RATE_KBPS, MIN_RATE_KBPS, SenderAction
from artic_rl.sender.feedback import CONFIDENCE_TIERS_KBPS, FeedbackReport, PacketReports

HISTORY = 8
N_EXTRA = 5
OBS_DIM = 18 + 2 * HISTORY + N_EXTRA
SATURATION_CONFIDENCE = 0.8
MAX_ROI_LEVEL = 3.0  # feature 9's scale
_LOG_SPAN = math.log(MAX_RATE_KBPS / MIN_RATE_KBPS)
_TREND_WINDOW = 5  # control intervals in the delay-trend regression

OBS_LOW = np.array(
    [-1, -1, -1, 0, -5, 0, 0, 0, -1, 0, 0, 0, 0, 0, -1, 0, 0, -1]
    + [-1] * HISTORY
    + [0] * HISTORY
    + [0, 0, 0, 0, 0],
    dtype=np.float32,
)
OBS_HIGH = np.array(
    [2, 2, 2, 5, 5, 5, 5, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1, 2]
    + [2] * HISTORY
    + [5] * HISTORY
    + [5, 1, 10, 5, 1],
    dtype=np.float32,
)
FEATURE_NAMES: tuple[str, ...] = (
    "send_rate",
    "delivered_rate",
    "delivered_rate_1s",
    "frame_delay",
    "frame_delay_trend",
    "queue_delay",
    "rtt",
    "loss",
    "prev_rate",
    "prev_roi_level",
    "prev_fps",
    "roi_area",
    "roi_known",
    "question_active",
    "saturation_rate",
    "since_keyframe",
    "keyframe_request",
    "gcc_rate",
    *(f"delivered_rate_t-{k}" for k in range(HISTORY)),
    *(f"frame_delay_t-{k}" for k in range(HISTORY)),
    "question_age",
    "answer_frame_sent",
    "bytes_in_flight",
    "since_feedback",
    "mllm_phase",
)


def log_rate(rate_kbps: float) -> float:
    """ln(rate / 100 kbps) / ln(40): 0 at 100 kbps, 1 at 4 Mbps."""
    return math.log(max(rate_kbps, 10.0) / MIN_RATE_KBPS) / _LOG_SPAN


def saturation_kbps(
    confidence: np.ndarray, tiers_kbps: tuple[float, ...] = CONFIDENCE_TIERS_KBPS
) -> float:
    """Lowest bitrate whose confidence reaches 0.8, interpolated in log-rate between tiers.

    Returns one tier step (x 1.84, the ratio of the two top tiers) above the top tier when no tier reaches it.
    """
    conf = np.asarray(confidence, dtype=np.float64)
    above = np.flatnonzero(conf >= SATURATION_CONFIDENCE)
    if above.size == 0:
        return tiers_kbps[-1] * tiers_kbps[-1] / tiers_kbps[-2]
    i = int(above[0])
    if i == 0:
        return tiers_kbps[0]
    c0, c1 = conf[i - 1], conf[i]
    frac = (SATURATION_CONFIDENCE - c0) / (c1 - c0)
    return float(
        math.exp(math.log(tiers_kbps[i - 1]) + frac * math.log(tiers_kbps[i] / tiers_kbps[i - 1]))
    )


def observation_space() -> spaces.Box:
    return spaces.Box(OBS_LOW, OBS_HIGH, dtype=np.float32)


class RateEstimator(Protocol):
    """A congestion controller run on the feedback for the observation's rate-estimate feature
    (:func:`artic_rl.control.gcc.observation_estimator`: GCC), injected so that the sender layer
    does not depend on the controllers built on it."""

    def reset(self) -> None: ...

    def on_feedback(self, packets: PacketReports, now_ms: float) -> float: ...


class ObservationBuilder:
    """Turns each interval's :class:`FeedbackReport` into the normalised observation vector.

    Args:
        interval_ms: the control interval.
        estimator: the rate estimate of feature 17 (:func:`artic_rl.control.gcc.observation_estimator`).
        mllm_fps: the MLLM's sampling rate (feature 38).
        backend: ``"python"`` (the code below, the reference) or ``"compiled"`` (the same rules as
            one kernel call per interval, :func:`artic_rl.sender._observation_kernels.observe`:
            the same vector, bit for bit). The estimator has its own backend.
    """

    def __init__(
        self,
        interval_ms: float,
        estimator: RateEstimator,
        mllm_fps: float = 2.0,
        backend: str = "python",
    ) -> None:
        self.interval_ms = interval_ms
        self.mllm_period_ms = 1000.0 / mllm_fps
        self._recent = round(1000.0 / interval_ms) or 1  # intervals in the last second
        self._gcc = estimator
        self.backend = check_backend(backend)
        self._kernels = _compiled_kernels() if self.backend == "compiled" else None
        self.reset()

    def reset(self) -> None:
        self._gcc.reset()
        self._delivered: deque[float] = deque([0.0] * HISTORY, maxlen=HISTORY)
        self._frame_delay: deque[float] = deque([0.0] * HISTORY, maxlen=HISTORY)
        self._trend_pts: deque[tuple[float, float]] = deque(maxlen=_TREND_WINDOW)
        self._trend: float | None = None  # slope of _trend_pts, None: not computed yet
        self._min_owd_ms = math.inf
        self._queue_ms = 0.0
        self._rtt_ms = 0.0
        self._frame_delay_ms = 0.0
        self._conf_obj: np.ndarray | None = None
        self._sat = 0.0
        self._unreported_bytes = 0  # sent minus covered by packet reports
        self._newest_send_ms = 0.0  # send time of the newest packet a report covered
        if self._kernels is not None:
            self._reset_arrays(self._kernels)

    def _reset_arrays(self, k: ModuleType) -> None:
        """The compiled backend's state: the attributes above as arrays (see _observation_kernels)."""
        self._values = np.zeros(k.N_VALUES, dtype=np.float64)
        self._values[k.MIN_OWD_MS] = self._min_owd_ms
        self._values[k.QUEUE_MS] = self._queue_ms
        self._values[k.RTT_MS] = self._rtt_ms
        self._values[k.FRAME_DELAY_MS] = self._frame_delay_ms
        self._values[k.NEWEST_SEND_MS] = self._newest_send_ms
        self._counts = np.zeros(k.N_COUNTS, dtype=np.int64)
        self._counts[k.UNREPORTED_BYTES] = self._unreported_bytes
        self._delivered_arr = np.array(self._delivered, dtype=np.float64)
        self._frame_delay_arr = np.array(self._frame_delay, dtype=np.float64)
        self._trend_arr = np.zeros((_TREND_WINDOW, 2), dtype=np.float64)
        self._params = k.observation_params(
            MIN_RATE_KBPS,
            _LOG_SPAN,
            self._recent,
            FPS_CHOICES[-1],
            MAX_ROI_LEVEL,
            self.mllm_period_ms,
        )
        self._bounds = np.stack([OBS_LOW, OBS_HIGH])

    def update(
        self, report: FeedbackReport, last_action: SenderAction, since_keyframe_ms: float
    ) -> np.ndarray:
        """Absorb one interval's feedback and return the observation (float32, within bounds)."""
        if self._kernels is not None:
            return self._update_compiled(self._kernels, report, last_action, since_keyframe_ms)
        pk = report.packets
        loss = 0.0
        delivered_kbps = 0.0
        n_pk = len(pk)
        self._unreported_bytes += report.sent_bytes
        if n_pk:
            self._unreported_bytes -= int(pk.size_bytes.sum())
            self._newest_send_ms = max(self._newest_send_ms, float(pk.send_ms.max()))
            _, send, size, owd = pk.delivered
            n_ok = len(send)
            loss = 1.0 - n_ok / n_pk
            if n_ok:
                delivered_kbps = float(sum(size)) * 8.0 / report.interval_ms
                self._min_owd_ms = min(self._min_owd_ms, min(owd))
                self._queue_ms = owd[-1] - self._min_owd_ms
                self._rtt_ms = report.now_ms - float(send[-1])
        fr = report.frames
        if len(fr):
            delays = [d for d in (fr.decodable_ms - fr.capture_ms).tolist() if d == d]
            if delays:
                self._frame_delay_ms = _sum(delays) / len(delays)
                self._trend_pts.append((report.now_ms, self._frame_delay_ms))
                self._trend = None
        self._delivered.appendleft(log_rate(delivered_kbps))
        self._frame_delay.appendleft(self._frame_delay_ms / 1000.0)
        self._saturation(report)
        obs = np.array(
            [
                log_rate(report.sent_bytes * 8.0 / report.interval_ms),
                log_rate(delivered_kbps),
                _sum(islice(self._delivered, self._recent)) / min(self._recent, HISTORY),
                self._frame_delay_ms / 1000.0,
                self._trend_per_s() / 1000.0,
                self._queue_ms / 1000.0,
                self._rtt_ms / 1000.0,
                loss,
                log_rate(last_action.rate_kbps),
                last_action.roi_level / MAX_ROI_LEVEL,
                last_action.fps / FPS_CHOICES[-1],
                report.roi_area if report.roi_known else 0.0,
                float(report.roi_known),
                float(report.question_active),
                self._sat,
                since_keyframe_ms / 10_000.0,
                float(report.keyframe_request),
                log_rate(self._gcc.on_feedback(report.packets, report.now_ms)),
                *self._delivered,
                *self._frame_delay,
                *self._question_features(report),
                max(self._unreported_bytes, 0) / 100_000.0,
                (report.now_ms - self._newest_send_ms) / 1000.0,
                (report.now_ms % self.mllm_period_ms) / self.mllm_period_ms,
            ],
            dtype=np.float32,
        )
        obs.clip(OBS_LOW, OBS_HIGH, out=obs)
        return obs

    def _saturation(self, report: FeedbackReport) -> None:
        """Feature 14, worked out again only for a new confidence table (the cloud re-sends the
        same table per question)."""
        if report.confidence is not self._conf_obj:
            self._conf_obj = report.confidence
            self._sat = (
                0.0 if report.confidence is None else log_rate(saturation_kbps(report.confidence))
            )

    def _update_compiled(
        self,
        k: ModuleType,
        report: FeedbackReport,
        last_action: SenderAction,
        since_keyframe_ms: float,
    ) -> np.ndarray:
        """:meth:`update` as one kernel call (after the estimator's own)."""
        if report.confidence is not self._conf_obj:
            self._saturation(report)
        pk, fr = report.packets, report.frames
        obs = np.empty(OBS_DIM, dtype=np.float32)
        k.observe(
            self._values,
            self._counts,
            self._delivered_arr,
            self._frame_delay_arr,
            self._trend_arr,
            self._params,
            pk.send_ms,
            pk.arrival_ms,
            pk.size_bytes,
            fr.capture_ms,
            fr.decodable_ms,
            report.now_ms,
            report.interval_ms,
            report.sent_bytes,
            last_action.rate_kbps,
            last_action.roi_level,
            last_action.fps,
            report.roi_area,
            report.roi_known,
            report.question_active,
            report.keyframe_request,
            report.question_asked_ms,
            report.sent_capture_ms,
            self._sat,
            since_keyframe_ms,
            self._gcc.on_feedback(pk, report.now_ms),
            self._bounds,
            obs,
        )
        return obs

    @staticmethod
    def _question_features(report: FeedbackReport) -> tuple[float, float]:
        """Seconds since the pending question was asked; whether a frame answering it was encoded."""
        asked = report.question_asked_ms
        if asked != asked:  # NaN: no question awaits its answer
            return 0.0, 0.0
        return (report.now_ms - asked) / 1000.0, float(report.sent_capture_ms >= asked)

    def _trend_per_s(self) -> float:
        """Least-squares slope of frame delay against time over the last few intervals (ms per s)."""
        n = len(self._trend_pts)
        if n < 2:
            return 0.0
        if self._trend is None:  # recomputed only when a point came in
            t_mean = _sum(p[0] for p in self._trend_pts) / n
            d_mean = _sum(p[1] for p in self._trend_pts) / n
            num = _sum((t - t_mean) * (d - d_mean) for t, d in self._trend_pts)
            den = _sum((t - t_mean) ** 2 for t, _ in self._trend_pts)
            self._trend = 0.0 if den == 0.0 else 1000.0 * num / den
        return self._trend


def _sum(values: Iterable[float]) -> float:
    """The plain float sum, in order (``sum()`` of floats is compensated from Python 3.12 on; the
    compiled kernel's sums are plain on every version)."""
    total = 0.0
    for v in values:
        total += v
    return total


def _compiled_kernels() -> ModuleType:
    """The compiled backend's kernel (imported on demand: numba is an optional dependency)."""
    from artic_rl.sender import _observation_kernels

    return _observation_kernels
