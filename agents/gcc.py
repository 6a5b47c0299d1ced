"""``gcc``: WebRTC's Google Congestion Control as deployed — full frame, 30 fps, uniform quality."""

from __future__ import annotations

import numpy as np

from artic_rl.agents.base import Agent
from artic_rl.control.gcc import GccController
from artic_rl.sender.actions import ActionCodec
from artic_rl.sender.feedback import FeedbackReport


class GccAgent(Agent):
    """Sends at GCC's target, rounded down to a tier (:class:`artic_rl.control.gcc.GccController`).

    Args:
        start_kbps: GCC's initial target (WebRTC: 300 kbps).
        beta: AIMD decrease factor.
        fps: frame rate (WebRTC keeps the camera's 30 fps).
    """

    name = "gcc"

    def __init__(
        self,
        start_kbps: float = 300.0,
        beta: float = 0.85,
        fps: float = 30.0,
        codec: ActionCodec | None = None,
        interval_ms: float = 200.0,
    ) -> None:
        super().__init__(codec, interval_ms)
        # from the lowest tier up to the environment's rate ceiling (env.kwargs.max_rate_kbps)
        self.gcc = GccController(
            start_kbps, self.codec.bitrates_kbps[0], self.codec.max_rate_kbps, beta
        )
        self.fps = fps
        self.reset()

    def reset(self) -> None:
        self.gcc.reset()

    def observe(self, feedback: FeedbackReport) -> None:
        self.gcc.on_feedback(feedback.packets, feedback.now_ms)

    def act(self, observation: np.ndarray) -> np.ndarray:
        return self.codec.encode(self.codec.floor_rate(self.gcc.target_kbps), 0, self.fps)
