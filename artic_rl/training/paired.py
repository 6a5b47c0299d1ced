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

The pairing also measures, episode by episode, how far the learner trails the reference on each
trace: :class:`TraceCurriculum` (``train.curriculum``) turns that into the traces' sampling
weights, a Genet-style curriculum (Xia et al., "Genet: Automatic Curriculum Generation for
Learning Adaptation in Networking", SIGCOMM 2022) that trains more on the traces where the
hand-designed policy is still ahead.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from artic_rl.agents.base import Agent

REFERENCE_LATENCY_KEY = "reference_probe_latency_ms"  # the reference's latencies in info
REFERENCE_ACCURACY_KEY = "reference_probe_accuracy"  # ... and its accuracies
REFERENCE_REWARD_KEY = "reference_reward"  # the reference's reward of the step in info
EPISODE_KEY = "paired_episode"  # at an episode's end: its trace index and the paired return
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
        self.trace_weights: np.ndarray | None = None  # None: the environment draws the trace
        self.trace_index: int | None = None
        self._return = 0.0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.episode_seed = int(self._rng.integers(_SEED_SPACE))
        if self.trace_weights is not None:  # the curriculum's draw, the same trace for both
            k = int(self._rng.choice(len(self.trace_weights), p=self.trace_weights))
            options = {**(options or {}), "trace_index": k}
        obs, info = self.env.reset(seed=self.episode_seed, options=options)
        self.agent.reset()
        self._obs, self._info = self.shadow.reset(seed=self.episode_seed, options=options)
        self.trace_index = self.env.get_wrapper_attr("trace_index")
        self._return = 0.0
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
        paired = float(reward) - float(ref_reward)
        self._return += paired
        if terminated or truncated:
            info[EPISODE_KEY] = (self.trace_index, self._return)
        return obs, paired, terminated, truncated, info

    def n_traces(self) -> int:
        """How many traces the learner's environment draws from."""
        return len(self.env.get_wrapper_attr("traces"))

    def trace_names(self) -> list[str]:
        """The names of the traces the learner's environment draws from, in index order."""
        return [t.name for t in self.env.get_wrapper_attr("traces")]

    def base_trace_weights(self) -> np.ndarray | None:
        """The environment's own probabilities of each trace (``extra_share``); None: uniform."""
        p = self.env.get_wrapper_attr("trace_probabilities")
        return None if p is None else np.asarray(p, dtype=float)

    def set_trace_weights(self, weights: np.ndarray | None) -> None:
        """The probabilities of each trace at the next resets (None: the environment's own draw)."""
        self.trace_weights = None if weights is None else np.asarray(weights, dtype=float)

    def set_latency_price(self, per_s: float) -> None:
        """The reward's latency price, for the learner's environment and the reference's alike
        (both rewards must be priced the same for their difference to be a baseline)."""
        self.env.get_wrapper_attr("set_latency_price")(per_s)
        self.shadow.get_wrapper_attr("set_latency_price")(per_s)

    def close(self) -> None:
        self.shadow.close()
        super().close()


class TraceCurriculum:
    """Where to train next: the traces on which the learner trails the reference most.

    Each finished paired episode adds its paired return (the learner's minus the reference's) to
    its trace's record. The sampling weights are ``share`` spread over the traces in proportion to
    how far the learner trails on each (its mean paired return below 0; a trace not yet met counts
    as trailing by the largest deficit seen, so every trace is tried), and ``1 - share`` by the
    environment's own draw (``base``: uniform, or its ``extra_share`` weighting), so no trace is
    ever dropped. With no trace trailed, the draw is the environment's own.
    """

    def __init__(self, n_traces: int, share: float = 0.5, base: np.ndarray | None = None) -> None:
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"share must be in [0, 1], got {share}")
        if base is not None and len(base) != n_traces:
            raise ValueError(f"base: {len(base)} weights for {n_traces} traces")
        self.share = share
        self.base = np.full(n_traces, 1.0 / n_traces) if base is None else np.asarray(base)
        self.sums = np.zeros(n_traces)
        self.counts = np.zeros(n_traces, dtype=np.int64)

    def record(self, trace_index: int, paired_return: float) -> None:
        self.sums[trace_index] += paired_return
        self.counts[trace_index] += 1

    def deficits(self) -> np.ndarray:
        """How far the learner trails the reference per trace (0 where it does not)."""
        seen = self.counts > 0
        mean = np.divide(self.sums, self.counts, out=np.zeros_like(self.sums), where=seen)
        deficit = np.maximum(-mean, 0.0)
        deficit[~seen] = deficit[seen].max() if seen.any() else 0.0
        return deficit

    def weights(self) -> np.ndarray:
        deficit = self.deficits()
        total = float(deficit.sum())
        if total <= 0.0:
            return self.base
        return self.share * deficit / total + (1.0 - self.share) * self.base

    def state(self) -> dict[str, Any]:
        return {"share": self.share, "sums": self.sums.tolist(), "counts": self.counts.tolist()}

    @classmethod
    def from_state(cls, doc: dict[str, Any], base: np.ndarray | None = None) -> TraceCurriculum:
        cur = cls(len(doc["sums"]), float(doc["share"]), base)
        cur.sums = np.asarray(doc["sums"], dtype=float)
        cur.counts = np.asarray(doc["counts"], dtype=np.int64)
        return cur
