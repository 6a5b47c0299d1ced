"""``oracle``: knows the link's capacity over the next interval. An UPPER BOUND, not a deployable agent.

It reads the environment's privileged ``info["capacity_kbps_next"]`` through
:meth:`OracleAgent.observe_privileged`, which evaluation calls only for agents that declare
``privileged = True``. It is greedy (one interval ahead, no planning), so it bounds what perfect
short-term capacity knowledge buys a hand-designed policy rather than the true optimum.

``lag_intervals=k`` hands it the capacity of the interval that began ``k`` intervals before the
next one instead: with ``k = 1``, that of the interval just ended (a perfect measurement of the
present, no prediction: the persistence forecast); larger ``k``, an older one. It bounds what a
capacity forecaster as good as persistence could buy, and shows how fast the edge decays with
the age of the knowledge.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

from artic_rl.agents.base import Agent
from artic_rl.control.mpc import queue_delay_ms
from artic_rl.sender.actions import ActionCodec
from artic_rl.sender.feedback import FeedbackReport


class OracleAgent(Agent):
    """Rate = next interval's capacity x ``margin`` minus what drains the current queue; Artic's
    ROI (when the cloud's region is known) and frame rate.

    Args:
        margin: share of the known capacity used.
        drain_ms: the current queue is drained over this long.
        fps: frame rate.
        roi_level: ROI level while the cloud's region is known.
        lag_intervals: the capacity read is that of this many intervals before the next one
            (0: the next interval itself).
    """

    name = "oracle"
    privileged = True

    def __init__(
        self,
        margin: float = 0.9,
        drain_ms: float = 200.0,
        fps: float = 10.0,
        roi_level: int = 3,
        lag_intervals: int = 0,
        codec: ActionCodec | None = None,
        interval_ms: float = 200.0,
    ) -> None:
        super().__init__(codec, interval_ms)
        if lag_intervals < 0:
            raise ValueError(f"lag_intervals must be >= 0, got {lag_intervals}")
        self.lag_intervals = int(lag_intervals)
        self.margin = margin
        self.drain_ms = drain_ms
        self.fps = fps
        self.roi_level = roi_level
        self.reset()

    def reset(self) -> None:
        self.capacity_kbps = 0.0
        self.queue_ms = 0.0
        self.min_owd_ms = math.inf
        self.roi_known = False
        self._capacities: deque[float] = deque(maxlen=self.lag_intervals + 1)

    def observe(self, feedback: FeedbackReport) -> None:
        pk = feedback.packets
        queue, self.min_owd_ms = queue_delay_ms(pk.send_ms, pk.arrival_ms, self.min_owd_ms)
        if not math.isnan(queue):
            self.queue_ms = queue
        self.roi_known = feedback.roi_known

    def observe_privileged(self, info: dict[str, Any]) -> None:
        """Read the link capacity over the next interval (only evaluation of privileged agents calls
        this); with ``lag_intervals``, use the one read that many intervals ago (the oldest held
        at an episode's start)."""
        self._capacities.append(float(info["capacity_kbps_next"]))
        self.capacity_kbps = self._capacities[0]

    def target_kbps(self) -> float:
        backlog_kbps = self.queue_ms * self.capacity_kbps / self.drain_ms
        return self.capacity_kbps * self.margin - backlog_kbps

    def act(self, observation: np.ndarray) -> np.ndarray:
        rate = self.codec.floor_rate(self.target_kbps())
        return self.codec.encode(rate, self.roi_level if self.roi_known else 0, self.fps)
