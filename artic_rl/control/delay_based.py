"""GCC's delay-based congestion detector: packet groups, trendline filter, overuse detector.

Follows the Google Congestion Control draft (draft-ietf-rmcat-gcc-02, section 5) and the
send-side variant deployed in libwebrtc (``inter_arrival_delta``, ``trendline_estimator``):

1. :class:`InterArrival` groups packets sent within 5 ms of a group's first packet (one burst,
   typically one video frame) and, when a group completes, emits the *inter-group delay
   variation* ``d = (arrival_i - arrival_{i-1}) - (send_i - send_{i-1})``. Packets that arrive
   within 5 ms of the group's last one while the gradient is negative also join it (a burst
   that queued behind the previous one), as long as the group lasts under 100 ms.
2. :class:`TrendlineEstimator` accumulates ``d`` into a delay curve, smooths it exponentially
   (coefficient 0.9), and fits a least-squares line over the last 20 groups; the slope is the
   queue's growth rate ((send rate - capacity) / capacity).
3. Its overuse detector compares ``slope * min(n, 60) * 4`` with an adaptive threshold
   (starts at 12.5, grows with ``k_up = 0.0087`` and shrinks with ``k_down = 0.039`` per ms,
   clamped to [6, 600]); *overusing* is declared once the signal stays above the threshold
   for more than 10 ms over at least two groups and is not decreasing.

Everything is clock-injected: times are the packets' own ``send_ms`` / ``arrival_ms``.

Both classes take ``backend``: ``"python"`` runs the code below (the reference), ``"compiled"`` the
same rules restated over arrays in :mod:`~artic_rl.control._gcc_kernels` (numba), with the very
same numbers. Their batched forms, :meth:`InterArrival.group_deltas` and
:meth:`TrendlineEstimator.update_all`, take a feedback report's packets in one call.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from types import ModuleType
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from artic_rl.backend import check_backend

if TYPE_CHECKING:
    from collections.abc import Sequence

BURST_MS = 5.0  # packets sent within this of a group's first one form one group
MAX_BURST_MS = 100.0  # a burst group never spans more than this on arrival
REORDER_RESET = 3  # this many groups arriving out of order reset the grouping


class BandwidthUsage(Enum):
    """The detector's hypothesis about the bottleneck queue."""

    NORMAL = "normal"
    UNDERUSING = "underusing"
    OVERUSING = "overusing"


class GroupDelta(NamedTuple):
    """Deltas between two consecutive packet groups (ms), emitted when the later one completes."""

    send_delta_ms: float
    arrival_delta_ms: float
    arrival_ms: float  # arrival of the completed group's last packet

    @property
    def delay_variation_ms(self) -> float:
        return self.arrival_delta_ms - self.send_delta_ms


@dataclass(slots=True)
class _Group:
    first_send_ms: float
    send_ms: float
    first_arrival_ms: float
    arrival_ms: float


