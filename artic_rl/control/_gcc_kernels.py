"""Compiled kernels of GCC (:mod:`~artic_rl.control.gcc`): its parts' rules, one report per call.

Each kernel is the reference method of the same name restated over arrays, statement for
statement and in the same floating-point order, so that it returns the very same numbers (the
tests compare both backends bit for bit): no ``fastmath``, so LLVM neither reassociates nor fuses
a multiply and an add. numba compiles them on first use and caches the machine code beside this
file (``__pycache__``), so the cost is paid once per installation. The cache is keyed on this
file only, so the reference modules' constants come in as arguments, never as globals, and every
kernel that :func:`gcc_on_feedback` calls lives in this one file. The rules it calls are
inlined (``inline="always"``): a call between compiled functions passes every array field
by field and counts its references, which cost more than the rules themselves.

State lives in small arrays owned by the Python objects, indexed by the constants below:

- an :class:`~artic_rl.control.delay_based.InterArrival`: ``groups[CURRENT | PREVIOUS,
  FIRST_SEND | SEND | FIRST_ARRIVAL | ARRIVAL]`` (float64) and ``counters[HAS_CURRENT |
  HAS_PREVIOUS | REORDERED]`` (int64);
- a :class:`~artic_rl.control.delay_based.TrendlineEstimator`: ``values[ACCUMULATED ...]``
  (float64), ``counts[NUM_DELTAS ...]`` (int64; ``HAS_*`` say whether the reference's optional
  values are set), its constants ``params[SMOOTHING ...]`` and the delay curve's last ``window``
  points as a ring ``xs``, ``ys`` (oldest at ``counts[RING_START]``);
- a :class:`~artic_rl.control.gcc.GccController` (the two above, plus its AIMD, loss-based and
  acknowledged-throughput parts): ``state[MIN_OWD_MS ...]`` (float64), ``flags[AIMD_STATE ...]``
  (int64), its constants ``gcc[GROUP_MS ...]`` (:func:`gcc_params`), the loss-based controller's
  monotone queue of ``(now_ms, rate_kbps)`` rows as a ring ``history`` (``flags[HISTORY_START]``,
  ``flags[HISTORY_LEN]``) and the acknowledged packets as a ring ``acked_ms``, ``acked_bytes``
  (``flags[ACKED_START]``, ``flags[ACKED_LEN]``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from artic_rl.backend import kernel

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

# GccController.state: its own float, then its parts' (AIMD, link capacity, loss-based, acked)
MIN_OWD_MS, TARGET_KBPS = 0, 1
AIMD_RATE_KBPS, RTT_MS, LAST_CHANGE_MS, THROUGHPUT_KBPS = 2, 3, 4, 5
LINK_ESTIMATE_KBPS, LINK_DEVIATION = 6, 7
LOSS_RATE_KBPS, LAST_LOSS, LAST_DECREASE_MS = 8, 9, 10
ACKED_FIRST_MS = 11
N_STATE = 12
# GccController.flags: codes, counters, ring positions (HAS_* as in TrendlineEstimator.counts)
AIMD_STATE, HAS_LAST_CHANGE, HAS_LINK_ESTIMATE = 0, 1, 2
LOSS_LOST, LOSS_EXPECTED, HISTORY_START, HISTORY_LEN = 3, 4, 5, 6
ACKED_BYTES, ACKED_START, ACKED_LEN, HAS_ACKED_FIRST = 7, 8, 9, 10
N_FLAGS = 11
# GccController's constants, in the order of gcc_params()
GROUP_MS, BURST_MS, MAX_BURST_MS, REORDER_RESET = 0, 1, 2, 3
START_KBPS, AIMD_MIN_KBPS, AIMD_MAX_KBPS, BETA, INCREASE_PER_S = 4, 5, 6, 7, 8
ALPHA, DEVIATION_MIN, DEVIATION_MAX = 9, 10, 11
FRAME_INTERVAL_S, PACKET_BITS, MIN_ADDITIVE_KBPS_PER_S, BITS_PER_KBIT, MS_PER_S = 12, 13, 14, 15, 16
LOSS_MIN_KBPS, LOSS_MAX_KBPS, LOW_LOSS, HIGH_LOSS, LOSS_INCREASE = 17, 18, 19, 20, 21
MIN_PACKETS, DECREASE_INTERVAL_MS, HISTORY_MS = 22, 23, 24
WINDOW_MS, BITS_PER_BYTE = 25, 26
N_GCC_PARAMS = 27
# RateControlState as a code in flags[AIMD_STATE]
HOLD, INCREASE, DECREASE = 0, 1, 2
# the most rows one report adds to the loss-based history (two updates and the cap)
HISTORY_ROWS_PER_REPORT = 3


# ------------------------------------------------------------------ InterArrival


@njit(cache=True, inline="always")
def open_group(groups: np.ndarray, counters: np.ndarray, send_ms: float, arrival_ms: float) -> None:
    """Make this packet the first of the current group."""
    groups[CURRENT, FIRST_SEND] = send_ms
    groups[CURRENT, SEND] = send_ms
    groups[CURRENT, FIRST_ARRIVAL] = arrival_ms
    groups[CURRENT, ARRIVAL] = arrival_ms
    counters[HAS_CURRENT] = 1


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
def next_group(
    groups: np.ndarray, counters: np.ndarray, send_ms: float, arrival_ms: float, reorder_reset: int
) -> tuple[bool, float, float, float]:
    """Close the current group, open one with this packet; the closed group's deltas, if any:
    ``(True, send delta, arrival delta, arrival)``, else ``(False, 0.0, 0.0, 0.0)``."""
    emitted, send_delta, arrival_delta, arrival = False, 0.0, 0.0, 0.0
    if counters[HAS_PREVIOUS]:
        send_delta = groups[CURRENT, SEND] - groups[PREVIOUS, SEND]
        arrival_delta = groups[CURRENT, ARRIVAL] - groups[PREVIOUS, ARRIVAL]
        if arrival_delta < 0:
            counters[REORDERED] += 1
            if counters[REORDERED] >= reorder_reset:  # reset, then open a group
                counters[HAS_PREVIOUS] = 0
                counters[REORDERED] = 0
                open_group(groups, counters, send_ms, arrival_ms)
                return False, 0.0, 0.0, 0.0
        else:
            counters[REORDERED] = 0
            emitted, arrival = True, groups[CURRENT, ARRIVAL]
    for column in range(4):
        groups[PREVIOUS, column] = groups[CURRENT, column]
    counters[HAS_PREVIOUS] = 1
    open_group(groups, counters, send_ms, arrival_ms)
    return emitted, send_delta, arrival_delta, arrival


@njit(cache=True, inline="always")
def inter_arrival_packet(
    groups: np.ndarray,
    counters: np.ndarray,
    arrival: float,
    send: float,
    group_ms: float,
    burst_ms: float,
    max_burst_ms: float,
    reorder_reset: int,
) -> tuple[bool, float, float, float]:
    """Add one received packet (in arrival order); the deltas of the group it completes, as
    :func:`next_group` returns them."""
    if not counters[HAS_CURRENT]:
        open_group(groups, counters, send, arrival)
        return False, 0.0, 0.0, 0.0
    if send < groups[CURRENT, FIRST_SEND]:
        return False, 0.0, 0.0, 0.0  # reordered into an older group: ignored, as libwebrtc does
    # sent over group_ms after the group's first packet: a new group, unless it queued
    # behind it
    if send - groups[CURRENT, FIRST_SEND] > group_ms and not belongs_to_burst(
        groups, send, arrival, burst_ms, max_burst_ms
    ):
        return next_group(groups, counters, send, arrival, reorder_reset)
    if send > groups[CURRENT, SEND]:
        groups[CURRENT, SEND] = send
    if arrival > groups[CURRENT, ARRIVAL]:
        groups[CURRENT, ARRIVAL] = arrival
    return False, 0.0, 0.0, 0.0


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
        emitted, send_delta, arrival_delta, arrival = inter_arrival_packet(
            groups,
            counters,
            arrival_ms[i],
            send_ms[i],
            group_ms,
            burst_ms,
            max_burst_ms,
            reorder_reset,
        )
        if emitted:
            out[n_out, 0] = send_delta
            out[n_out, 1] = arrival_delta
            out[n_out, 2] = arrival
            n_out += 1
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


@njit(cache=True, inline="always")
def linear_fit_slope(xs: np.ndarray, ys: np.ndarray, start: int) -> tuple[bool, float]:
    """Least-squares slope of y on x over the full ring (oldest point at ``start``); ``(False,
    0.0)`` when all x are equal. Sums run oldest to newest, as the reference's over its deque."""
    n = xs.shape[0]
    x_sum = 0.0
    y_sum = 0.0
    j = start
    for _ in range(n):
        x_sum += xs[j]
        y_sum += ys[j]
        j = j + 1 if j + 1 < n else 0
    x_avg = x_sum / n
    y_avg = y_sum / n
    num = 0.0
    den = 0.0
    for _ in range(n):
        dx = xs[j] - x_avg
        num += dx * (ys[j] - y_avg)
        den += dx * dx
        j = j + 1 if j + 1 < n else 0
    if den == 0.0:
        return False, 0.0
    return True, num / den


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
def trendline_delta(
    values: np.ndarray,
    counts: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    send_delta_ms: float,
    arrival_delta_ms: float,
    arrival_ms: float,
    params: np.ndarray,
) -> None:
    """Absorb one inter-group delta (the reference's ``update``)."""
    max_deltas = int(params[MAX_DELTAS])
    smoothing = params[SMOOTHING]
    window = xs.shape[0]
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
    for i in range(deltas.shape[0]):
        trendline_delta(values, counts, xs, ys, deltas[i, 0], deltas[i, 1], deltas[i, 2], params)
    return counts[STATE]


