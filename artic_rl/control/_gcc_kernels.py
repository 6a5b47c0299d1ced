"""Compiled kernels of GCC's delay-based detector: the rules of :mod:`~artic_rl.control.delay_based`.

Each kernel is the reference method of the same name restated over arrays, statement for
statement and in the same floating-point order, so that it returns the very same numbers (the
tests compare both backends bit for bit): no ``fastmath``, so LLVM neither reassociates nor fuses
a multiply and an add. numba compiles them on first use and caches the machine code beside this
file (``__pycache__``), so the cost is paid once per installation. The cache is keyed on this
file only, so the reference module's constants come in as arguments, never as globals.

State lives in small arrays owned by the Python objects, indexed by the constants below:

- an :class:`~artic_rl.control.delay_based.InterArrival`: ``groups[CURRENT | PREVIOUS,
  FIRST_SEND | SEND | FIRST_ARRIVAL | ARRIVAL]`` (float64) and ``counters[HAS_CURRENT |
  HAS_PREVIOUS | REORDERED]`` (int64);
- a :class:`~artic_rl.control.delay_based.TrendlineEstimator`: ``values[ACCUMULATED ...]``
  (float64), ``counts[NUM_DELTAS ...]`` (int64; ``HAS_*`` say whether the reference's optional
  values are set), its constants ``params[SMOOTHING ...]`` and the delay curve's last ``window``
  points as a ring ``xs``, ``ys`` (oldest at ``counts[RING_START]``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

# InterArrival.groups rows and columns
CURRENT, PREVIOUS = 0, 1
FIRST_SEND, SEND, FIRST_ARRIVAL, ARRIVAL = 0, 1, 2, 3
# InterArrival.counters
HAS_CURRENT, HAS_PREVIOUS, REORDERED = 0, 1, 2

# TrendlineEstimator.values
ACCUMULATED, SMOOTHED, TREND, MODIFIED_TREND, THRESHOLD = 0, 1, 2, 3, 4
FIRST_ARRIVAL_MS, LAST_THRESHOLD_MS, TIME_OVER_MS = 5, 6, 7
N_VALUES = 8
# TrendlineEstimator.counts
NUM_DELTAS, OVERUSE_COUNT, STATE, RING_SIZE, RING_START = 0, 1, 2, 3, 4
HAS_FIRST_ARRIVAL, HAS_LAST_THRESHOLD = 5, 6
N_COUNTS = 7
# TrendlineEstimator.params: its constants, in the order of trendline_params()
SMOOTHING, GAIN, K_UP, K_DOWN, OVERUSE_MS, MIN_DELTAS, MAX_DELTAS = 0, 1, 2, 3, 4, 5, 6
MAX_ADAPT_OFFSET, MAX_ADAPT_MS, THRESHOLD_MIN, THRESHOLD_MAX = 7, 8, 9, 10
# BandwidthUsage as a code in counts[STATE]
NORMAL, UNDERUSING, OVERUSING = 0, 1, 2


# ------------------------------------------------------------------ InterArrival


@njit(cache=True)
def open_group(groups: np.ndarray, counters: np.ndarray, send_ms: float, arrival_ms: float) -> None:
    """Make this packet the first of the current group."""
    groups[CURRENT, FIRST_SEND] = send_ms
    groups[CURRENT, SEND] = send_ms
    groups[CURRENT, FIRST_ARRIVAL] = arrival_ms
    groups[CURRENT, ARRIVAL] = arrival_ms
    counters[HAS_CURRENT] = 1


@njit(cache=True)
def belongs_to_burst(
    groups: np.ndarray, send_ms: float, arrival_ms: float, burst_ms: float, max_burst_ms: float
) -> bool:
    """A packet sent over ``group_ms`` after the group's first joins it if it queued behind it."""
    arrival_delta = arrival_ms - groups[CURRENT, ARRIVAL]
    send_delta = send_ms - groups[CURRENT, SEND]
    if send_delta == 0:
        return True
    propagation_delta = arrival_delta - send_delta
    return (
        propagation_delta < 0
        and arrival_delta <= burst_ms
        and arrival_ms - groups[CURRENT, FIRST_ARRIVAL] < max_burst_ms
    )


