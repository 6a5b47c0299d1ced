"""Google Congestion Control as deployed in WebRTC (send side, transport-wide feedback).

Per feedback report: received packets, in arrival order, go through :class:`InterArrival` and
:class:`TrendlineEstimator`; the detector's final hypothesis and the acknowledged throughput drive
:class:`AimdRateControl` once; the report's loss fraction drives :class:`LossBasedControl`;
the target is the minimum of the two. One class serves the simulator (fed
``info["feedback"].packets``) and the runtime streamer (fed parsed RTCP feedback).

``backend="compiled"`` runs the delay-based detector (inter-arrival grouping and trendline, most of
the work) as compiled kernels, one call each per report, with the reference's very numbers.
"""

from __future__ import annotations

import math
from operator import itemgetter, le

import numpy as np

from artic_rl.backend import check_backend
from artic_rl.control.aimd import AimdRateControl
from artic_rl.control.delay_based import BandwidthUsage, InterArrival, TrendlineEstimator
from artic_rl.control.loss_based import LossBasedControl
from artic_rl.control.throughput import AckedThroughput
from artic_rl.sender.actions import MAX_RATE_KBPS, MIN_RATE_KBPS
from artic_rl.sender.feedback import PacketReports


class GccController:
    """Delay-based + loss-based GCC.

    Args:
        start_kbps: initial target (WebRTC: 300 kbps).
        min_kbps: lowest target.
        max_kbps: highest target.
        beta: AIMD decrease factor (0.85).
        trendline_window: groups in the trendline fit (20).
        group_ms: send-burst grouping (5 ms).
        throughput_window_ms: acknowledged-bitrate window (500 ms).
        backend: ``"python"`` (the reference) or ``"compiled"`` (the delay-based detector as
            compiled kernels: the same numbers, faster).
    """

    def __init__(
        self,
        start_kbps: float = 300.0,
        min_kbps: float = 100.0,
        max_kbps: float = 4000.0,
        beta: float = 0.85,
        trendline_window: int = 20,
        group_ms: float = 5.0,
        throughput_window_ms: float = 500.0,
        backend: str = "python",
    ) -> None:
        self.backend = check_backend(backend)
        self.inter_arrival = InterArrival(group_ms, backend=backend)
        self.trendline = TrendlineEstimator(window=trendline_window, backend=backend)
        self.aimd = AimdRateControl(start_kbps, min_kbps, max_kbps, beta)
        self.loss = LossBasedControl(start_kbps, min_kbps, max_kbps)
        self.acked = AckedThroughput(throughput_window_ms)
        self.min_owd_ms = math.inf
        self.target_kbps = start_kbps

    def reset(self) -> None:
        for part in (self.inter_arrival, self.trendline, self.aimd, self.loss, self.acked):
            part.reset()
        self.min_owd_ms = math.inf
        self.target_kbps = self.aimd.start_kbps

    @property
    def usage(self) -> BandwidthUsage:
        return self.trendline.state

    def on_feedback(self, packets: PacketReports, now_ms: float) -> float:
        """Absorb one transport feedback report at ``now_ms``; returns the target rate (kbps)."""
        n = len(packets)
        if n == 0:
            return self.target_kbps
        delivered = packets.delivered
        arrival = delivered.arrival_ms
        received = list(zip(arrival, delivered.send_ms, strict=True))
        in_order = all(map(le, arrival, arrival[1:]))  # usually in arrival order already
        if not in_order:
            received.sort(key=itemgetter(0))  # arrival order; stable: ties stay in sequence order
        if self.backend == "compiled":
            self._detect_compiled(packets, received, in_order)
        else:
            update = self.trendline.update
            for delta in self.inter_arrival.packets(received):
                update(delta)
        rtt_ms = self._rtt_ms(received, delivered.owd_ms)
        self.aimd.rtt_ms = rtt_ms
        throughput = self.acked.update(packets, now_ms)
        delay_kbps = self.aimd.update(self.trendline.state, throughput, now_ms)
        self.loss.update(n - len(received), n, now_ms, rtt_ms)
        self.target_kbps = self.loss.cap(delay_kbps, now_ms)
        return self.target_kbps

    def _detect_compiled(
        self, packets: PacketReports, received: list[tuple[float, float]], in_order: bool
    ) -> None:
        """The delay-based detector on the report's own arrays: one kernel call each.

        ``received``: (arrival_ms, send_ms) of the received packets in arrival order, used only
        when the report is out of order (the arrays are then rebuilt from it).
        """
        if not in_order:
            pairs = np.array(received, dtype=np.float64)
            arrival, send = pairs[:, 0], pairs[:, 1]
        elif len(received) == len(packets):  # nothing lost
            arrival, send = packets.arrival_ms, packets.send_ms
        else:
            kept = ~np.isnan(packets.arrival_ms)
            arrival, send = packets.arrival_ms[kept], packets.send_ms[kept]
        self.trendline.update_all(self.inter_arrival.group_deltas(arrival, send))

    def _rtt_ms(self, received: list[tuple[float, float]], owd_ms: list[float]) -> float:
        """Round trip of the latest packet: its one-way delay plus the return path's base delay.

        ``received``: (arrival_ms, send_ms) of the report's received packets, in arrival order;
        ``owd_ms``: their one-way delays (in any order).
        """
        if not received:
            return self.aimd.rtt_ms
        self.min_owd_ms = min(self.min_owd_ms, min(owd_ms))
        arrival_ms, send_ms = received[-1]
        return arrival_ms - send_ms + self.min_owd_ms


def observation_estimator(
    backend: str = "python", max_kbps: float = MAX_RATE_KBPS
) -> GccController:
    """The GCC run for the observation's rate-estimate feature: WebRTC's 300 kbps start over the
    action's bitrate range, up to the environment's rate ceiling ``max_kbps``
    (``ObservationBuilder(interval_ms, observation_estimator())``)."""
    return GccController(
        start_kbps=300.0, min_kbps=MIN_RATE_KBPS, max_kbps=max_kbps, backend=backend
    )
