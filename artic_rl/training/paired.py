"""A reference agent beside every training episode, on the same inputs (``train.paired``).

Most of a return's spread is which trace and which outages an episode draws, which no policy
changes (docs/results-learning.md: sd 12.8 across episodes against paired differences of 0.1-1).
:class:`PairedReference` runs the reference agent (``train.latency_reference``, ``artic``) in a
second environment reset with the same seed as the learner's, so both meet the same trace, start,
questions and probes, and pays the learner the difference of the two rewards at every step. The
reference's reward depends on the episode's inputs but not on the learner's actions, so it is an
input-dependent baseline (Mao et al., "Variance Reduction for Reinforcement Learning in
Input-Driven Environments", ICLR 2019): the policy gradient keeps its expectation and loses the
variance the inputs cause. The same pairing gives the Lagrangian constraint a low-variance signal,
the learner's mean response latency minus the reference's on the same rollout
(:class:`artic_rl.training.callbacks.LatencyConstraint` with ``paired=True``).

Each reset draws the episode's seed from the wrapper's own generator (seeded by the vector
environment's seed), so that the reference's episode is the learner's.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from artic_rl.agents.base import Agent

REFERENCE_LATENCY_KEY = "reference_probe_latency_ms"  # the reference's latencies in info
REFERENCE_ACCURACY_KEY = "reference_probe_accuracy"  # ... and its accuracies
REFERENCE_REWARD_KEY = "reference_reward"  # the reference's reward of the step in info
_SEED_SPACE = 2**31 - 1


class PairedReference(gym.Wrapper[np.ndarray, np.ndarray, np.ndarray, np.ndarray]):
    """The learner's environment paired with ``shadow``, an environment of the same settings that
    ``agent`` drives on the same episode; the reward becomes the learner's minus the agent's.

    ``info`` gains the reference's reward (:data:`REFERENCE_REWARD_KEY`) and the latencies and
    accuracies it was paid for (:data:`REFERENCE_LATENCY_KEY`, :data:`REFERENCE_ACCURACY_KEY`:
    its probes' when the reward pays probes, else its answered questions')."""

    def __init__(
        self,
        env: gym.Env[np.ndarray, np.ndarray],
        shadow: gym.Env[np.ndarray, np.ndarray],
        agent: Agent,
        seed: int | None = None,
    ) -> None:
        super().__init__(env)
        self.shadow, self.agent = shadow, agent
        self._rng = np.random.default_rng(seed)
        self._obs: np.ndarray | None = None
        self._info: dict[str, Any] = {}
        self.episode_seed: int | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.episode_seed = int(self._rng.integers(_SEED_SPACE))
        obs, info = self.env.reset(seed=self.episode_seed, options=options)
        self.agent.reset()
        self._obs, self._info = self.shadow.reset(seed=self.episode_seed, options=options)
        return obs, info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._obs is None:
            raise RuntimeError("call reset() before step()")
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.agent.observe(self._info["feedback"])
        ref_action, _ = self.agent.predict(self._obs, deterministic=True)
        self._obs, ref_reward, ref_term, ref_trunc, self._info = self.shadow.step(ref_action)
        if (ref_term or ref_trunc) != (terminated or truncated):
            raise RuntimeError("the reference's episode ended on another step than the learner's")
        ref = self._info
        info = {
            **info,
            REFERENCE_REWARD_KEY: float(ref_reward),
            REFERENCE_LATENCY_KEY: ref.get("probe_latency_ms", ref["latency_ms"]),
            REFERENCE_ACCURACY_KEY: ref.get("probe_accuracy", ref["accuracy"]),
        }
        return obs, float(reward) - float(ref_reward), terminated, truncated, info

    def set_latency_price(self, per_s: float) -> None:
        """The reward's latency price, for the learner's environment and the reference's alike
        (both rewards must be priced the same for their difference to be a baseline)."""
        self.env.get_wrapper_attr("set_latency_price")(per_s)
        self.shadow.get_wrapper_attr("set_latency_price")(per_s)

    def close(self) -> None:
        self.shadow.close()
        super().close()