class InterArrival:
    """Groups packets into send bursts and yields the delay variation between groups.

    Args:
        group_ms: length of a send-time group (5 ms in GCC).
        backend: ``"python"`` (the reference) or ``"compiled"`` (the same numbers, faster).
    """

    def __init__(self, group_ms: float = BURST_MS, backend: str = "python") -> None:
        self.group_ms = group_ms
        self.backend = check_backend(backend)
        self._kernels = _compiled_kernels() if self.backend == "compiled" else None
        self.reset()

    def reset(self) -> None:
        self._current: _Group | None = None
        self._previous: _Group | None = None
        self._reordered = 0
        if self.backend == "compiled":  # the same state as arrays (see _gcc_kernels)
            self._groups = np.zeros((2, 4), dtype=np.float64)
            self._counters = np.zeros(3, dtype=np.int64)

    def packet(self, send_ms: float, arrival_ms: float) -> GroupDelta | None:
        """Add one received packet (in arrival order); returns deltas when a group completes."""
        deltas = self.packets([(arrival_ms, send_ms)])
        return deltas[0] if deltas else None

    def group_deltas(
        self, arrival_ms: Sequence[float] | np.ndarray, send_ms: Sequence[float] | np.ndarray
    ) -> np.ndarray:
        """:meth:`packets` on parallel sequences, in arrival order: the deltas as an ``(n, 3)``
        float64 array, one :class:`GroupDelta` per row (what :meth:`TrendlineEstimator.update_all`
        takes)."""
        if self.backend == "python":
            deltas = self.packets(zip(arrival_ms, send_ms, strict=True))
            return np.array(deltas, dtype=np.float64).reshape(len(deltas), 3)
        arrival = np.ascontiguousarray(arrival_ms, dtype=np.float64)
        send = np.ascontiguousarray(send_ms, dtype=np.float64)
        if arrival.ndim != 1 or arrival.shape != send.shape:
            raise ValueError("arrival_ms and send_ms must be 1-D and of the same length")
        out = np.empty((arrival.size, 3), dtype=np.float64)
        n = self._kernels.inter_arrival_packets(  # type: ignore[union-attr]
            self._groups,
            self._counters,
            arrival,
            send,
            float(self.group_ms),
            BURST_MS,
            MAX_BURST_MS,
            REORDER_RESET,
            out,
        )
        return out[:n]

    def packets(self, received: Iterable[tuple[float, float]]) -> list[GroupDelta]:
        """Add received packets, ``(arrival_ms, send_ms)`` in arrival order (a feedback report's).

        Returns the deltas of the groups they complete, in order: the same as :meth:`packet` per
        packet, in one loop (a report holds a few dozen packets and only a few groups).
        """
        if self.backend == "compiled":
            pairs = list(received)
            deltas = self.group_deltas([p[0] for p in pairs], [p[1] for p in pairs])
            return [GroupDelta(*row) for row in deltas.tolist()]
        out: list[GroupDelta] = []
        group_ms = self.group_ms
        cur = self._current
        for arrival_ms, send_ms in received:
            if cur is None:
                cur = self._current = _Group(send_ms, send_ms, arrival_ms, arrival_ms)
                continue
            if send_ms < cur.first_send_ms:
                continue  # reordered into an older group: ignored, as libwebrtc does
            # sent over group_ms after the group's first packet: a new group, unless it queued
            # behind it
            if send_ms - cur.first_send_ms > group_ms and not self._belongs_to_burst(
                cur, send_ms, arrival_ms
            ):
                delta = self._next_group(cur, send_ms, arrival_ms)
                if delta is not None:
                    out.append(delta)
                cur = self._current
                continue
            if send_ms > cur.send_ms:
                cur.send_ms = send_ms
            if arrival_ms > cur.arrival_ms:
                cur.arrival_ms = arrival_ms
        return out

    def _next_group(self, cur: _Group, send_ms: float, arrival_ms: float) -> GroupDelta | None:
        """Close the current group, open one with this packet; the closed group's deltas, if any."""
        out: GroupDelta | None = None
        prev = self._previous
        if prev is not None:
            send_delta = cur.send_ms - prev.send_ms
            arrival_delta = cur.arrival_ms - prev.arrival_ms
            if arrival_delta < 0:
                self._reordered += 1
                if self._reordered >= REORDER_RESET:
                    self.reset()
                    self._current = _Group(send_ms, send_ms, arrival_ms, arrival_ms)
                    return None
            else:
                self._reordered = 0
                out = GroupDelta(send_delta, arrival_delta, cur.arrival_ms)
        self._previous = cur
        self._current = _Group(send_ms, send_ms, arrival_ms, arrival_ms)
        return out

    @staticmethod
    def _belongs_to_burst(cur: _Group, send_ms: float, arrival_ms: float) -> bool:
        arrival_delta = arrival_ms - cur.arrival_ms
        send_delta = send_ms - cur.send_ms
        if send_delta == 0:
            return True
        propagation_delta = arrival_delta - send_delta
        return (
            propagation_delta < 0
            and arrival_delta <= BURST_MS
            and arrival_ms - cur.first_arrival_ms < MAX_BURST_MS
        )


