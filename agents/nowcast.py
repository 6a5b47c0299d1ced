"""``nowcast``: ``oracle``'s rule on the capacity a sender can measure (not privileged).

The bitrate is ``margin`` x the busy link's delivery rate over the last second
(:class:`artic_rl.control.capacity.CapacityEstimator`) minus what drains the standing queue;
Artic's ROI and frame rate. It is what ``oracle`` becomes without the privileged capacity: how
much of the oracle's edge over ``artic`` a causal capacity measurement keeps.
"""

from __future__ import annotations

import math

from artic_rl.agents.oracle import OracleAgent
from artic_rl.control.capacity import CapacityEstimator
from artic_rl.sender.actions import ActionCodec
from artic_rl.sender.feedback import FeedbackReport


class NowcastAgent(OracleAgent):
    """``oracle`` on the measured capacity.

    Args:
        margin: share of the measured capacity used.
        drain_ms: the current queue is drained over this long.
        fps: frame rate.
        roi_level: ROI level while the cloud's region is known.
        start_kbps: the capacity assumed before the first measurement.
        window_ms: how far back the measurement reaches.
    """

    name = "nowcast"
    privileged = False

    def __init__(
        self,
        margin: float = 0.6,
        drain_ms: float = 200.0,
        fps: float = 10.0,
        roi_level: int = 3,
        start_kbps: float = 600.0,
        window_ms: float = 1000.0,
        codec: ActionCodec | None = None,
        interval_ms: float = 200.0,
    ) -> None:
        self.start_kbps = float(start_kbps)
        self.estimator = CapacityEstimator(window_ms)
        super().__init__(margin, drain_ms, fps, roi_level, codec=codec, interval_ms=interval_ms)

    def reset(self) -> None:
        super().reset()
        self.estimator.reset()
        self.capacity_kbps = self.start_kbps

    def observe(self, feedback: FeedbackReport) -> None:
        super().observe(feedback)
        self.estimator.update(feedback.packets)
        measured = self.estimator.kbps
        if not math.isnan(measured):
            self.capacity_kbps = measured
