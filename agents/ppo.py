"""The learned policy: a stable-baselines3 PPO actor plus its observation normalisation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from artic_rl.agents.base import Agent
from artic_rl.sender.actions import ActionCodec

MODEL_FILE = "model.zip"
OBS_NORM_FILE = "obs_norm.npz"


def save_obs_norm(
    path: str | Path, mean: np.ndarray, var: np.ndarray, clip_obs: float, epsilon: float
) -> None:
    """VecNormalize's observation statistics, stored without pickle so any runtime can read them."""
    np.savez(path, mean=mean, var=var, clip_obs=np.float64(clip_obs), epsilon=np.float64(epsilon))


class PPOAgent(Agent):
    """Loads ``<policy>/model.zip`` and ``<policy>/obs_norm.npz`` (a training run directory or
    ``policies/<preset>``) and acts with the deterministic actor (argmax per sub-action).

    Args:
        policy: run directory or ``policies/<preset>``.
        deterministic: argmax (True) or sample from the policy.
        ppo: the training hyperparameters of ``conf/agent/ppo.yaml``; unused at inference.
    """

    name = "ppo"

    def __init__(
        self,
        policy: str,
        deterministic: bool = True,
        ppo: dict[str, Any] | None = None,
        codec: ActionCodec | None = None,
        interval_ms: float = 200.0,
    ) -> None:
        super().__init__(codec, interval_ms)
        from stable_baselines3 import PPO

        folder = Path(policy)
        if not (folder / MODEL_FILE).is_file():
            raise FileNotFoundError(f"{folder / MODEL_FILE}: no trained PPO policy there")
        self.model = PPO.load(folder / MODEL_FILE, device="cpu")
        norm = np.load(folder / OBS_NORM_FILE)
        self.obs_mean = norm["mean"].astype(np.float64)
        self.obs_std = np.sqrt(norm["var"].astype(np.float64) + float(norm["epsilon"]))
        self.clip_obs = float(norm["clip_obs"])
        self.deterministic = deterministic

    def normalise(self, observation: np.ndarray) -> np.ndarray:
        """VecNormalize's transform: (obs - mean) / sqrt(var + eps), clipped."""
        z = (np.asarray(observation, dtype=np.float64) - self.obs_mean) / self.obs_std
        return np.clip(z, -self.clip_obs, self.clip_obs).astype(np.float32)

    def act(self, observation: np.ndarray) -> np.ndarray:
        action, _ = self.model.predict(
            self.normalise(observation), deterministic=self.deterministic
        )
        return np.asarray(action, dtype=np.int64)
