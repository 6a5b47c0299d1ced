"""``mpc``: robust model-predictive bitrate control with the environment's QoE shape (Pensieve-paper style)."""

from __future__ import annotations

import math

import numpy as np

from artic_rl.agents.base import Agent
from artic_rl.agents.rate import throughput_sample_kbps
from artic_rl.control.mpc import MpcWeights, RobustMpc, queue_delay_ms
from artic_rl.control.throughput import ThroughputHistory
from artic_rl.sender.actions import ActionCodec
from artic_rl.sender.feedback import FeedbackReport


class MpcAgent(Agent):
    """:class:`artic_rl.control.mpc.RobustMpc` over the bitrate tiers (30 fps, uniform quality).

    Args:
        horizon: intervals looked ahead.
        window: throughput samples in the prediction and its error window.
        probe: growth of the throughput sample while the link is not filled (see ``rate``).
        start_kbps: capacity assumed before the first sample.
        fps: frame rate.
        weights: QoE weights (:class:`MpcWeights` fields).
    """

    name = "mpc"

    def __init__(
        self,
        horizon: int = 3,
        window: int = 5,
        probe: float = 0.25,
        start_kbps: float = 300.0,
        fps: float = 30.0,
        weights: dict[str, float] | None = None,
        codec: ActionCodec | None = None,
        interval_ms: float = 200.0,
    ) -> None:
        super().__init__(codec, interval_ms)
        self.mpc = RobustMpc(
            self.codec.bitrates_kbps, horizon, interval_ms, MpcWeights(**(weights or {}))
        )
        self.history = ThroughputHistory(window)
        self.probe = probe
        self.start_kbps = start_kbps
        self.fps = fps
        self.reset()

    def reset(self) -> None:
        self.history.reset()
        self.queue_ms = 0.0
        self.min_owd_ms = math.inf
        self.confidence: np.ndarray | None = None

    def observe(self, feedback: FeedbackReport) -> None:
        pk = feedback.packets
        queue, self.min_owd_ms = queue_delay_ms(pk.send_ms, pk.arrival_ms, self.min_owd_ms)
        if not math.isnan(queue):
            self.queue_ms = queue
        sample = throughput_sample_kbps(feedback, self.probe, self.queue_ms, 40.0)
        if sample is not None and sample > 0:
            self.history.add(sample)
        self.confidence = feedback.confidence

    def act(self, observation: np.ndarray) -> np.ndarray:
        capacity = self.history.robust_predict() or self.start_kbps
        rate = self.mpc.plan(capacity, self.queue_ms, self.confidence)
        return self.codec.encode(rate, 0, self.fps)
