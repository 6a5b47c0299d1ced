"""GCC's AIMD rate controller (draft-ietf-rmcat-gcc-02 section 5.5, libwebrtc ``aimd_rate_control``).

A three-state machine driven by the overuse detector:

* *overusing* -> **decrease**: rate = beta (0.85) x the measured (acknowledged) throughput,
  applied only if lower than the current rate; the throughput at the overuse feeds a
  :class:`LinkCapacityEstimator`; then **hold**.
* *normal* -> **increase** (from hold): multiplicatively, 8 % per second, while the link's
  capacity is unknown; additively (about one packet per response time, ``rtt + 100 ms`` doubled)
  once an estimate exists ("near convergence"). Never above 1.5 x throughput + 10 kbps, so an
  application-limited sender does not inflate the estimate.
* *underusing* -> **hold** (queues are draining; wait).
"""

from __future__ import annotations

import math
from enum import Enum

from artic_rl.control.delay_based import BandwidthUsage

FRAME_INTERVAL_S = 1.0 / 30.0  # GCC's additive step assumes 30 fps
PACKET_BITS = 1200 * 8  # and packets of at most 1200 bytes
MIN_ADDITIVE_KBPS_PER_S = 4.0
BITS_PER_KBIT = 1000.0
MS_PER_S = 1000.0


class RateControlState(Enum):
    HOLD = "hold"
    INCREASE = "increase"
    DECREASE = "decrease"


class LinkCapacityEstimator:
    """Exponentially smoothed throughput at overuse events, with a normalised deviation.

    ``upper``/``lower`` are the estimate +- 3 standard deviations; an increase while the
    throughput is inside them is additive (the link is near its capacity).
    """

    ALPHA = 0.05
    DEVIATION_MIN, DEVIATION_MAX = 0.4, 2.5

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.estimate_kbps: float | None = None
        self.deviation = self.DEVIATION_MIN

    def on_overuse(self, throughput_kbps: float) -> None:
        """Absorb the throughput measured when overuse was detected."""
        if self.estimate_kbps is None:
            self.estimate_kbps = throughput_kbps
        else:
            self.estimate_kbps = (
                1 - self.ALPHA
            ) * self.estimate_kbps + self.ALPHA * throughput_kbps
        norm = max(self.estimate_kbps, 1.0)
        error = self.estimate_kbps - throughput_kbps
        self.deviation = (1 - self.ALPHA) * self.deviation + self.ALPHA * error * error / norm
        self.deviation = min(max(self.deviation, self.DEVIATION_MIN), self.DEVIATION_MAX)

    def _spread(self) -> float:
        assert self.estimate_kbps is not None
        return 3.0 * math.sqrt(self.deviation * self.estimate_kbps)

    @property
    def upper_kbps(self) -> float:
        return math.inf if self.estimate_kbps is None else self.estimate_kbps + self._spread()

    @property
    def lower_kbps(self) -> float:
        if self.estimate_kbps is None:
            return 0.0
        return max(0.0, self.estimate_kbps - self._spread())


class AimdRateControl:
    """Clock-injected AIMD rate controller.

    Args:
        start_kbps: initial rate (WebRTC starts at 300 kbps).
        min_kbps: lower clamp.
        max_kbps: upper clamp.
        beta: multiplicative decrease factor on overuse.
        increase_per_s: multiplicative increase factor per second (1.08).
    """

    def __init__(
        self,
        start_kbps: float = 300.0,
        min_kbps: float = 100.0,
        max_kbps: float = 4000.0,
        beta: float = 0.85,
        increase_per_s: float = 1.08,
    ) -> None:
        self.start_kbps = start_kbps
        self.min_kbps = min_kbps
        self.max_kbps = max_kbps
        self.beta = beta
        self.increase_per_s = increase_per_s
        self.link = LinkCapacityEstimator()
        self.reset()

    def reset(self) -> None:
        self.rate_kbps = self.start_kbps
        self.state = RateControlState.HOLD
        self.rtt_ms = 200.0
        self.link.reset()
        self._last_change_ms: float | None = None
        self._throughput_kbps = self.start_kbps

    def update(self, usage: BandwidthUsage, throughput_kbps: float | None, now_ms: float) -> float:
        """One controller step at ``now_ms``; returns the new rate (kbps)."""
        if throughput_kbps is not None:
            self._throughput_kbps = throughput_kbps
        throughput = self._throughput_kbps
        self._change_state(usage, now_ms)
        new_kbps = self.rate_kbps
        if self.state is RateControlState.INCREASE:
            if throughput > self.link.upper_kbps:
                self.link.reset()  # the link got faster: probe multiplicatively again
            limit = 1.5 * throughput + 10.0
            if self.rate_kbps < limit:
                dt_ms = 0.0 if self._last_change_ms is None else now_ms - self._last_change_ms
                if self.link.estimate_kbps is not None:
                    step = self.additive_kbps_per_s() * dt_ms / MS_PER_S
                else:
                    step = self._multiplicative_step_kbps(dt_ms)
                new_kbps = min(self.rate_kbps + step, limit)
            self._last_change_ms = now_ms
        elif self.state is RateControlState.DECREASE:
            decreased = self.beta * throughput
            if decreased > self.rate_kbps and self.link.estimate_kbps is not None:
                decreased = self.beta * self.link.estimate_kbps
            if decreased < self.rate_kbps:
                new_kbps = decreased
            if throughput < self.link.lower_kbps:
                self.link.reset()  # the link got slower: forget the old capacity
            self.link.on_overuse(throughput)
            self.state = RateControlState.HOLD
            self._last_change_ms = now_ms
        self.rate_kbps = min(max(new_kbps, self.min_kbps), self.max_kbps)
        return self.rate_kbps

    def _change_state(self, usage: BandwidthUsage, now_ms: float) -> None:
        if usage is BandwidthUsage.NORMAL:
            if self.state is RateControlState.HOLD:
                self._last_change_ms = now_ms
                self.state = RateControlState.INCREASE
        elif usage is BandwidthUsage.OVERUSING:
            self.state = RateControlState.DECREASE
        else:
            self.state = RateControlState.HOLD

    def _multiplicative_step_kbps(self, dt_ms: float) -> float:
        factor = self.increase_per_s ** min(dt_ms / MS_PER_S, 1.0)
        return max(self.rate_kbps * (factor - 1.0), 1.0)

    def additive_kbps_per_s(self) -> float:
        """About one average packet per response time (``2 * (rtt + 100 ms)``), at least 4 kbps/s."""
        frame_bits = self.rate_kbps * BITS_PER_KBIT * FRAME_INTERVAL_S
        packets_per_frame = max(1.0, math.ceil(frame_bits / PACKET_BITS))
        avg_packet_bits = frame_bits / packets_per_frame
        response_s = 2.0 * (self.rtt_ms + 100.0) / MS_PER_S
        return max(MIN_ADDITIVE_KBPS_PER_S, avg_packet_bits / response_s / BITS_PER_KBIT)
