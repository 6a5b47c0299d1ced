"""PPO training on ``artic/VideoChat-v0``: the library behind ``python train.py``.

``train(cfg)`` reads the composed hydra config once, turns it into typed arguments and calls
:func:`train_ppo`, which tests call directly. A run directory keeps what reproduces the run:
``config.yaml`` (composed), ``command.txt``, ``model.zip``, ``vecnormalize.pkl`` + ``obs_norm.npz``
(observation normalisation), ``checkpoints/``, ``progress.csv`` (SB3 logs), ``eval.json``.
"""

from __future__ import annotations

import json
import math
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from artic_rl.rollout import EpisodeResult, run_episode

TEST_SEED_BASE = (
    1_000_000  # evaluation episodes use seeds TEST_SEED_BASE + i, disjoint from training
)


@dataclass(frozen=True)
class TrainSettings:
    """The ``train:`` block of ``conf/config.yaml``."""

    total_timesteps: int = 300_000
    n_envs: int = 8
    vec_env: str = "dummy"
    eval_every_steps: int = 50_000
    eval_episodes: int = 6
    eval_split: str = "val"
    checkpoint_every_steps: int = 50_000
    resume: str | None = None
    progress_bar: bool = True
    pretrain: str | None = "fixed_roi"
    pretrain_kwargs: dict[str, Any] = field(default_factory=dict)
    pretrain_steps: int = 60_000
    pretrain_epochs: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        from artic_rl.net.synth import SPLIT_STREAMS

        if self.eval_split not in SPLIT_STREAMS:
            raise ValueError(
                f"train.eval_split must be one of {sorted(SPLIT_STREAMS)}, got {self.eval_split!r}"
            )


@dataclass(frozen=True)
class LoggerSettings:
    """The ``logger:`` group: wandb or nothing."""

    name: str = "none"
    mode: str = "disabled"
    project: str = "artic_rl"
    entity: str | None = None
    tags: list[str] = field(default_factory=list)


def make_env_fn(
    env_id: str, env_kwargs: dict[str, Any], seed: int
) -> Callable[[], gym.Env[Any, Any]]:
    """A picklable factory for vector environments."""

    def _make() -> gym.Env[Any, Any]:
        import artic_rl.envs  # noqa: F401  (registers the id in the subprocess)

        env = gym.make(env_id, **env_kwargs)
        env.reset(seed=seed)
        return env

    return _make


def evaluate_policy(
    env_id: str,
    env_kwargs: dict[str, Any],
    act: Callable[[np.ndarray], np.ndarray],
    episodes: int,
    split: str = "val",
) -> dict[str, float]:
    """Mean per-question metrics of a policy on ``split`` (seeds TEST_SEED_BASE + i).

    Training watches the validation split, so the test split stays unseen until ``evaluate.py``.
    """
    from artic_rl.agents.base import Agent

    class _Fn(Agent):
        name = "policy"

        def act(self, observation: np.ndarray) -> np.ndarray:
            return act(observation)

    import artic_rl.envs  # noqa: F401

    env = gym.make(env_id, **{**env_kwargs, "split": split})
    results: list[EpisodeResult] = [
        run_episode(env, _Fn(), TEST_SEED_BASE + i) for i in range(episodes)
    ]
    rows = [r.summary() for r in results]
    keys = (
        "reward",
        "accuracy_pct",
        "latency_mean_ms",
        "latency_p95_ms",
        "frame_delay_ms",
        "bitrate_kbps",
        "stale_share",
    )
    return {k: float(np.nanmean([row[k] for row in rows])) for k in keys}