class TrendlineEstimator:
    """Trendline filter plus adaptive-threshold overuse detector (GCC's delay-based detector).

    Args:
        window: number of groups in the least-squares fit (20).
        smoothing: exponential smoothing coefficient of the accumulated delay (0.9).
        gain: threshold gain applied to the slope (4).
        k_up: threshold adaptation rate when the signal is above it (per ms).
        k_down: threshold adaptation rate when the signal is below it (per ms).
        overuse_ms: how long the signal must stay above the threshold (10 ms).
        initial_threshold: starting threshold (12.5).
        backend: ``"python"`` (the reference) or ``"compiled"`` (the same numbers, faster).
    """

    MIN_DELTAS = 60  # the slope is scaled by min(number of deltas, 60)
    MAX_DELTAS = 1000
    MAX_ADAPT_OFFSET = 15.0  # spikes beyond threshold + this do not adapt the threshold
    MAX_ADAPT_MS = 100.0
    THRESHOLD_MIN, THRESHOLD_MAX = 6.0, 600.0

    def __init__(
        self,
        window: int = 20,
        smoothing: float = 0.9,
        gain: float = 4.0,
        k_up: float = 0.0087,
        k_down: float = 0.039,
        overuse_ms: float = 10.0,
        initial_threshold: float = 12.5,
        backend: str = "python",
    ) -> None:
        self.backend = check_backend(backend)
        self._kernels = _compiled_kernels() if self.backend == "compiled" else None
        self.window = window
        self.smoothing = smoothing
        self.gain = gain
        self.k_up = k_up
        self.k_down = k_down
        self.overuse_ms = overuse_ms
        self.initial_threshold = initial_threshold
        self.reset()

    def reset(self) -> None:
        self.num_deltas = 0
        self.accumulated_ms = 0.0
        self.smoothed_ms = 0.0
        self.trend = 0.0
        self.modified_trend = 0.0
        self.threshold = self.initial_threshold
        self.state = BandwidthUsage.NORMAL
        self._first_arrival_ms: float | None = None
        # the last ``window`` points of the delay curve:
        # x = arrival since the first delta, y = smoothed accumulated delay
        self._x_ms: deque[float] = deque(maxlen=self.window)
        self._y_ms: deque[float] = deque(maxlen=self.window)
        self._last_threshold_ms: float | None = None
        self._time_over_ms = -1.0
        self._overuse_count = 0
        if self.backend == "compiled":
            self._reset_arrays()

    def _reset_arrays(self) -> None:
        """The compiled backend's state: the attributes above as arrays (see _gcc_kernels)."""
        k = _compiled_kernels()
        self._values = np.zeros(k.N_VALUES, dtype=np.float64)
        self._values[k.THRESHOLD] = self.threshold
        self._values[k.TIME_OVER_MS] = self._time_over_ms
        self._counts = np.zeros(k.N_COUNTS, dtype=np.int64)
        self._ring_x = np.zeros(self.window, dtype=np.float64)
        self._ring_y = np.zeros(self.window, dtype=np.float64)
        self._params = k.trendline_params(
            self.smoothing,
            self.gain,
            self.k_up,
            self.k_down,
            self.overuse_ms,
            self.MIN_DELTAS,
            self.MAX_DELTAS,
            self.MAX_ADAPT_OFFSET,
            self.MAX_ADAPT_MS,
            self.THRESHOLD_MIN,
            self.THRESHOLD_MAX,
        )

    def update_all(self, deltas: np.ndarray) -> BandwidthUsage:
        """:meth:`update` for each row of an ``(n, 3)`` array of :class:`GroupDelta` fields, in
        order (a report's groups, from :meth:`InterArrival.group_deltas`); the final hypothesis."""
        if self.backend == "python":
            update = self.update
            for row in deltas.tolist():
                update(GroupDelta(*row))
            return self.state
        k = self._kernels
        assert k is not None
        k.trendline_update(
            self._values, self._counts, self._ring_x, self._ring_y, deltas, self._params
        )
        self.refresh()
        return self.state

    def refresh(self) -> None:
        """Compiled backend: set the public attributes from the arrays, as the reference keeps
        them (after a kernel that updated the arrays: :meth:`update_all`, GCC's)."""
        k = self._kernels
        assert k is not None
        values, counts = self._values, self._counts
        (self.accumulated_ms, self.smoothed_ms, self.trend, self.modified_trend, self.threshold) = (
            values[: k.FIRST_ARRIVAL_MS].tolist()
        )
        self.num_deltas = int(counts[k.NUM_DELTAS])
        self.state = _USAGE_BY_CODE[counts[k.STATE]]

    def update(self, delta: GroupDelta) -> BandwidthUsage:
        """Absorb one inter-group delta and return the (possibly new) hypothesis."""
        if self.backend == "compiled":
            return self.update_all(np.array([delta], dtype=np.float64).reshape(1, 3))
        send_delta_ms, arrival_delta_ms, arrival_ms = delta
        num_deltas = self.num_deltas + 1
        self.num_deltas = num_deltas if num_deltas < self.MAX_DELTAS else self.MAX_DELTAS
        first_ms = self._first_arrival_ms
        if first_ms is None:
            first_ms = self._first_arrival_ms = arrival_ms
        accumulated = self.accumulated_ms + (arrival_delta_ms - send_delta_ms)
        self.accumulated_ms = accumulated
        smoothed = self.smoothing * self.smoothed_ms + (1.0 - self.smoothing) * accumulated
        self.smoothed_ms = smoothed
        xs, ys = self._x_ms, self._y_ms
        xs.append(arrival_ms - first_ms)
        ys.append(smoothed)
        trend = self.trend
        if len(xs) == self.window:
            slope = _linear_fit_slope(xs, ys)
            if slope is not None:
                trend = slope
        self._detect(trend, send_delta_ms, arrival_ms)
        return self.state

    def _detect(self, trend: float, send_delta_ms: float, now_ms: float) -> None:
        if self.num_deltas < 2:
            self.state = BandwidthUsage.NORMAL
            return
        modified = min(self.num_deltas, self.MIN_DELTAS) * trend * self.gain
        self.modified_trend = modified
        if modified > self.threshold:
            if self._time_over_ms < 0:
                self._time_over_ms = send_delta_ms / 2.0  # assume over half the last gap
            else:
                self._time_over_ms += send_delta_ms
            self._overuse_count += 1
            if (
                self._time_over_ms > self.overuse_ms
                and self._overuse_count > 1
                and trend >= self.trend
            ):
                self._time_over_ms = 0.0
                self._overuse_count = 0
                self.state = BandwidthUsage.OVERUSING
        elif modified < -self.threshold:
            self._time_over_ms = -1.0
            self._overuse_count = 0
            self.state = BandwidthUsage.UNDERUSING
        else:
            self._time_over_ms = -1.0
            self._overuse_count = 0
            self.state = BandwidthUsage.NORMAL
        self.trend = trend
        self._update_threshold(modified, now_ms)

    def _update_threshold(self, modified: float, now_ms: float) -> None:
        if self._last_threshold_ms is None:
            self._last_threshold_ms = now_ms
        magnitude, threshold = abs(modified), self.threshold
        if magnitude > threshold + self.MAX_ADAPT_OFFSET:
            self._last_threshold_ms = now_ms  # a sudden spike: do not chase it
            return
        k = self.k_down if magnitude < threshold else self.k_up
        dt_ms = min(now_ms - self._last_threshold_ms, self.MAX_ADAPT_MS)
        threshold += k * (magnitude - threshold) * dt_ms
        self.threshold = min(max(threshold, self.THRESHOLD_MIN), self.THRESHOLD_MAX)
        self._last_threshold_ms = now_ms


