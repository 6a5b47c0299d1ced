"""The one agent interface: stable-baselines3's ``predict``, plus the feedback channel.

Evaluation drives every agent the same way, so it cannot tell PPO from GCC::

    agent.reset()
    obs, info = env.reset(seed=s)
    while True:
        agent.observe(info["feedback"])          # per-packet / per-frame feedback, the same for all
        action, _ = agent.predict(obs, deterministic=True)
        obs, reward, terminated, truncated, info = env.step(action)

``observe`` is how a heuristic sees the fine-grained feedback a real sender gets (transport-wide
packet reports, frame reports, keyframe requests, the cloud's region and readability confidence);
the learned policy reads the observation vector built from that same feedback by
:class:`artic_rl.sender.observation.ObservationBuilder`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from artic_rl.sender.actions import ActionCodec
from artic_rl.sender.feedback import FeedbackReport


class Agent(ABC):
    """Base class of every agent. Subclasses set ``name`` and implement :meth:`act`."""

    name: str = "agent"

    def __init__(self, codec: ActionCodec | None = None, interval_ms: float = 200.0) -> None:
        self.codec = codec or ActionCodec()
        self.interval_ms = interval_ms

    def reset(self) -> None:
        """Forget all state: called before every episode."""

    def observe(self, feedback: FeedbackReport) -> None:
        """Absorb one interval's feedback (called before each :meth:`predict`)."""

    @abstractmethod
    def act(self, observation: np.ndarray) -> np.ndarray:
        """The ``MultiDiscrete`` action for one (unbatched) observation."""

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, Any]:
        """SB3-compatible: returns ``(action, state)``; accepts a batch of one or an unbatched observation."""
        obs = np.asarray(observation)
        if obs.ndim == 2:
            return np.stack([self.act(o) for o in obs]), state
        return self.act(obs), state