@njit(cache=True)
def next_group(
    groups: np.ndarray,
    counters: np.ndarray,
    send_ms: float,
    arrival_ms: float,
    reorder_reset: int,
    out: np.ndarray,
    n_out: int,
) -> int:
    """Close the current group, open one with this packet; the closed group's deltas go to
    ``out[n_out]`` (send delta, arrival delta, arrival). Returns the new number of deltas."""
    if counters[HAS_PREVIOUS]:
        send_delta = groups[CURRENT, SEND] - groups[PREVIOUS, SEND]
        arrival_delta = groups[CURRENT, ARRIVAL] - groups[PREVIOUS, ARRIVAL]
        if arrival_delta < 0:
            counters[REORDERED] += 1
            if counters[REORDERED] >= reorder_reset:  # reset, then open a group
                counters[HAS_PREVIOUS] = 0
                counters[REORDERED] = 0
                open_group(groups, counters, send_ms, arrival_ms)
                return n_out
        else:
            counters[REORDERED] = 0
            out[n_out, 0] = send_delta
            out[n_out, 1] = arrival_delta
            out[n_out, 2] = groups[CURRENT, ARRIVAL]
            n_out += 1
    for column in range(4):
        groups[PREVIOUS, column] = groups[CURRENT, column]
    counters[HAS_PREVIOUS] = 1
    open_group(groups, counters, send_ms, arrival_ms)
    return n_out


@njit(cache=True)
def inter_arrival_packets(
    groups: np.ndarray,
    counters: np.ndarray,
    arrival_ms: np.ndarray,
    send_ms: np.ndarray,
    group_ms: float,
    burst_ms: float,
    max_burst_ms: float,
    reorder_reset: int,
    out: np.ndarray,
) -> int:
    """Add received packets (``arrival_ms[i]``, ``send_ms[i]``) in arrival order.

    The module's constants (``BURST_MS``, ``MAX_BURST_MS``, ``REORDER_RESET``) come in as
    arguments, so that a changed constant never meets a stale compiled cache.

    Writes the deltas of the groups they complete to ``out[:n]`` (rows of send delta, arrival
    delta, arrival: a :class:`~artic_rl.control.delay_based.GroupDelta` each) and returns ``n``.
    """
    n_out = 0
    for i in range(arrival_ms.shape[0]):
        arrival = arrival_ms[i]
        send = send_ms[i]
        if not counters[HAS_CURRENT]:
            open_group(groups, counters, send, arrival)
            continue
        if send < groups[CURRENT, FIRST_SEND]:
            continue  # reordered into an older group: ignored, as libwebrtc does
        # sent over group_ms after the group's first packet: a new group, unless it queued
        # behind it
        if send - groups[CURRENT, FIRST_SEND] > group_ms and not belongs_to_burst(
            groups, send, arrival, burst_ms, max_burst_ms
        ):
            n_out = next_group(groups, counters, send, arrival, reorder_reset, out, n_out)
            continue
        if send > groups[CURRENT, SEND]:
            groups[CURRENT, SEND] = send
        if arrival > groups[CURRENT, ARRIVAL]:
            groups[CURRENT, ARRIVAL] = arrival
    return n_out


# ------------------------------------------------------------------ TrendlineEstimator


def trendline_params(
    smoothing: float,
    gain: float,
    k_up: float,
    k_down: float,
    overuse_ms: float,
    min_deltas: int,
    max_deltas: int,
    max_adapt_offset: float,
    max_adapt_ms: float,
    threshold_min: float,
    threshold_max: float,
) -> np.ndarray:
    """The estimator's constants as one array, indexed by ``SMOOTHING`` ... ``THRESHOLD_MAX``."""
    return np.array(
        [
            smoothing,
            gain,
            k_up,
            k_down,
            overuse_ms,
            min_deltas,
            max_deltas,
            max_adapt_offset,
            max_adapt_ms,
            threshold_min,
            threshold_max,
        ],
        dtype=np.float64,
    )


@njit(cache=True)
def linear_fit_slope(xs: np.ndarray, ys: np.ndarray, start: int) -> tuple[bool, float]:
    """Least-squares slope of y on x over the full ring (oldest point at ``start``); ``(False,
    0.0)`` when all x are equal. Sums run oldest to newest, as the reference's over its deque."""
    n = xs.shape[0]
    x_sum = 0.0
    y_sum = 0.0
    for i in range(n):
        j = (start + i) % n
        x_sum += xs[j]
        y_sum += ys[j]
    x_avg = x_sum / n
    y_avg = y_sum / n
    num = 0.0
    den = 0.0
    for i in range(n):
        j = (start + i) % n
        dx = xs[j] - x_avg
        num += dx * (ys[j] - y_avg)
        den += dx * dx
    if den == 0.0:
        return False, 0.0
    return True, num / den


