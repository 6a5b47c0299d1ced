"""The uplink's capacity now, measured from the delivery of the packets that queued.

A packet that reached the bottleneck while the one before it was still waiting there leaves one
service time after it: the gap between their arrivals is the link's, not the sender's. Over the
packets that queued this way, bytes delivered / time between arrivals is the link's delivery rate
while it was busy, the capacity of that moment (BBR's delivery rate, restricted to the busy link).
A packet that did not queue only shows that the link kept pace with the sender: its rate is a
lower bound. The estimate is the busy rate over a recent window, or, when too little queued in
it, the largest lower bound: two packets of one frame, which the pacer sends at 2.5 x the target,
so that the estimate sits above the sending rate and probes upward. Arrival gaps count as at
least ``MIN_GAP_MS`` (a clock's resolution must not read as a fast link).

Causal and clock-free: it reads only the feedback's send and arrival times. ``oracle`` reads the
true capacity instead (privileged); this is what a sender can know.
"""

from __future__ import annotations

import math
from collections import deque

from artic_rl.sender.feedback import PacketReports

BITS_PER_BYTE = 8.0
MIN_GAP_MS = 1.0  # an arrival gap shorter than this counts as this long (timestamp resolution)


class CapacityEstimator:
    """Busy-link delivery rate over the last ``window_ms`` of arrivals, in kbps.

    Args:
        window_ms: how far back the samples reach (arrival time).
        min_busy_ms: busy time the window must hold for its busy rate to count; less, and the
            lower bound is the estimate.
    """

    def __init__(self, window_ms: float = 1000.0, min_busy_ms: float = 20.0) -> None:
        if not window_ms > 0.0:
            raise ValueError(f"window_ms must be > 0, got {window_ms}")
        self.window_ms = float(window_ms)
        self.min_busy_ms = float(min_busy_ms)
        self.reset()

    def reset(self) -> None:
        # (arrival_ms, bytes, gap_ms, queued) per delivered packet after the first
        self._samples: deque[tuple[float, int, float, bool]] = deque()
        self._last_arrival_ms = math.nan  # the arrival reported last
        self.min_owd_ms = math.inf

    def update(self, packets: PacketReports) -> None:
        """Take one report's packets (any order; lost ones are skipped)."""
        d = packets.delivered
        if not d.arrival_ms:
            return
        self.min_owd_ms = min(self.min_owd_ms, min(d.owd_ms))
        for arrival, send, size in sorted(zip(d.arrival_ms, d.send_ms, d.size_bytes, strict=True)):
            last = self._last_arrival_ms
            if arrival >= last:  # False for the first arrival (NaN) and one reported late
                # queued: it would have arrived before the previous packet had the link been free
                queued = send + self.min_owd_ms <= last
                self._samples.append((arrival, size, arrival - last, queued))
            self._last_arrival_ms = arrival  # gaps run from the arrival reported last
        horizon = self._last_arrival_ms - self.window_ms
        while self._samples and self._samples[0][0] < horizon:
            self._samples.popleft()

    @property
    def kbps(self) -> float:
        """The capacity estimate; NaN before any two packets arrived."""
        busy_bytes, busy_ms, bound = 0, 0.0, math.nan
        for _, size, gap_ms, queued in self._samples:
            if queued:
                busy_bytes += size
                busy_ms += gap_ms
            else:
                rate = size * BITS_PER_BYTE / max(gap_ms, MIN_GAP_MS)
                bound = rate if not rate <= bound else bound  # max, NaN-safe
        if busy_ms >= self.min_busy_ms:
            return busy_bytes * BITS_PER_BYTE / busy_ms
        return bound
