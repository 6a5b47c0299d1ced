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


def checkpoint_obs_norm(checkpoint: Path) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(mean, var, clip_obs, epsilon) of the VecNormalize statistics saved beside a training
    checkpoint (``ckpt_<n>_steps.zip`` or a run's ``model.zip``)."""
    import pickle

    from artic_rl.training import norm_path_for

    with norm_path_for(checkpoint).open("rb") as fh:
        vec = pickle.load(fh)  # the project's own file, written by SB3's VecNormalize.save
    rms = vec.obs_rms
    return rms.mean, rms.var, float(vec.clip_obs), float(vec.epsilon)


class PPOAgent(Agent):
    """Loads ``<policy>/model.zip`` and ``<policy>/obs_norm.npz`` (a training run directory or
    ``policies/<preset>``), or a checkpoint, and acts with the deterministic actor (argmax per sub-action).

    Args:
        policy: run directory or ``policies/<preset>``, or one training checkpoint
            (``<run>/checkpoints/ckpt_<n>_steps.zip``, its VecNormalize file beside it).
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

        path = Path(policy)
        if path.suffix == ".zip":
            if not path.is_file():
                raise FileNotFoundError(f"{path}: no such checkpoint")
            model_file = path
            mean, var, clip_obs, epsilon = checkpoint_obs_norm(path)
        else:
            model_file = path / MODEL_FILE
            if not model_file.is_file():
                raise FileNotFoundError(f"{model_file}: no trained PPO policy there")
            norm = np.load(path / OBS_NORM_FILE)
            mean, var = norm["mean"], norm["var"]
            clip_obs, epsilon = float(norm["clip_obs"]), float(norm["epsilon"])
        self.model = PPO.load(model_file, device="cpu")
        self.obs_mean = np.asarray(mean, dtype=np.float64)
        self.obs_std = np.sqrt(np.asarray(var, dtype=np.float64) + epsilon)
        self.clip_obs = clip_obs
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
