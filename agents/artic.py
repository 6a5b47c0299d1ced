"""``artic``: the paper's full hand-designed system — ReCapABR + context-aware ROI + low frame rate.

The third mechanism, loss-resilient substitution (a lost or late frame is replaced by the previous
good one, never retransmitted), is the receiver's behaviour in the environment; the sender's part
is the low frame rate, since the MLLM samples only about 2 fps.
"""

from __future__ import annotations

import numpy as np

from artic_rl.agents.recap import RecapAgent
from artic_rl.sender.actions import ActionCodec
from artic_rl.sender.feedback import FeedbackReport


class ArticAgent(RecapAgent):
    """ReCapABR's bitrate; ROI level ``roi_level`` while the cloud has predicted a region, else uniform.

    Args:
        start_kbps: GCC's initial target.
        beta: AIMD decrease factor.
        fps: frame rate (the MLLM samples ~2 fps; 5-10 fps keeps motion for multi-frame questions).
        roi_level: ROI level used when the cloud's region is known (3 = strongest, like Artic's
            ΔQP growing to +25 away from the box).
    """

    name = "artic"

    def __init__(
        self,
        start_kbps: float = 300.0,
        beta: float = 0.85,
        fps: float = 10.0,
        roi_level: int = 3,
        codec: ActionCodec | None = None,
        interval_ms: float = 200.0,
    ) -> None:
        super().__init__(start_kbps, beta, fps, codec, interval_ms)
        self.roi_level = roi_level
        self.roi_known = False

    def reset(self) -> None:
        super().reset()
        self.roi_known = False

    def observe(self, feedback: FeedbackReport) -> None:
        super().observe(feedback)
        self.roi_known = feedback.roi_known

    def act(self, observation: np.ndarray) -> np.ndarray:
        level = self.roi_level if self.roi_known else 0
        return self.codec.encode(self.choose_kbps(), level, self.fps)
