"""Compiled kernel of the observation (:class:`~artic_rl.sender.observation.ObservationBuilder`).

:func:`observe` is the reference's ``update`` restated over arrays, statement for statement and
in the same floating-point order, so that it returns the very same float32 vector (the tests
compare both backends bit for bit): no ``fastmath``, sums are plain sums in order, ``** 2`` is
libm's ``pow`` as in CPython (its exponent comes in as data, so that LLVM does not turn it into
``x * x``, which differs in the last bit for about one value in a thousand), and the bounds are
applied as ``np.clip`` does. numba compiles it on first use and caches the machine code beside
this file; the cache is keyed on this file only, so the reference module's constants come in as
arguments (``params``), never as globals. Its helpers are inlined (``inline="always"``): a
call between compiled functions costs more than what they do. It allocates nothing, so it is
compiled without numba's reference counting (``_nrt=False``): a call then takes its dozen arrays as
plain views, where the counting would wrap each in a new reference-counted record (about half
the call's cost).

The builder's state lives in arrays, indexed by the constants below:

- ``values[MIN_OWD_MS ...]`` (float64) and ``counts[UNREPORTED_BYTES | TREND_POINTS]`` (int64);
- ``delivered`` and ``frame_delay``: the last ``HISTORY`` features 1 and 3 (/ 1000), newest first;
- ``trend``: the delay-trend points ``(now_ms, frame_delay_ms)``, oldest first,
  ``counts[TREND_POINTS]`` of them.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from artic_rl.backend import kernel

# ObservationBuilder.values
MIN_OWD_MS, QUEUE_MS, RTT_MS, FRAME_DELAY_MS, NEWEST_SEND_MS = 0, 1, 2, 3, 4
N_VALUES = 5
# ObservationBuilder.counts
UNREPORTED_BYTES, TREND_POINTS = 0, 1
N_COUNTS = 2
# ObservationBuilder.params: its constants, in the order of observation_params()
MIN_RATE_KBPS, LOG_SPAN, RECENT, MAX_FPS, MAX_ROI_LEVEL, MLLM_PERIOD_MS, SQUARE = range(7)
N_PARAMS = 7


def observation_params(
    min_rate_kbps: float,
    log_span: float,
    recent: int,
    max_fps: float,
    max_roi_level: float,
    mllm_period_ms: float,
) -> np.ndarray:
    """The builder's constants as one array, indexed by ``MIN_RATE_KBPS`` ... ``SQUARE`` (the
    exponent of the trend's squares, 2)."""
    return np.array(
        [min_rate_kbps, log_span, recent, max_fps, max_roi_level, mllm_period_ms, 2.0],
        dtype=np.float64,
    )


@njit(cache=True, inline="always")
def log_rate(rate_kbps: float, params: np.ndarray) -> float:
    """ln(rate / 100 kbps) / ln(40): 0 at 100 kbps, 1 at 4 Mbps."""
    return math.log(max(rate_kbps, 10.0) / params[MIN_RATE_KBPS]) / params[LOG_SPAN]


@njit(cache=True, inline="always")
def trend_per_s(counts: np.ndarray, trend: np.ndarray, params: np.ndarray) -> float:
    """Least-squares slope of frame delay against time over the last few intervals (ms per s)."""
    n = counts[TREND_POINTS]
    if n < 2:
        return 0.0
    t_sum = 0.0
    d_sum = 0.0
    for k in range(n):
        t_sum += trend[k, 0]
    for k in range(n):
        d_sum += trend[k, 1]
    t_mean = t_sum / n
    d_mean = d_sum / n
    num = 0.0
    den = 0.0
    for k in range(n):
        num += (trend[k, 0] - t_mean) * (trend[k, 1] - d_mean)
    for k in range(n):
        den += abs(trend[k, 0] - t_mean) ** params[SQUARE]  # CPython: pow(|x|, 2.0)
    return 0.0 if den == 0.0 else 1000.0 * num / den


@njit(cache=True, inline="always")
def absorb_packets(
    values: np.ndarray,
    counts: np.ndarray,
    send_ms: np.ndarray,
    arrival_ms: np.ndarray,
    size_bytes: np.ndarray,
    now_ms: float,
    interval_ms: float,
    sent_bytes: int,
) -> tuple[float, float]:
    """The report's packets (``arrival_ms`` NaN: lost): ``(loss, delivered_kbps)``, and the
    bytes in flight, newest send time and delay features updated."""
    loss = 0.0
    delivered_kbps = 0.0
    n_pk = send_ms.shape[0]
    counts[UNREPORTED_BYTES] += sent_bytes
    if n_pk:
        counts[UNREPORTED_BYTES] -= size_bytes.sum()
        newest = send_ms[0]  # send_ms.max() (no NaN: every packet has its send time)
        for i in range(1, n_pk):
            if send_ms[i] > newest:
                newest = send_ms[i]
        values[NEWEST_SEND_MS] = max(values[NEWEST_SEND_MS], newest)
        n_ok = 0
        size_sum = 0
        lowest = 0.0
        last = 0
        for i in range(n_pk):
            if arrival_ms[i] == arrival_ms[i]:  # NaN: lost
                owd = arrival_ms[i] - send_ms[i]
                if n_ok == 0 or owd < lowest:  # min() over the one-way delays
                    lowest = owd
                size_sum += size_bytes[i]
                last = i
                n_ok += 1
        loss = 1.0 - n_ok / n_pk
        if n_ok:
            delivered_kbps = float(size_sum) * 8.0 / interval_ms
            values[MIN_OWD_MS] = min(values[MIN_OWD_MS], lowest)
            values[QUEUE_MS] = (arrival_ms[last] - send_ms[last]) - values[MIN_OWD_MS]
            values[RTT_MS] = now_ms - send_ms[last]
    return loss, delivered_kbps


