"""Scripted transport feedback for controller tests: a FIFO bottleneck of known capacity.

Frames at ``fps`` are split into 1200-byte packets sent at capture time; the bottleneck serves
them in order at ``capacity_kbps`` after a fixed propagation delay. A report at ``now_ms`` covers
the packets that have arrived by then (the rest are reported later), like transport feedback.
"""

from __future__ import annotations

import numpy as np

from artic_rl.sender.feedback import PacketReports

PACKET_BYTES = 1200


class ScriptedLink:
    def __init__(self, base_delay_ms: float = 20.0, fps: float = 30.0) -> None:
        self.base_delay_ms = base_delay_ms
        self.fps = fps
        self.free_ms = 0.0  # when the bottleneck finishes its backlog
        self.next_frame_ms = 0.0
        self.pending: list[tuple[float, float, int]] = []  # (send, arrival, size) not yet reported
        self.seq = 0

    def queue_ms(self, now_ms: float) -> float:
        return max(0.0, self.free_ms - now_ms)

    def interval(
        self, start_ms: float, interval_ms: float, rate_kbps: float, capacity_kbps: float
    ) -> PacketReports:
        """Send at ``rate_kbps`` during one interval; the report of what arrived by its end."""
        frame_bytes = round(rate_kbps * 1000.0 / 8.0 / self.fps)
        end_ms = start_ms + interval_ms
        while self.next_frame_ms < end_ms:
            t = self.next_frame_ms
            remaining = frame_bytes
            while remaining > 0:
                b = min(PACKET_BYTES, remaining)
                remaining -= b
                self.free_ms = max(self.free_ms, t) + b * 8.0 / capacity_kbps
                self.pending.append((t, self.free_ms + self.base_delay_ms, b))
            self.next_frame_ms += 1000.0 / self.fps
        done = [p for p in self.pending if p[1] <= end_ms]
        self.pending = [p for p in self.pending if p[1] > end_ms]
        n = len(done)
        seq = np.arange(self.seq, self.seq + n, dtype=np.int64)
        self.seq += n
        return PacketReports(
            seq=seq,
            send_ms=np.asarray([p[0] for p in done], dtype=np.float64),
            arrival_ms=np.asarray([p[1] for p in done], dtype=np.float64),
            size_bytes=np.asarray([p[2] for p in done], dtype=np.int64),
        )
