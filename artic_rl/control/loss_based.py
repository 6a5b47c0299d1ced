"""GCC's loss-based controller (draft-ietf-rmcat-gcc-02 section 6, libwebrtc's classic
``SendSideBandwidthEstimation``).

On each loss report covering at least ``min_packets`` packets, with loss fraction ``p``:

* ``p > 10 %``: rate x (1 - 0.5 p), at most once per ``300 ms + rtt``;
* ``p < 2 %``: 1.08 x the lowest rate of the last second + 1 kbps (at most ~8 % per second);
* otherwise hold.

The sender's target is the minimum of this and the delay-based estimate; the loss-based state is
itself capped by the delay-based estimate after every update, as libwebrtc does.
"""

from __future__ import annotations

import math
from collections import deque


class LossBasedControl:
    """Clock-injected loss-based rate control.

    Args:
        start_kbps: initial rate.
        min_kbps: lower clamp.
        max_kbps: upper clamp.
        low_loss: below this loss fraction the rate increases (0.02).
        high_loss: above this loss fraction the rate decreases (0.10).
        increase: growth factor over the last second's minimum (1.08).
        min_packets: packets a loss report must cover before it is acted upon (20).
        decrease_interval_ms: minimum time between decreases, plus the rtt (300 ms).
        history_ms: window of the minimum the increase starts from (1000 ms).
    """

    def __init__(
        self,
        start_kbps: float = 300.0,
        min_kbps: float = 100.0,
        max_kbps: float = 4000.0,
        low_loss: float = 0.02,
        high_loss: float = 0.10,
        increase: float = 1.08,
        min_packets: int = 20,
        decrease_interval_ms: float = 300.0,
        history_ms: float = 1000.0,
    ) -> None:
        self.start_kbps = start_kbps
        self.min_kbps = min_kbps
        self.max_kbps = max_kbps
        self.low_loss = low_loss
        self.high_loss = high_loss
        self.increase = increase
        self.min_packets = min_packets
        self.decrease_interval_ms = decrease_interval_ms
        self.history_ms = history_ms
        self.reset()

    def reset(self) -> None:
        self.rate_kbps = self.start_kbps
        self.last_loss = 0.0
        self._lost = 0
        self._expected = 0
        self._last_decrease_ms = -math.inf
        self._history: deque[tuple[float, float]] = deque()

    def update(self, lost: int, expected: int, now_ms: float, rtt_ms: float = 200.0) -> float:
        """Absorb a report of ``lost`` out of ``expected`` packets; returns the loss-based rate."""
        self._lost += lost
        self._expected += expected
        self._remember(now_ms)
        if self._expected >= self.min_packets:
            self.last_loss = self._lost / self._expected
            self._lost = self._expected = 0
            self._apply(now_ms, rtt_ms)
        self._remember(now_ms)
        return self.rate_kbps

    def cap(self, delay_based_kbps: float, now_ms: float) -> float:
        """Bound the state by the delay-based estimate (the sender's target is the minimum)."""
        if delay_based_kbps < self.rate_kbps:
            self.rate_kbps = max(delay_based_kbps, self.min_kbps)
            self._remember(now_ms)
        return self.rate_kbps

    def _apply(self, now_ms: float, rtt_ms: float) -> None:
        if self.last_loss < self.low_loss:
            floor_kbps = min((r for _, r in self._history), default=self.rate_kbps)
            self.rate_kbps = self.increase * floor_kbps + 1.0
        elif (
            self.last_loss > self.high_loss
            and now_ms - self._last_decrease_ms >= self.decrease_interval_ms + rtt_ms
        ):
            self._last_decrease_ms = now_ms
            self.rate_kbps *= 1.0 - 0.5 * self.last_loss
        self.rate_kbps = min(max(self.rate_kbps, self.min_kbps), self.max_kbps)

    def _remember(self, now_ms: float) -> None:
        """Keep the rates of the last ``history_ms`` (the oldest one is the increase's base)."""
        while self._history and self._history[-1][1] >= self.rate_kbps:
            self._history.pop()  # a monotone queue: only later, lower rates can be the minimum
        self._history.append((now_ms, self.rate_kbps))
        while self._history and now_ms - self._history[0][0] > self.history_ms:
            self._history.popleft()