@njit(cache=True, inline="always")
def absorb_frames(
    values: np.ndarray,
    counts: np.ndarray,
    trend: np.ndarray,
    capture_ms: np.ndarray,
    decodable_ms: np.ndarray,
    now_ms: float,
) -> None:
    """The mean delay of the report's decodable frames, and a trend point, when there is one."""
    total = 0.0
    n = 0
    for i in range(capture_ms.shape[0]):
        d = decodable_ms[i] - capture_ms[i]
        if d == d:  # NaN: never decodable
            total += d
            n += 1
    if n:
        values[FRAME_DELAY_MS] = total / n
        k = counts[TREND_POINTS]
        if k == trend.shape[0]:  # a full window drops its oldest point
            for j in range(k - 1):
                trend[j, 0] = trend[j + 1, 0]
                trend[j, 1] = trend[j + 1, 1]
            k -= 1
        trend[k, 0] = now_ms
        trend[k, 1] = values[FRAME_DELAY_MS]
        counts[TREND_POINTS] = k + 1


@njit(cache=True, inline="always")
def push_front(history: np.ndarray, value: float) -> None:
    """``deque.appendleft`` on a full deque: the oldest value drops out."""
    for k in range(history.shape[0] - 1, 0, -1):
        history[k] = history[k - 1]
    history[0] = value


@njit(cache=True, inline="always")
def put(obs: np.ndarray, bounds: np.ndarray, i: int, value: float) -> None:
    """``obs[i]`` as float32 within ``bounds[:, i]``, as ``np.clip`` with array bounds does it
    (NaN stays NaN; -0.0 at a bound of 0 becomes 0.0)."""
    v = np.float32(value)
    if v == v:
        if not v > bounds[0, i]:
            v = bounds[0, i]
        if not v < bounds[1, i]:
            v = bounds[1, i]
    obs[i] = v


@kernel
def observe(
    values: np.ndarray,
    counts: np.ndarray,
    delivered: np.ndarray,
    frame_delay: np.ndarray,
    trend: np.ndarray,
    params: np.ndarray,
    send_ms: np.ndarray,
    arrival_ms: np.ndarray,
    size_bytes: np.ndarray,
    capture_ms: np.ndarray,
    decodable_ms: np.ndarray,
    now_ms: float,
    interval_ms: float,
    sent_bytes: int,
    rate_kbps: float,
    roi_level: int,
    fps: float,
    roi_area: float,
    roi_known: bool,
    question_active: bool,
    keyframe_request: bool,
    question_asked_ms: float,
    sent_capture_ms: float,
    saturation: float,
    since_keyframe_ms: float,
    gcc_kbps: float,
    bounds: np.ndarray,
    obs: np.ndarray,
) -> None:
    """Absorb one interval's feedback and write the observation to ``obs`` (float32, within
    ``bounds``): the reference's ``update``, given the saturation feature and GCC's target."""
    loss, delivered_kbps = absorb_packets(
        values, counts, send_ms, arrival_ms, size_bytes, now_ms, interval_ms, sent_bytes
    )
    absorb_frames(values, counts, trend, capture_ms, decodable_ms, now_ms)
    push_front(delivered, log_rate(delivered_kbps, params))
    push_front(frame_delay, values[FRAME_DELAY_MS] / 1000.0)
    history = delivered.shape[0]
    recent = int(params[RECENT])
    delivered_1s = 0.0
    for k in range(min(recent, history)):
        delivered_1s += delivered[k]
    put(obs, bounds, 0, log_rate(sent_bytes * 8.0 / interval_ms, params))
    put(obs, bounds, 1, log_rate(delivered_kbps, params))
    put(obs, bounds, 2, delivered_1s / min(recent, history))
    put(obs, bounds, 3, values[FRAME_DELAY_MS] / 1000.0)
    put(obs, bounds, 4, trend_per_s(counts, trend, params) / 1000.0)
    put(obs, bounds, 5, values[QUEUE_MS] / 1000.0)
    put(obs, bounds, 6, values[RTT_MS] / 1000.0)
    put(obs, bounds, 7, loss)
    put(obs, bounds, 8, log_rate(rate_kbps, params))
    put(obs, bounds, 9, roi_level / params[MAX_ROI_LEVEL])
    put(obs, bounds, 10, fps / params[MAX_FPS])
    put(obs, bounds, 11, roi_area if roi_known else 0.0)
    put(obs, bounds, 12, 1.0 if roi_known else 0.0)
    put(obs, bounds, 13, 1.0 if question_active else 0.0)
    put(obs, bounds, 14, saturation)
    put(obs, bounds, 15, since_keyframe_ms / 10_000.0)
    put(obs, bounds, 16, 1.0 if keyframe_request else 0.0)
    put(obs, bounds, 17, log_rate(gcc_kbps, params))
    for k in range(history):
        put(obs, bounds, 18 + k, delivered[k])
        put(obs, bounds, 18 + history + k, frame_delay[k])
    i = 18 + 2 * history
    if question_asked_ms != question_asked_ms:  # NaN: no question awaits its answer
        put(obs, bounds, i, 0.0)
        put(obs, bounds, i + 1, 0.0)
    else:
        put(obs, bounds, i, (now_ms - question_asked_ms) / 1000.0)
        put(obs, bounds, i + 1, 1.0 if sent_capture_ms >= question_asked_ms else 0.0)
    put(obs, bounds, i + 2, max(counts[UNREPORTED_BYTES], 0) / 100_000.0)
    put(obs, bounds, i + 3, (now_ms - values[NEWEST_SEND_MS]) / 1000.0)
    period_ms = params[MLLM_PERIOD_MS]
    put(obs, bounds, i + 4, (now_ms % period_ms) / period_ms)