# ------------------------------------------------------------------ AimdRateControl


@njit(cache=True, inline="always")
def link_spread(state: np.ndarray) -> float:
    """Three standard deviations of the link capacity estimate."""
    return 3.0 * math.sqrt(state[LINK_DEVIATION] * state[LINK_ESTIMATE_KBPS])


@njit(cache=True, inline="always")
def link_upper_kbps(state: np.ndarray, flags: np.ndarray) -> float:
    if not flags[HAS_LINK_ESTIMATE]:
        return np.inf
    return state[LINK_ESTIMATE_KBPS] + link_spread(state)


@njit(cache=True, inline="always")
def link_lower_kbps(state: np.ndarray, flags: np.ndarray) -> float:
    if not flags[HAS_LINK_ESTIMATE]:
        return 0.0
    return max(0.0, state[LINK_ESTIMATE_KBPS] - link_spread(state))


@njit(cache=True, inline="always")
def link_reset(state: np.ndarray, flags: np.ndarray, gcc: np.ndarray) -> None:
    flags[HAS_LINK_ESTIMATE] = 0
    state[LINK_ESTIMATE_KBPS] = 0.0
    state[LINK_DEVIATION] = gcc[DEVIATION_MIN]


@njit(cache=True, inline="always")
def link_on_overuse(
    state: np.ndarray, flags: np.ndarray, throughput_kbps: float, gcc: np.ndarray
) -> None:
    """Absorb the throughput measured when overuse was detected."""
    alpha = gcc[ALPHA]
    if not flags[HAS_LINK_ESTIMATE]:
        state[LINK_ESTIMATE_KBPS] = throughput_kbps
        flags[HAS_LINK_ESTIMATE] = 1
    else:
        state[LINK_ESTIMATE_KBPS] = (1.0 - alpha) * state[
            LINK_ESTIMATE_KBPS
        ] + alpha * throughput_kbps
    estimate = state[LINK_ESTIMATE_KBPS]
    norm = max(estimate, 1.0)
    error = estimate - throughput_kbps
    deviation = (1.0 - alpha) * state[LINK_DEVIATION] + alpha * error * error / norm
    state[LINK_DEVIATION] = min(max(deviation, gcc[DEVIATION_MIN]), gcc[DEVIATION_MAX])


