"""Throughput estimators over transport feedback: acknowledged rate, harmonic mean, prediction error.

All clock-injected: times are the packets' ``arrival_ms`` and the caller's ``now_ms``.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from artic_rl.sender.feedback import PacketReports

BITS_PER_BYTE = 8.0


def harmonic_mean(samples_kbps: list[float] | np.ndarray) -> float:
    """Harmonic mean of positive samples (0 when there are none or any is not positive)."""
    x = np.asarray(samples_kbps, dtype=np.float64)
    if x.size == 0 or np.any(x <= 0):
        return 0.0
    return float(x.size / np.sum(1.0 / x))


def delivered_kbps(packets: PacketReports, interval_ms: float) -> float:
    """Bytes that arrived in the report, over the report's interval (kbps = bits per ms)."""
    ok = ~np.isnan(packets.arrival_ms)
    return float(packets.size_bytes[ok].sum()) * BITS_PER_BYTE / interval_ms


class AckedThroughput:
    """Received bitrate over a sliding window of arrival times (GCC's acknowledged bitrate).

    Args:
        window_ms: averaging window (500 ms).
    """

    def __init__(self, window_ms: float = 500.0) -> None:
        self.window_ms = window_ms
        self.reset()

    def reset(self) -> None:
        self._arrivals: deque[tuple[float, int]] = deque()
        self._bytes = 0
        self._first_ms: float | None = None

    def update(self, packets: PacketReports, now_ms: float) -> float | None:
        """Absorb the received packets of one report; returns the rate in kbps, or ``None`` before any."""
        delivered = packets.delivered
        arrived, sizes = delivered.arrival_ms, delivered.size_bytes
        arrivals = self._arrivals
        if arrived:
            arrivals.extend(zip(arrived, sizes, strict=True))
            self._bytes += sum(sizes)
            if self._first_ms is None:
                self._first_ms = arrived[0]
        expired_ms = now_ms - self.window_ms
        while arrivals and arrivals[0][0] <= expired_ms:
            self._bytes -= arrivals.popleft()[1]
        if self._first_ms is None:
            return None
        span_ms = min(self.window_ms, max(now_ms - self._first_ms, self.window_ms / 4))
        return self._bytes * BITS_PER_BYTE / span_ms


class ThroughputHistory:
    """Recent per-interval throughput samples and the errors of past predictions (robust MPC).

    Args:
        window: samples in the harmonic mean and in the error window (5, as in Pensieve's MPC).
    """

    def __init__(self, window: int = 5) -> None:
        self.window = window
        self.reset()

    def reset(self) -> None:
        self.samples: deque[float] = deque(maxlen=self.window)
        self.errors: deque[float] = deque(maxlen=self.window)
        self._last_prediction: float | None = None

    def add(self, sample_kbps: float) -> None:
        """Record one measured throughput; scores the prediction made before it."""
        if self._last_prediction is not None and sample_kbps > 0:
            self.errors.append(abs(self._last_prediction - sample_kbps) / sample_kbps)
        if sample_kbps > 0:
            self.samples.append(sample_kbps)
        self._last_prediction = harmonic_mean(list(self.samples)) or None

    def predict(self) -> float:
        """Harmonic mean of the recent samples (0 before any)."""
        return harmonic_mean(list(self.samples))

    def robust_predict(self) -> float:
        """The prediction discounted by the largest recent relative error: ``hm / (1 + max_err)``."""
        max_err = max(self.errors, default=0.0)
        return self.predict() / (1.0 + max_err)