def _callbacks(
    run_dir: Path,
    settings: TrainSettings,
    env_id: str,
    env_kwargs: dict[str, Any],
) -> list[Any]:
    from artic_rl.train_callbacks import CheckpointWithNorm, InfoMetrics, PeriodicEval, TqdmProgress

    cbs: list[Any] = [InfoMetrics()]
    if settings.progress_bar:
        cbs.append(TqdmProgress(settings.total_timesteps))
    n = max(1, settings.n_envs)
    cbs.append(
        CheckpointWithNorm(run_dir / "checkpoints", max(1, settings.checkpoint_every_steps // n))
    )
    if settings.eval_episodes > 0:
        cbs.append(
            PeriodicEval(
                env_id,
                env_kwargs,
                settings.eval_episodes,
                max(1, settings.eval_every_steps // n),
                run_dir,
                settings.eval_split,
            )
        )
    return cbs


def train_ppo(
    run_dir: Path,
    env_id: str,
    env_kwargs: dict[str, Any],
    ppo_kwargs: dict[str, Any],
    settings: TrainSettings,
    logger: LoggerSettings,
    config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train PPO, save everything into ``run_dir``, return the final evaluation (``eval_split``)."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.logger import configure
    from stable_baselines3.common.running_mean_std import RunningMeanStd
    from stable_baselines3.common.vec_env import (
        DummyVecEnv,
        SubprocVecEnv,
        VecMonitor,
        VecNormalize,
    )

    from artic_rl.agents.ppo import save_obs_norm
    from artic_rl.train_callbacks import WandbWriter, wandb_run

    torch.set_num_threads(1)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "command.txt").write_text(" ".join(shlex.quote(a) for a in sys.argv) + "\n")
    if config is not None:
        (run_dir / "config.json").write_text(json.dumps(config, indent=2, default=str) + "\n")
    fns = [make_env_fn(env_id, env_kwargs, settings.seed + i) for i in range(settings.n_envs)]
    if settings.vec_env not in ("dummy", "subproc"):
        raise ValueError(f"train.vec_env must be dummy or subproc, got {settings.vec_env!r}")
    vec = (
        SubprocVecEnv(fns)
        if settings.vec_env == "subproc" and settings.n_envs > 1
        else DummyVecEnv(fns)
    )
    venv: VecNormalize = VecNormalize(
        VecMonitor(vec), norm_obs=True, norm_reward=True, clip_obs=10.0
    )
    kwargs = dict(ppo_kwargs)
    net_arch = kwargs.pop("net_arch", [128, 128])
    if settings.resume:
        ckpt = Path(settings.resume)
        venv = VecNormalize.load(str(norm_path_for(ckpt)), VecMonitor(vec))
        model = PPO.load(ckpt, env=venv, device="cpu")
    else:
        model = PPO(
            "MlpPolicy",
            venv,
            seed=settings.seed,
            device="cpu",
            policy_kwargs={"net_arch": list(net_arch)},
            **kwargs,
        )
        if settings.pretrain:
            gamma = float(kwargs.get("gamma", 0.99))
            _warm_start(model, venv, run_dir, env_id, env_kwargs, settings, gamma)
    run = wandb_run(logger, run_dir, config)
    formats = ["csv"] + (["stdout"] if not settings.progress_bar else [])
    sb3_logger = configure(str(run_dir), formats)
    if run is not None:
        sb3_logger.output_formats.append(WandbWriter(run))
    model.set_logger(sb3_logger)
    remaining = max(0, settings.total_timesteps - model.num_timesteps)
    try:
        model.learn(
            remaining,
            callback=_callbacks(run_dir, settings, env_id, env_kwargs),
            reset_num_timesteps=not settings.resume,
        )
    finally:
        model.save(run_dir / "model.zip")
        venv.save(str(run_dir / "vecnormalize.pkl"))
        rms = venv.obs_rms
        assert isinstance(rms, RunningMeanStd)
        save_obs_norm(run_dir / "obs_norm.npz", rms.mean, rms.var, venv.clip_obs, venv.epsilon)
        venv.close()
    final = evaluate_policy(
        env_id,
        env_kwargs,
        _policy_fn(model, rms, venv.clip_obs, venv.epsilon),
        settings.eval_episodes or 1,
        settings.eval_split,
    )
    final["timesteps"] = float(model.num_timesteps)
    (run_dir / "eval.json").write_text(json.dumps(final, indent=2) + "\n")
    if run is not None:
        run.summary.update({f"final/{k}": v for k, v in final.items() if not math.isnan(v)})
        run.finish()
    return final


def _warm_start(
    model: Any,
    venv: Any,
    run_dir: Path,
    env_id: str,
    env_kwargs: dict[str, Any],
    settings: TrainSettings,
    gamma: float,
) -> None:
    """Behaviour-clone ``conf/agent/<settings.pretrain>.yaml``'s agent before PPO (artic_rl.pretrain)."""
    from artic_rl.evaluate import load_agent_spec
    from artic_rl.pretrain import collect, warm_start

    assert settings.pretrain is not None
    seed = settings.seed + 500_000
    spec = load_agent_spec(settings.pretrain, dict(settings.pretrain_kwargs))
    teacher = spec.build(float(env_kwargs.get("interval_ms", 200.0)))
    demos = collect(env_id, env_kwargs, teacher, settings.pretrain_steps, gamma, seed)
    stats: dict[str, Any] = warm_start(
        model, venv, demos, settings.pretrain_epochs, 512, 1e-3, settings.seed
    )
    stats["teacher"] = settings.pretrain
    stats["teacher_kwargs"] = spec.kwargs
    stats["steps"] = len(demos.rewards)
    stats["teacher_reward_per_step"] = float(demos.rewards.mean())
    (run_dir / "pretrain.json").write_text(json.dumps(stats, indent=2) + "\n")


def _policy_fn(
    model: Any, rms: Any, clip_obs: float, eps: float
) -> Callable[[np.ndarray], np.ndarray]:
    std = np.sqrt(rms.var + eps)

    def act(obs: np.ndarray) -> np.ndarray:
        z = np.clip((obs - rms.mean) / std, -clip_obs, clip_obs).astype(np.float32)
        action, _ = model.predict(z, deterministic=True)
        return np.asarray(action)

    return act


def norm_path_for(checkpoint: Path) -> Path:
    """The VecNormalize file saved beside a checkpoint: ``model.zip`` -> ``vecnormalize.pkl``,
    ``ckpt_<n>_steps.zip`` -> ``ckpt_vecnormalize_<n>_steps.pkl`` (SB3's CheckpointCallback)."""
    import re

    if checkpoint.name == "model.zip":
        candidate = checkpoint.with_name("vecnormalize.pkl")
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


def train(cfg: Any, run_dir: Path | None = None) -> dict[str, Any]:
    """Entry point of ``train.py``: unpack the composed config and train."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    if run_dir is None:
        run_dir = Path(HydraConfig.get().runtime.output_dir)
    config: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    env_kwargs = dict(config["env"]["kwargs"])
    settings = TrainSettings(seed=int(config["seed"]), **config["train"])
    logger = LoggerSettings(**config["logger"])
    if (config.get("wandb") or {}).get("mode"):
        logger = replace(logger, mode=str(config["wandb"]["mode"]))
    ppo_kwargs = dict(config["agent"]["ppo"])
    (run_dir).mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    return train_ppo(run_dir, config["env"]["id"], env_kwargs, ppo_kwargs, settings, logger, config)