@njit(cache=True, inline="always")
def change_state(flags: np.ndarray, state: np.ndarray, usage: int, now_ms: float) -> None:
    if usage == NORMAL:
        if flags[AIMD_STATE] == HOLD:
            state[LAST_CHANGE_MS] = now_ms
            flags[HAS_LAST_CHANGE] = 1
            flags[AIMD_STATE] = INCREASE
    elif usage == OVERUSING:
        flags[AIMD_STATE] = DECREASE
    else:
        flags[AIMD_STATE] = HOLD


@njit(cache=True, inline="always")
def multiplicative_step_kbps(state: np.ndarray, dt_ms: float, gcc: np.ndarray) -> float:
    factor = gcc[INCREASE_PER_S] ** min(dt_ms / gcc[MS_PER_S], 1.0)
    return max(state[AIMD_RATE_KBPS] * (factor - 1.0), 1.0)


@njit(cache=True, inline="always")
def additive_kbps_per_s(state: np.ndarray, gcc: np.ndarray) -> float:
    """About one average packet per response time (``2 * (rtt + 100 ms)``), at least 4 kbps/s."""
    frame_bits = state[AIMD_RATE_KBPS] * gcc[BITS_PER_KBIT] * gcc[FRAME_INTERVAL_S]
    packets_per_frame = max(1.0, math.ceil(frame_bits / gcc[PACKET_BITS]))
    avg_packet_bits = frame_bits / packets_per_frame
    response_s = 2.0 * (state[RTT_MS] + 100.0) / gcc[MS_PER_S]
    return max(gcc[MIN_ADDITIVE_KBPS_PER_S], avg_packet_bits / response_s / gcc[BITS_PER_KBIT])


