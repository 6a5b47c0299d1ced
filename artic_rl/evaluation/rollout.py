"""Run one agent through one episode and summarise it with the per-question metrics.

The single place where an agent meets the environment outside of SB3's own rollouts: training's
evaluation, behaviour cloning's demonstrations, ``evaluate.py`` and its timeline plot all run
:func:`run_episode`, so the figures they report come from one loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from artic_rl.agents.base import Agent
from artic_rl.agents.registry import AgentSpec
from artic_rl.sender.actions import MAX_RATE_KBPS, ActionCodec


@dataclass
class EpisodeResult:
    """Per-episode metrics. ``accuracy`` and ``latency_ms`` hold one entry per question."""

    seed: int
    trace: str
    start_ms: float
    reward: float = 0.0
    steps: int = 0
    accuracy: list[float] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    frame_delay_ms: list[float] = field(default_factory=list)
    # the paper's frame latency, one per frame sent (the episode's last info)
    frame_latency_ms: list[float] = field(default_factory=list)
    bitrate_kbps: list[float] = field(default_factory=list)
    capacity_kbps: list[float] = field(default_factory=list)
    stale_frames: list[float] = field(default_factory=list)
    fps: list[float] = field(default_factory=list)
    roi_level: list[int] = field(default_factory=list)
    reward_terms: dict[str, float] = field(default_factory=dict)  # weighted terms summed over steps
    # where the latency went (the episode's last info): mean retransmission wait and jitter-buffer
    # hold per shown frame, and the total time frozen
    latency_breakdown_ms: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Scalar metrics of the episode (NaN where there is nothing to average)."""

        def mean(xs: list[float]) -> float:
            return float(np.mean(xs)) if xs else math.nan

        cap = float(np.sum(self.capacity_kbps))
        return {
            "seed": self.seed,
            "trace": self.trace,
            "start_ms": self.start_ms,
            "reward": self.reward,
            "questions": len(self.accuracy),
            "accuracy_pct": 100.0 * mean(self.accuracy),
            "latency_mean_ms": mean(self.latency_ms),
            "latency_p50_ms": float(np.percentile(self.latency_ms, 50))
            if self.latency_ms
            else math.nan,
            "latency_p95_ms": float(np.percentile(self.latency_ms, 95))
            if self.latency_ms
            else math.nan,
            "frame_delay_ms": mean(self.frame_delay_ms),
            "frame_latency_ms": mean(self.frame_latency_ms),
            "bitrate_kbps": mean(self.bitrate_kbps),
            "utilisation": float(np.sum(self.bitrate_kbps)) / cap if cap > 0 else math.nan,
            "stale_share": mean(self.stale_frames),
            "fps": mean(self.fps),
            "roi_level": mean([float(r) for r in self.roi_level]),
            **{f"reward_{k}": v for k, v in self.reward_terms.items()},
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: Called after every step with the observation the agent acted on, its action, the reward and
#: the step's info.
StepHook = Callable[[np.ndarray, np.ndarray, float, dict[str, Any]], None]


def run_episode(
    env: gym.Env[Any, Any],
    agent: Agent,
    seed: int,
    options: dict[str, Any] | None = None,
    on_step: StepHook | None = None,
) -> EpisodeResult:
    """One episode of ``agent`` on ``env`` reset with ``seed``; the agent sees feedback before acting.

    ValueError when the agent acts through another codec than the environment's (build it with
    ``codec=env.unwrapped.codec``): its tier indices would mean other bitrates there.
    """
    codec: ActionCodec | None = getattr(env.unwrapped, "codec", None)
    mine: ActionCodec | None = getattr(agent, "codec", codec)
    if codec is not None and mine is not None and mine != codec:
        raise ValueError(
            f"agent {agent.name!r} acts on {len(mine.bitrates_kbps)} bitrate tiers up to"
            f" {mine.max_rate_kbps:g} kbps, the environment on {len(codec.bitrates_kbps)} up to"
            f" {codec.max_rate_kbps:g} kbps: build it with the environment's codec"
        )
    agent.reset()
    obs, info = env.reset(seed=seed, options=options)
    result = EpisodeResult(
        seed=seed, trace=str(info.get("trace", "")), start_ms=float(info.get("start_ms", 0.0))
    )
    privileged = getattr(agent, "privileged", False)
    while True:
        agent.observe(info["feedback"])
        if privileged:
            agent.observe_privileged(info)
        action, _ = agent.predict(obs, deterministic=True)
        acted_on = obs
        obs, reward, terminated, truncated, info = env.step(action)
        if on_step is not None:
            on_step(acted_on, action, float(reward), info)
        result.reward += float(reward)
        result.steps += 1
        result.accuracy.extend(info["accuracy"])
        result.latency_ms.extend(info["latency_ms"])
        result.frame_delay_ms.extend(info["frame_delay_ms"])
        result.bitrate_kbps.append(info["bitrate_kbps"])
        result.capacity_kbps.append(info["capacity_kbps"])
        result.stale_frames.append(info["stale_frames"])
        result.fps.append(info["fps"])
        result.roi_level.append(info["roi_level"])
        for k, v in info.get("reward_terms", {}).items():
            result.reward_terms[k] = result.reward_terms.get(k, 0.0) + float(v)
        if terminated or truncated:
            result.frame_latency_ms = list(info.get("episode_frame_latency_ms", []))
            result.latency_breakdown_ms = dict(info.get("episode_latency_breakdown_ms", {}))
            return result


def flat(episodes: list[EpisodeResult], attr: str) -> np.ndarray:
    """One per-question / per-frame / per-step list of ``EpisodeResult`` over several episodes."""
    parts = [np.asarray(getattr(e, attr), dtype=np.float64) for e in episodes]
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.float64)


def env_codec(env_kwargs: dict[str, Any]) -> ActionCodec:
    """The action codec of the environment ``env_kwargs`` build (its bitrate tiers and rate
    ceiling, ``max_rate_kbps``), for agents built outside it; ValueError names the key when the
    ceiling is not a number >= 4000 kbps."""
    return ActionCodec.up_to(env_kwargs.get("max_rate_kbps", MAX_RATE_KBPS))


def agent_env_kwargs(spec: AgentSpec, env_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The environment an agent is evaluated in: the receiver belongs to the system under test,
    so the agent's own (``receiver:`` in its config, or ``name@receiver``) replaces the env's."""
    return env_kwargs if spec.receiver is None else {**env_kwargs, "receiver": spec.receiver}
