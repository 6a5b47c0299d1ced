"""Residual actions on a hand-designed sender (in the spirit of Orca, Abbasloo et al., SIGCOMM 2020).

A residual policy does not replace the heuristic: the heuristic (``artic`` by default) runs on the
same feedback and proposes an action, and the policy picks a bitrate offset of up to
``max_offset`` tiers either way around the heuristic's bitrate and the frame rate; the ROI level
stays the heuristic's. The policy's action space is ``MultiDiscrete([2 * max_offset + 1, n_fps])``.

A policy folder trained this way holds ``residual.json`` (:class:`ResidualSpec`); the learned
agent (:class:`artic_rl.agents.ppo.PPOAgent`), the exported ONNX policy
(:class:`artic_rl.runtime.policy.OnnxPolicy`) and training (:class:`ResidualEnv`) all compose the
final action with the one :class:`Residual` here.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from artic_rl.agents.base import Agent
from artic_rl.errors import InputError
from artic_rl.sender.actions import N_RATES, ActionCodec
from artic_rl.sender.feedback import FeedbackReport

RESIDUAL_FILE = "residual.json"


@dataclass(frozen=True)
class ResidualSpec:
    """What a residual policy adjusts: the base agent (its name and composed config), the
    largest bitrate offset in tiers, and the number of bitrate tiers of the environment it was
    trained in (20 unless ``env.kwargs.max_rate_kbps`` raised the ceiling; a spec written
    before the field existed was trained with 20)."""

    base: str
    base_config: dict[str, Any] = field(default_factory=dict)
    max_offset: int = 4
    bitrate_tiers: int = N_RATES

    def save(self, folder: str | Path) -> None:
        (Path(folder) / RESIDUAL_FILE).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def from_dict(cls, doc: Any, where: str | Path) -> ResidualSpec:
        """A spec from its JSON form (``residual.json``, an ONNX policy's metadata); InputError
        names ``where`` and the field when a field is missing or of the wrong type."""
        if not isinstance(doc, dict):
            raise InputError("residual spec is not a JSON object", where, field="residual")
        base, config, offset = doc.get("base"), doc.get("base_config", {}), doc.get("max_offset")
        tiers = doc.get("bitrate_tiers", N_RATES)
        for name, value, kind in (
            ("base", base, str),
            ("base_config", config, dict),
            ("max_offset", offset, int),
            ("bitrate_tiers", tiers, int),
        ):
            if not isinstance(value, kind) or isinstance(value, bool):
                raise InputError(f"must be {kind.__name__}, got {value!r}", where, field=name)
        assert isinstance(base, str) and isinstance(config, dict) and isinstance(offset, int)
        assert isinstance(tiers, int)
        return cls(base, dict(config), offset, tiers)

    @classmethod
    def load(cls, folder: str | Path) -> ResidualSpec | None:
        """The folder's ``residual.json``, or None for a policy that acts on the full action space."""
        path = Path(folder) / RESIDUAL_FILE
        if not path.is_file():
            return None
        try:
            doc = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise InputError(f"not JSON: {err.msg}", path, line=err.lineno) from None
        return cls.from_dict(doc, path)


def check_bitrate_tiers(trained: int, codec: ActionCodec, where: str | Path | None = None) -> None:
    """InputError unless a policy trained with ``trained`` bitrate tiers meets a codec with as
    many: its tier indices (or offsets around a base agent's tier, clipped to the grid) mean
    other bitrates on another grid (``env.kwargs.max_rate_kbps`` sets the grid)."""
    n = len(codec.bitrates_kbps)
    if trained != n:
        raise InputError(
            f"policy trained with {trained} bitrate tiers, but this environment has {n}"
            f" (up to {codec.bitrates_kbps[-1]:g} kbps, env.kwargs.max_rate_kbps="
            f"{codec.max_rate_kbps:g}); evaluate it with the max_rate_kbps it was trained"
            " with (4000 for 20 tiers) or train one for this ceiling",
            where,
        )


def residual_nvec(spec: ResidualSpec, codec: ActionCodec) -> tuple[int, int]:
    """The residual action grid: bitrate offsets (-max_offset..+max_offset tiers), frame rates."""
    return 2 * spec.max_offset + 1, len(codec.fps_choices)


class Residual:
    """The base agent plus the rule that turns a residual action into a full action."""

    def __init__(
        self,
        spec: ResidualSpec,
        codec: ActionCodec,
        interval_ms: float,
        where: str | Path | None = None,
    ) -> None:
        from artic_rl.agents.registry import build_agent

        if spec.max_offset < 0:
            raise ValueError(f"residual max_offset must be >= 0, got {spec.max_offset}")
        check_bitrate_tiers(spec.bitrate_tiers, codec, where)
        self.spec = spec
        self.codec = codec
        self.base: Agent = build_agent(spec.base_config, interval_ms, codec)
        self.nvec = residual_nvec(spec, codec)

    def space(self) -> spaces.MultiDiscrete:
        return spaces.MultiDiscrete(np.array(self.nvec, dtype=np.int64))

    def reset(self) -> None:
        self.base.reset()

    def observe(self, feedback: FeedbackReport) -> None:
        self.base.observe(feedback)

    def compose(self, observation: np.ndarray, residual: np.ndarray) -> np.ndarray:
        """The full ``MultiDiscrete`` action: the base's bitrate tier moved by the offset (clipped
        to the grid), the base's ROI level, the residual's frame rate."""
        base = self.base.act(observation)
        offset = int(residual[0]) - self.spec.max_offset
        tier = min(max(int(base[0]) + offset, 0), len(self.codec.bitrates_kbps) - 1)
        return np.array([tier, int(base[1]), int(residual[1])], dtype=np.int64)

    def neutral(self) -> tuple[int, int]:
        """The residual action that reproduces the base agent when it sends at a fixed frame rate
        (offset 0 and the base's ``fps``, when it has one)."""
        fps = float(getattr(self.base, "fps", self.codec.fps_choices[-1]))
        k = int(np.argmin(np.abs(np.asarray(self.codec.fps_choices) - fps)))
        return self.spec.max_offset, k


class ResidualPolicy(Agent):
    """A learned policy that may act as residuals on a base agent (``self.residual``, None for
    the full action space): :class:`artic_rl.agents.ppo.PPOAgent` and the ONNX runtime's
    :class:`artic_rl.runtime.policy.OnnxPolicy` differ only in :meth:`policy_action`."""

    residual: Residual | None = None

    @abstractmethod
    def policy_action(self, observation: np.ndarray) -> np.ndarray:
        """The network's own action: a residual when ``self.residual`` is set."""

    def reset(self) -> None:
        if self.residual is not None:
            self.residual.reset()

    def observe(self, feedback: FeedbackReport) -> None:
        if self.residual is not None:
            self.residual.observe(feedback)

    def act(self, observation: np.ndarray) -> np.ndarray:
        action = self.policy_action(observation)
        if self.residual is not None:
            return self.residual.compose(observation, action)
        return action


class ResidualEnv(gym.Wrapper[np.ndarray, np.ndarray, np.ndarray, np.ndarray]):
    """Training's view of a residual policy: the environment with the residual action space.

    Drives the base agent exactly as evaluation drives any agent (observe the feedback, then act).
    """

    def __init__(self, env: gym.Env[np.ndarray, np.ndarray], spec: ResidualSpec) -> None:
        super().__init__(env)
        base_env: Any = env.unwrapped
        self.residual = Residual(spec, base_env.codec, float(base_env.interval_ms))
        self.action_space = self.residual.space()
        self._obs: np.ndarray | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        self.residual.reset()
        obs, info = self.env.reset(seed=seed, options=options)
        self.residual.observe(info["feedback"])
        self._obs = obs
        return obs, info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._obs is None:
            raise RuntimeError("call reset() before step()")
        full = self.residual.compose(self._obs, np.asarray(action))
        obs, reward, terminated, truncated, info = self.env.step(full)
        self.residual.observe(info["feedback"])
        self._obs = obs
        return obs, float(reward), terminated, truncated, info