@njit(cache=True, inline="always")
def aimd_update(
    state: np.ndarray,
    flags: np.ndarray,
    usage: int,
    has_throughput: bool,
    throughput_kbps: float,
    now_ms: float,
    gcc: np.ndarray,
) -> float:
    """One controller step at ``now_ms`` (``has_throughput`` False: the reference's ``None``)."""
    if has_throughput:
        state[THROUGHPUT_KBPS] = throughput_kbps
    throughput = state[THROUGHPUT_KBPS]
    change_state(flags, state, usage, now_ms)
    rate = state[AIMD_RATE_KBPS]
    new_kbps = rate
    if flags[AIMD_STATE] == INCREASE:
        if throughput > link_upper_kbps(state, flags):
            link_reset(state, flags, gcc)  # the link got faster: probe multiplicatively again
        limit = 1.5 * throughput + 10.0
        if rate < limit:
            dt_ms = now_ms - state[LAST_CHANGE_MS] if flags[HAS_LAST_CHANGE] else 0.0
            if flags[HAS_LINK_ESTIMATE]:
                step = additive_kbps_per_s(state, gcc) * dt_ms / gcc[MS_PER_S]
            else:
                step = multiplicative_step_kbps(state, dt_ms, gcc)
            new_kbps = min(rate + step, limit)
        state[LAST_CHANGE_MS] = now_ms
        flags[HAS_LAST_CHANGE] = 1
    elif flags[AIMD_STATE] == DECREASE:
        decreased = gcc[BETA] * throughput
        if decreased > rate and flags[HAS_LINK_ESTIMATE]:
            decreased = gcc[BETA] * state[LINK_ESTIMATE_KBPS]
        if decreased < rate:
            new_kbps = decreased
        if throughput < link_lower_kbps(state, flags):
            link_reset(state, flags, gcc)  # the link got slower: forget the old capacity
        link_on_overuse(state, flags, throughput, gcc)
        flags[AIMD_STATE] = HOLD
        state[LAST_CHANGE_MS] = now_ms
        flags[HAS_LAST_CHANGE] = 1
    state[AIMD_RATE_KBPS] = min(max(new_kbps, gcc[AIMD_MIN_KBPS]), gcc[AIMD_MAX_KBPS])
    return state[AIMD_RATE_KBPS]


# ------------------------------------------------------------------ LossBasedControl