@njit(cache=True)
def update_threshold(
    values: np.ndarray, counts: np.ndarray, modified: float, now_ms: float, params: np.ndarray
) -> None:
    """Adapt the threshold towards ``|modified|`` (not after a sudden spike)."""
    if not counts[HAS_LAST_THRESHOLD]:
        values[LAST_THRESHOLD_MS] = now_ms
        counts[HAS_LAST_THRESHOLD] = 1
    magnitude = abs(modified)
    threshold = values[THRESHOLD]
    if magnitude > threshold + params[MAX_ADAPT_OFFSET]:
        values[LAST_THRESHOLD_MS] = now_ms  # a sudden spike: do not chase it
        return
    k = params[K_DOWN] if magnitude < threshold else params[K_UP]
    dt_ms = min(now_ms - values[LAST_THRESHOLD_MS], params[MAX_ADAPT_MS])
    threshold += k * (magnitude - threshold) * dt_ms
    values[THRESHOLD] = min(max(threshold, params[THRESHOLD_MIN]), params[THRESHOLD_MAX])
    values[LAST_THRESHOLD_MS] = now_ms


@njit(cache=True)
def detect(
    values: np.ndarray,
    counts: np.ndarray,
    trend: float,
    send_delta_ms: float,
    now_ms: float,
    params: np.ndarray,
) -> None:
    """The overuse detector: compare the scaled slope with the adaptive threshold."""
    if counts[NUM_DELTAS] < 2:
        counts[STATE] = NORMAL
        return
    modified = min(counts[NUM_DELTAS], int(params[MIN_DELTAS])) * trend * params[GAIN]
    values[MODIFIED_TREND] = modified
    if modified > values[THRESHOLD]:
        if values[TIME_OVER_MS] < 0:
            values[TIME_OVER_MS] = send_delta_ms / 2.0  # assume over half the last gap
        else:
            values[TIME_OVER_MS] += send_delta_ms
        counts[OVERUSE_COUNT] += 1
        if (
            values[TIME_OVER_MS] > params[OVERUSE_MS]
            and counts[OVERUSE_COUNT] > 1
            and trend >= values[TREND]
        ):
            values[TIME_OVER_MS] = 0.0
            counts[OVERUSE_COUNT] = 0
            counts[STATE] = OVERUSING
    elif modified < -values[THRESHOLD]:
        values[TIME_OVER_MS] = -1.0
        counts[OVERUSE_COUNT] = 0
        counts[STATE] = UNDERUSING
    else:
        values[TIME_OVER_MS] = -1.0
        counts[OVERUSE_COUNT] = 0
        counts[STATE] = NORMAL
    values[TREND] = trend
    update_threshold(values, counts, modified, now_ms, params)


@njit(cache=True)
def trendline_update(
    values: np.ndarray,
    counts: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    deltas: np.ndarray,
    params: np.ndarray,
) -> int:
    """Absorb inter-group deltas (rows of send delta, arrival delta, arrival) in order; returns
    the final hypothesis' code (``NORMAL``, ``UNDERUSING``, ``OVERUSING``)."""
    max_deltas = int(params[MAX_DELTAS])
    smoothing = params[SMOOTHING]
    window = xs.shape[0]
    for i in range(deltas.shape[0]):
        send_delta_ms = deltas[i, 0]
        arrival_delta_ms = deltas[i, 1]
        arrival_ms = deltas[i, 2]
        num_deltas = counts[NUM_DELTAS] + 1
        counts[NUM_DELTAS] = num_deltas if num_deltas < max_deltas else max_deltas
        if not counts[HAS_FIRST_ARRIVAL]:
            values[FIRST_ARRIVAL_MS] = arrival_ms
            counts[HAS_FIRST_ARRIVAL] = 1
        accumulated = values[ACCUMULATED] + (arrival_delta_ms - send_delta_ms)
        values[ACCUMULATED] = accumulated
        smoothed = smoothing * values[SMOOTHED] + (1.0 - smoothing) * accumulated
        values[SMOOTHED] = smoothed
        # append to the ring; a full ring drops its oldest point, as the reference's deque
        size, start = counts[RING_SIZE], counts[RING_START]
        at = (start + size) % window
        xs[at] = arrival_ms - values[FIRST_ARRIVAL_MS]
        ys[at] = smoothed
        if size < window:
            counts[RING_SIZE] = size + 1
        else:
            counts[RING_START] = (start + 1) % window
        trend = values[TREND]
        if counts[RING_SIZE] == window:
            has_slope, slope = linear_fit_slope(xs, ys, counts[RING_START])
            if has_slope:
                trend = slope
        detect(values, counts, trend, send_delta_ms, arrival_ms, params)
    return counts[STATE]
