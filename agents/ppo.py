"""The learned policy: a stable-baselines3 PPO actor plus its observation normalisation.

A *policy folder* (a training run directory, ``policies/<preset>``, or what ``artic-rl select
--out`` writes) holds ``model.zip`` (SB3's PPO, or sb3-contrib's RecurrentPPO: an LSTM actor whose
state the agent carries through an episode) and ``obs_norm.npz`` (:class:`ObsNorm`). Training
checkpoints keep SB3's ``VecNormalize`` pickle beside each ``.zip`` instead; :meth:`ObsNorm.load`
reads either, and is the only place that unpickles one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from artic_rl.agents.residual import Residual, ResidualPolicy, ResidualSpec, check_bitrate_tiers
from artic_rl.sender.actions import ActionCodec

MODEL_FILE = "model.zip"
OBS_NORM_FILE = "obs_norm.npz"
VECNORMALIZE_FILE = "vecnormalize.pkl"
CONFIG_FILE = "config.yaml"  # the run's composed config, resolved
CHECKPOINTS = "checkpoints"  # a run's checkpoint folder
#: ``algo.name`` -> (the algorithm class as ``module:name``, its policy for the flat observation)
ALGORITHMS = {
    "ppo": ("stable_baselines3:PPO", "MlpPolicy"),
    "recurrent_ppo": ("sb3_contrib:RecurrentPPO", "MlpLstmPolicy"),
}
_RECURRENT_POLICY_MODULE = "sb3_contrib.common.recurrent.policies"


def algorithm_class(name: str) -> Any:
    """The SB3 algorithm class of ``algo.name`` (:data:`ALGORITHMS`)."""
    import importlib

    module, _, cls = ALGORITHMS[name][0].partition(":")
    return getattr(importlib.import_module(module), cls)


def saved_algorithm(model_file: str | Path) -> str:
    """The ``algo.name`` a saved model was trained with, read from its policy class's module in
    the zip's ``data`` (no unpickling): ``recurrent_ppo`` for sb3-contrib's LSTM policies, else
    ``ppo``."""
    import json
    import zipfile

    with zipfile.ZipFile(model_file) as zf:
        data = json.loads(zf.read("data"))
    module = data.get("policy_class", {}).get("__module__", "")
    return "recurrent_ppo" if module == _RECURRENT_POLICY_MODULE else "ppo"


def load_model(model_file: str | Path, **kwargs: Any) -> Any:
    """A saved PPO or RecurrentPPO model on the CPU (``kwargs``: SB3's ``load``, e.g. ``env``)."""
    return algorithm_class(saved_algorithm(model_file)).load(model_file, device="cpu", **kwargs)


def is_recurrent(model: Any) -> bool:
    """Whether ``model``'s policy carries an LSTM state from step to step."""
    return hasattr(model.policy, "lstm_actor")


def read_run_config(policy_dir: str | Path) -> dict[str, Any]:
    """The training run's composed config (``config.yaml``), or {} for a bare policy folder."""
    import yaml

    path = Path(policy_dir) / CONFIG_FILE
    if not path.is_file():
        return {}
    doc = yaml.safe_load(path.read_text())
    return doc if isinstance(doc, dict) else {}


@dataclass(frozen=True)
class ObsNorm:
    """VecNormalize's observation transform: ``clip((obs - mean) / sqrt(var + epsilon), ±clip_obs)``.

    The one implementation used by training's evaluation, behaviour cloning, :class:`PPOAgent`,
    model selection and the ONNX export (which writes the same constants into its graph).
    """

    mean: np.ndarray
    var: np.ndarray
    clip_obs: float
    epsilon: float

    @classmethod
    def from_vecnormalize(cls, venv: Any) -> ObsNorm:
        """The statistics of a live (or unpickled) SB3 ``VecNormalize``."""
        rms = venv.obs_rms
        return cls(
            np.asarray(rms.mean, dtype=np.float64),
            np.asarray(rms.var, dtype=np.float64),
            float(venv.clip_obs),
            float(venv.epsilon),
        )

    @classmethod
    def from_npz(cls, path: str | Path) -> ObsNorm:
        """Read ``obs_norm.npz`` (written by :meth:`save`)."""
        with np.load(path) as d:
            return cls(
                d["mean"].astype(np.float64),
                d["var"].astype(np.float64),
                float(d["clip_obs"]),
                float(d["epsilon"]),
            )

    @classmethod
    def from_vecnormalize_file(cls, path: str | Path) -> ObsNorm:
        """Read SB3's ``VecNormalize.save`` pickle (the project's own file, never a stranger's)."""
        import pickle

        with Path(path).open("rb") as fh:
            return cls.from_vecnormalize(pickle.load(fh))

    @classmethod
    def identity(cls, dim: int) -> ObsNorm:
        """No normalisation (a policy trained without VecNormalize)."""
        return cls(np.zeros(dim), np.ones(dim), 1e9, 0.0)

    @classmethod
    def load(cls, policy: str | Path) -> ObsNorm:
        """The normalisation of a policy folder (``obs_norm.npz``, else ``vecnormalize.pkl``) or of
        a checkpoint ``.zip`` (its VecNormalize file beside it, :func:`norm_path_for`)."""
        path = Path(policy)
        if path.suffix == ".zip":
            return cls.from_vecnormalize_file(norm_path_for(path))
        if (path / OBS_NORM_FILE).is_file():
            return cls.from_npz(path / OBS_NORM_FILE)
        if (path / VECNORMALIZE_FILE).is_file():
            return cls.from_vecnormalize_file(path / VECNORMALIZE_FILE)
        raise FileNotFoundError(f"{path}: no {OBS_NORM_FILE} or {VECNORMALIZE_FILE}")

    def save(self, path: str | Path) -> None:
        """Write ``obs_norm.npz`` (no pickle, so any runtime can read it)."""
        np.savez(
            path,
            mean=self.mean,
            var=self.var,
            clip_obs=np.float64(self.clip_obs),
            epsilon=np.float64(self.epsilon),
        )

    def apply(self, obs: np.ndarray) -> np.ndarray:
        """The transform in float64, float32 out (one observation or a batch)."""
        z = (np.asarray(obs, dtype=np.float64) - self.mean) / np.sqrt(self.var + self.epsilon)
        return np.clip(z, -self.clip_obs, self.clip_obs).astype(np.float32)


def run_folder_of(checkpoint: Path) -> Path:
    """The run folder a model file belongs to (``<run>/checkpoints/ckpt_<n>_steps.zip`` or
    ``<run>/model.zip``)."""
    checkpoint = checkpoint.resolve()
    return checkpoint.parent.parent if checkpoint.parent.name == CHECKPOINTS else checkpoint.parent


def norm_path_for(checkpoint: Path) -> Path:
    """The VecNormalize file saved beside a checkpoint: ``model.zip`` -> ``vecnormalize.pkl``,
    ``ckpt_<n>_steps.zip`` -> ``ckpt_vecnormalize_<n>_steps.pkl`` (SB3's CheckpointCallback)."""
    if checkpoint.name == MODEL_FILE:
        candidate = checkpoint.with_name(VECNORMALIZE_FILE)
    else:
        m = re.fullmatch(r"(.*)_(\d+)_steps\.zip", checkpoint.name)
        if m is None:
            raise ValueError(
                f"{checkpoint}: not a checkpoint name (model.zip or <prefix>_<n>_steps.zip)"
            )
        candidate = checkpoint.with_name(f"{m.group(1)}_vecnormalize_{m.group(2)}_steps.pkl")
    if not candidate.is_file():
        raise FileNotFoundError(
            f"{candidate}: normalisation statistics of checkpoint {checkpoint} not found"
        )
    return candidate


class PPOAgent(ResidualPolicy):
    """Loads ``<policy>/model.zip`` and ``<policy>/obs_norm.npz`` (a training run directory or
    ``policies/<preset>``), or a checkpoint, and acts with the deterministic actor (argmax per sub-action).
    A recurrent policy (RecurrentPPO) carries its LSTM state from step to step; :meth:`reset`
    starts it afresh, as training starts each episode. A folder with ``residual.json`` holds a residual policy (:mod:`artic_rl.agents.residual`): the
    agent then runs the base heuristic on the same feedback and composes the action with it.

    Args:
        policy: run directory or ``policies/<preset>``, or one training checkpoint
            (``<run>/checkpoints/ckpt_<n>_steps.zip``, its VecNormalize file beside it).
        deterministic: argmax (True) or sample from the policy.
    """

    name = "ppo"

    def __init__(
        self,
        policy: str,
        deterministic: bool = True,
        codec: ActionCodec | None = None,
        interval_ms: float = 200.0,
    ) -> None:
        path = Path(policy)
        model_file = path if path.suffix == ".zip" else path / MODEL_FILE
        if not model_file.is_file():
            raise FileNotFoundError(f"{model_file}: no trained PPO policy there")
        norm = ObsNorm.load(path)
        residual = ResidualSpec.load(run_folder_of(model_file))
        model = load_model(model_file)
        self._init(model, norm, deterministic, codec, interval_ms, residual, model_file)

    @classmethod
    def from_model(
        cls,
        model: Any,
        norm: ObsNorm,
        deterministic: bool = True,
        interval_ms: float = 200.0,
        residual: ResidualSpec | None = None,
        codec: ActionCodec | None = None,
    ) -> PPOAgent:
        """An agent around a PPO model in memory (training's own evaluation), acting through
        ``codec`` (the training environment's; None: the default)."""
        agent = cls.__new__(cls)
        agent._init(model, norm, deterministic, codec, interval_ms, residual)
        return agent

    def _init(
        self,
        model: Any,
        norm: ObsNorm,
        deterministic: bool,
        codec: ActionCodec | None,
        interval_ms: float,
        residual: ResidualSpec | None = None,
        where: Path | None = None,
    ) -> None:
        """``where``: the model file, named by the error for a policy whose bitrate tiers differ
        from ``codec``'s (a residual policy's count is in its spec, a full policy's in its
        action space)."""
        super().__init__(codec, interval_ms)
        self.model = model
        self.norm = norm
        self.deterministic = deterministic
        self._state: Any = None  # the LSTM state of a recurrent policy (None: zeros)
        self._episode_start = True
        self.residual = None
        if residual is not None:
            self.residual = Residual(residual, self.codec, interval_ms, where)
        else:
            nvec = getattr(getattr(model, "action_space", None), "nvec", None)
            if nvec is not None and len(nvec) == len(self.codec.nvec):
                check_bitrate_tiers(int(nvec[0]), self.codec, where)

    def reset(self) -> None:
        super().reset()
        self._state = None
        self._episode_start = True

    def policy_action(self, observation: np.ndarray) -> np.ndarray:
        """One step; a recurrent policy's state goes in and comes out (a feed-forward one's
        stays None)."""
        action, self._state = self.model.predict(
            self.norm.apply(observation),
            state=self._state,
            episode_start=np.array([self._episode_start]),
            deterministic=self.deterministic,
        )
        self._episode_start = False
        return np.asarray(action, dtype=np.int64)