@njit(cache=True, inline="always")
def remember(
    state: np.ndarray, flags: np.ndarray, history: np.ndarray, now_ms: float, gcc: np.ndarray
) -> None:
    """Keep the rates of the last ``history_ms`` (the oldest one is the increase's base)."""
    rate = state[LOSS_RATE_KBPS]
    size = history.shape[0]
    start, n = flags[HISTORY_START], flags[HISTORY_LEN]
    while n and history[(start + n - 1) % size, 1] >= rate:
        n -= 1  # a monotone queue: only later, lower rates can be the minimum
    at = (start + n) % size
    history[at, 0] = now_ms
    history[at, 1] = rate
    n += 1
    while n and now_ms - history[start, 0] > gcc[HISTORY_MS]:
        start = (start + 1) % size
        n -= 1
    flags[HISTORY_START] = start
    flags[HISTORY_LEN] = n


@njit(cache=True, inline="always")
def apply_loss(
    state: np.ndarray,
    flags: np.ndarray,
    history: np.ndarray,
    now_ms: float,
    rtt_ms: float,
    gcc: np.ndarray,
) -> None:
    rate = state[LOSS_RATE_KBPS]
    last_loss = state[LAST_LOSS]
    if last_loss < gcc[LOW_LOSS]:
        floor_kbps = rate
        size = history.shape[0]
        for k in range(flags[HISTORY_LEN]):  # min(), first of the lowest: the oldest row
            r = history[(flags[HISTORY_START] + k) % size, 1]
            if k == 0 or r < floor_kbps:
                floor_kbps = r
        rate = gcc[LOSS_INCREASE] * floor_kbps + 1.0
    elif (
        last_loss > gcc[HIGH_LOSS]
        and now_ms - state[LAST_DECREASE_MS] >= gcc[DECREASE_INTERVAL_MS] + rtt_ms
    ):
        state[LAST_DECREASE_MS] = now_ms
        rate *= 1.0 - 0.5 * last_loss
    state[LOSS_RATE_KBPS] = min(max(rate, gcc[LOSS_MIN_KBPS]), gcc[LOSS_MAX_KBPS])


@njit(cache=True, inline="always")
def loss_update(
    state: np.ndarray,
    flags: np.ndarray,
    history: np.ndarray,
    lost: int,
    expected: int,
    now_ms: float,
    rtt_ms: float,
    gcc: np.ndarray,
) -> float:
    """Absorb a report of ``lost`` out of ``expected`` packets; returns the loss-based rate."""
    flags[LOSS_LOST] += lost
    flags[LOSS_EXPECTED] += expected
    remember(state, flags, history, now_ms, gcc)
    if flags[LOSS_EXPECTED] >= int(gcc[MIN_PACKETS]):
        state[LAST_LOSS] = flags[LOSS_LOST] / flags[LOSS_EXPECTED]
        flags[LOSS_LOST] = 0
        flags[LOSS_EXPECTED] = 0
        apply_loss(state, flags, history, now_ms, rtt_ms, gcc)
    remember(state, flags, history, now_ms, gcc)
    return state[LOSS_RATE_KBPS]


@njit(cache=True, inline="always")
def loss_cap(
    state: np.ndarray,
    flags: np.ndarray,
    history: np.ndarray,
    delay_based_kbps: float,
    now_ms: float,
    gcc: np.ndarray,
) -> float:
    """Bound the state by the delay-based estimate (the sender's target is the minimum)."""
    if delay_based_kbps < state[LOSS_RATE_KBPS]:
        state[LOSS_RATE_KBPS] = max(delay_based_kbps, gcc[LOSS_MIN_KBPS])
        remember(state, flags, history, now_ms, gcc)
    return state[LOSS_RATE_KBPS]


# ------------------------------------------------------------------ AckedThroughput