def _compiled_kernels() -> ModuleType:
    """The compiled backend's kernels (imported on demand: numba is an optional dependency)."""
    from artic_rl.control import _gcc_kernels

    return _gcc_kernels


# the compiled backend's hypothesis codes (_gcc_kernels.NORMAL, UNDERUSING, OVERUSING)
_USAGE_BY_CODE = (BandwidthUsage.NORMAL, BandwidthUsage.UNDERUSING, BandwidthUsage.OVERUSING)


def _linear_fit_slope(xs: deque[float], ys: deque[float]) -> float | None:
    """Least-squares slope of y on x; ``None`` when all x are equal.

    Called once per packet group, so it is one plain loop over centred points (centring keeps
    the large arrival times from cancelling); the sums are ordinary float sums, in order, on
    every Python version (``sum()`` of floats is compensated from 3.12 on), as the compiled
    kernel's.
    """
    n = len(xs)
    x_sum = y_sum = 0.0
    for x, y in zip(xs, ys, strict=True):
        x_sum += x
        y_sum += y
    x_avg = x_sum / n
    y_avg = y_sum / n
    num = den = 0.0
    for x, y in zip(xs, ys, strict=True):
        dx = x - x_avg
        num += dx * (y - y_avg)
        den += dx * dx
    return None if den == 0.0 else num / den
