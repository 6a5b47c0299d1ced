"""``fixed``: a constant bitrate at 30 fps with uniform quality (no adaptation at all)."""

from __future__ import annotations

import numpy as np

from artic_rl.agents.base import Agent
from artic_rl.sender.actions import ActionCodec


class FixedAgent(Agent):
    """Always the same action.

    Args:
        rate_kbps: target bitrate (mapped to the nearest tier).
        fps: frame rate.
        roi_level: ROI level (0 = uniform).
    """

    name = "fixed"

    def __init__(
        self,
        rate_kbps: float = 1000.0,
        fps: float = 30.0,
        roi_level: int = 0,
        codec: ActionCodec | None = None,
        interval_ms: float = 200.0,
    ) -> None:
        super().__init__(codec, interval_ms)
        self.action = self.codec.encode(rate_kbps, roi_level, fps)

    def act(self, observation: np.ndarray) -> np.ndarray:
        return self.action.copy()
