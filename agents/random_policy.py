"""``random``: a uniformly random action every interval — the floor any learned policy must clear."""

from __future__ import annotations

import numpy as np

from artic_rl.agents.base import Agent
from artic_rl.sender.actions import ActionCodec


class RandomAgent(Agent):
    """Draws each sub-action uniformly from its own generator (``seed``), reset with every episode.

    Args:
        seed: seed of the agent's generator; every episode restarts it, so runs are reproducible.
    """

    name = "random"

    def __init__(
        self, seed: int = 0, codec: ActionCodec | None = None, interval_ms: float = 200.0
    ) -> None:
        super().__init__(codec, interval_ms)
        self.seed = seed
        self.reset()

    def reset(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def act(self, observation: np.ndarray) -> np.ndarray:
        return self.rng.integers(0, np.asarray(self.codec.nvec))