@njit(cache=True, inline="always")
def acked_update(
    state: np.ndarray,
    flags: np.ndarray,
    acked_ms: np.ndarray,
    acked_bytes: np.ndarray,
    arrival_ms: np.ndarray,
    size_bytes: np.ndarray,
    now_ms: float,
    gcc: np.ndarray,
) -> tuple[bool, float]:
    """Absorb the received packets (``arrival_ms`` not NaN) of one report; returns ``(True, rate
    in kbps)``, or ``(False, 0.0)`` before any (the reference's ``None``)."""
    size = acked_ms.shape[0]
    start, n = flags[ACKED_START], flags[ACKED_LEN]
    for i in range(arrival_ms.shape[0]):
        if arrival_ms[i] == arrival_ms[i]:  # NaN: lost
            at = (start + n) % size
            acked_ms[at] = arrival_ms[i]
            acked_bytes[at] = size_bytes[i]
            flags[ACKED_BYTES] += size_bytes[i]
            n += 1
            if not flags[HAS_ACKED_FIRST]:
                state[ACKED_FIRST_MS] = arrival_ms[i]
                flags[HAS_ACKED_FIRST] = 1
    expired_ms = now_ms - gcc[WINDOW_MS]
    while n and acked_ms[start] <= expired_ms:
        flags[ACKED_BYTES] -= acked_bytes[start]
        start = (start + 1) % size
        n -= 1
    flags[ACKED_START] = start
    flags[ACKED_LEN] = n
    if not flags[HAS_ACKED_FIRST]:
        return False, 0.0
    window_ms = gcc[WINDOW_MS]
    span_ms = min(window_ms, max(now_ms - state[ACKED_FIRST_MS], window_ms / 4))
    return True, flags[ACKED_BYTES] * gcc[BITS_PER_BYTE] / span_ms


# ------------------------------------------------------------------ GccController


def gcc_params(
    group_ms: float,
    burst_ms: float,
    max_burst_ms: float,
    reorder_reset: int,
    aimd: tuple[float, ...],
    link: tuple[float, ...],
    aimd_constants: tuple[float, ...],
    loss: tuple[float, ...],
    acked: tuple[float, ...],
) -> np.ndarray:
    """GccController's constants as one array, indexed by ``GROUP_MS`` ... ``BITS_PER_BYTE``:
    the inter-arrival grouping's, then (in index order) ``aimd`` = (start, min, max, beta,
    increase per s), ``link`` = (alpha, deviation min, max), ``aimd_constants`` = (frame interval
    s, packet bits, min additive kbps/s, bits per kbit, ms per s), ``loss`` = (min, max, low loss,
    high loss, increase, min packets, decrease interval ms, history ms), ``acked`` = (window ms,
    bits per byte)."""
    row = [group_ms, burst_ms, max_burst_ms, reorder_reset, *aimd, *link, *aimd_constants]
    out = np.array([*row, *loss, *acked], dtype=np.float64)
    if out.shape[0] != N_GCC_PARAMS:
        raise ValueError(f"gcc_params: {out.shape[0]} constants, expected {N_GCC_PARAMS}")
    return out


@njit(cache=True, inline="always")
def rtt_ms(
    state: np.ndarray, arrival_ms: np.ndarray, send_ms: np.ndarray, n_ok: int, last: int
) -> float:
    """Round trip of the latest packet (``last``: the last of the ``n_ok`` received packets to
    arrive): its one-way delay plus the return path's base delay."""
    if n_ok == 0:
        return state[RTT_MS]
    lowest = 0.0
    first = True
    for i in range(arrival_ms.shape[0]):  # min() over the one-way delays, in sequence order
        if arrival_ms[i] == arrival_ms[i]:
            owd = arrival_ms[i] - send_ms[i]
            if first or owd < lowest:
                lowest = owd
                first = False
    state[MIN_OWD_MS] = min(state[MIN_OWD_MS], lowest)
    return arrival_ms[last] - send_ms[last] + state[MIN_OWD_MS]


@njit(cache=True, inline="always")
def arrival_order(arrival_ms: np.ndarray, order: np.ndarray) -> None:
    """The received packets' indices sorted by arrival into ``order`` (its first ``n_ok`` slots),
    ties in sequence order (a stable sort: the reference's ``sort(key=itemgetter(0))``)."""
    n = 0
    for i in range(arrival_ms.shape[0]):
        if arrival_ms[i] == arrival_ms[i]:
            j = n - 1
            while j >= 0 and arrival_ms[order[j]] > arrival_ms[i]:
                order[j + 1] = order[j]
                j -= 1
            order[j + 1] = i
            n += 1


