"""``recap``: the Artic authors' ReCapABR — GCC capped at the question's accuracy-saturation bitrate."""

from __future__ import annotations

import numpy as np

from artic_rl.agents.gcc import GccAgent
from artic_rl.control.grid import ceil_tier, floor_tier
from artic_rl.control.recap import recap_kbps
from artic_rl.sender.feedback import FeedbackReport


class RecapAgent(GccAgent):
    """GCC's rate passed through :func:`artic_rl.control.recap.recap_kbps` (full frame, 30 fps, uniform).

    The controller's rate is rounded down to a tier (never above it); the saturation bitrate is
    rounded up (so the confidence really reaches 0.8), but never above the controller's tier.

    Args:
        start_kbps: GCC's initial target.
        beta: AIMD decrease factor.
        fps: frame rate.
    """

    name = "recap"

    def reset(self) -> None:
        super().reset()
        self.confidence: np.ndarray | None = None
        self.current_kbps = floor_tier(self.codec.bitrates_kbps, self.gcc.target_kbps)

    def observe(self, feedback: FeedbackReport) -> None:
        super().observe(feedback)
        self.confidence = feedback.confidence

    def choose_kbps(self) -> float:
        """ReCapABR on the tier grid; remembers the choice as the current bitrate."""
        tiers = self.codec.bitrates_kbps
        controller = floor_tier(tiers, self.gcc.target_kbps)
        rate = recap_kbps(self.current_kbps, controller, self.confidence)
        if rate != self.current_kbps and rate != controller:
            rate = min(ceil_tier(tiers, rate), controller)
        self.current_kbps = rate
        return rate

    def act(self, observation: np.ndarray) -> np.ndarray:
        return self.codec.encode(self.choose_kbps(), 0, self.fps)
