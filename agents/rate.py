"""``rate``: throughput-based control — the harmonic mean of recent throughput times a safety margin."""

from __future__ import annotations

import math

import numpy as np

from artic_rl.agents.base import Agent
from artic_rl.control.mpc import queue_delay_ms
from artic_rl.control.throughput import ThroughputHistory, delivered_kbps
from artic_rl.sender.actions import ActionCodec
from artic_rl.sender.feedback import FeedbackReport


def throughput_sample_kbps(
    feedback: FeedbackReport, probe: float, queue_ms: float, queue_threshold_ms: float
) -> float | None:
    """One interval's throughput sample: the delivered rate, times ``1 + probe`` when the queue stayed
    below ``queue_threshold_ms`` (the sender did not fill the link, so delivery is only a lower
    bound on its capacity); ``None`` when no packet was reported."""
    if len(feedback.packets) == 0:
        return None
    rate = delivered_kbps(feedback.packets, feedback.interval_ms)
    return rate * (1.0 + probe) if queue_ms < queue_threshold_ms else rate


class RateAgent(Agent):
    """Rate = harmonic mean of the last ``window`` throughput samples x ``margin`` (30 fps, uniform).

    A sample is the delivered rate of an interval, scaled by ``1 + probe`` while the queueing delay
    stays under ``queue_threshold_ms`` (what was delivered is then only a lower bound on the
    capacity, and without probing a rate rule would never climb). Intervals with nothing delivered
    (outages) give no sample.

    Args:
        window: samples in the harmonic mean.
        margin: safety factor on the estimate.
        probe: growth allowed per interval while the link is not filled.
        queue_threshold_ms: queueing delay below which the link counts as not filled.
        start_kbps: rate before the first sample.
        fps: frame rate.
    """

    name = "rate"

    def __init__(
        self,
        window: int = 5,
        margin: float = 0.85,
        probe: float = 0.25,
        queue_threshold_ms: float = 40.0,
        start_kbps: float = 300.0,
        fps: float = 30.0,
        codec: ActionCodec | None = None,
        interval_ms: float = 200.0,
    ) -> None:
        super().__init__(codec, interval_ms)
        self.history = ThroughputHistory(window)
        self.margin = margin
        self.probe = probe
        self.queue_threshold_ms = queue_threshold_ms
        self.start_kbps = start_kbps
        self.fps = fps

    def reset(self) -> None:
        self.history.reset()
        self.queue_ms = 0.0
        self.min_owd_ms = math.inf

    def observe(self, feedback: FeedbackReport) -> None:
        pk = feedback.packets
        queue, self.min_owd_ms = queue_delay_ms(pk.send_ms, pk.arrival_ms, self.min_owd_ms)
        if not math.isnan(queue):
            self.queue_ms = queue
        sample = throughput_sample_kbps(
            feedback, self.probe, self.queue_ms, self.queue_threshold_ms
        )
        if sample is not None and sample > 0:
            self.history.add(sample)

    def target_kbps(self) -> float:
        estimate = self.history.predict()
        return estimate * self.margin if estimate > 0 else self.start_kbps

    def act(self, observation: np.ndarray) -> np.ndarray:
        return self.codec.encode(self.codec.floor_rate(self.target_kbps()), 0, self.fps)