@njit(cache=True, inline="always")
def detect_packet(
    groups: np.ndarray,
    counters: np.ndarray,
    values: np.ndarray,
    counts: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    params: np.ndarray,
    gcc: np.ndarray,
    arrival: float,
    send: float,
) -> None:
    """One received packet, in arrival order, through the inter-arrival grouping and, when it
    completes a group, the trendline (the reference runs the grouping over the whole report
    first: the two keep separate state, so the order of their steps changes nothing)."""
    emitted, send_delta, arrival_delta, arrival_ms = inter_arrival_packet(
        groups,
        counters,
        arrival,
        send,
        gcc[GROUP_MS],
        gcc[BURST_MS],
        gcc[MAX_BURST_MS],
        int(gcc[REORDER_RESET]),
    )
    if emitted:
        trendline_delta(values, counts, xs, ys, send_delta, arrival_delta, arrival_ms, params)


@kernel
def gcc_on_feedback(
    groups: np.ndarray,
    counters: np.ndarray,
    values: np.ndarray,
    counts: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    params: np.ndarray,
    state: np.ndarray,
    flags: np.ndarray,
    gcc: np.ndarray,
    history: np.ndarray,
    acked_ms: np.ndarray,
    acked_bytes: np.ndarray,
    order: np.ndarray,
    send_ms: np.ndarray,
    arrival_ms: np.ndarray,
    size_bytes: np.ndarray,
    now_ms: float,
) -> float:
    """Absorb one transport feedback report (``arrival_ms`` NaN: lost) at ``now_ms``; returns the
    target rate (kbps): inter-arrival grouping, trendline, AIMD, acknowledged throughput and
    loss-based control, as the reference's ``on_feedback``.

    ``order`` is scratch room for the received packets' arrival order (when they arrived out of
    sequence order), so that the kernel allocates nothing. Returns NaN, having changed nothing,
    when a ring or ``order`` lacks room for this report's rows (the caller grows them and calls
    again).
    """
    n = send_ms.shape[0]
    if n == 0:
        return state[TARGET_KBPS]
    room_acked = acked_ms.shape[0] - flags[ACKED_LEN]
    room_history = history.shape[0] - flags[HISTORY_LEN]
    if room_acked < n or room_history < HISTORY_ROWS_PER_REPORT or order.shape[0] < n:
        return np.nan
    n_ok = 0
    last = 0  # the last received packet in sequence order
    in_order = True  # the received packets' arrivals never decrease (usually)
    for i in range(n):
        if arrival_ms[i] == arrival_ms[i]:  # NaN: lost
            if n_ok and arrival_ms[i] < arrival_ms[last]:
                in_order = False
            last = i
            n_ok += 1
    if in_order:
        for i in range(n):
            if arrival_ms[i] == arrival_ms[i]:
                detect_packet(
                    groups, counters, values, counts, xs, ys, params, gcc, arrival_ms[i], send_ms[i]
                )
    else:
        arrival_order(arrival_ms, order)
        for k in range(n_ok):
            i = order[k]
            detect_packet(
                groups, counters, values, counts, xs, ys, params, gcc, arrival_ms[i], send_ms[i]
            )
        last = order[n_ok - 1]
    rtt = rtt_ms(state, arrival_ms, send_ms, n_ok, last)
    state[RTT_MS] = rtt
    has_throughput, throughput = acked_update(
        state, flags, acked_ms, acked_bytes, arrival_ms, size_bytes, now_ms, gcc
    )
    delay_kbps = aimd_update(state, flags, counts[STATE], has_throughput, throughput, now_ms, gcc)
    loss_update(state, flags, history, n - n_ok, n, now_ms, rtt, gcc)
    state[TARGET_KBPS] = loss_cap(state, flags, history, delay_kbps, now_ms, gcc)
    return state[TARGET_KBPS]
