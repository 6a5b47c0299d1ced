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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym

from artic_rl.agents.ppo import (
    CONFIG_FILE,
    MODEL_FILE,
    OBS_NORM_FILE,
    VECNORMALIZE_FILE,
    ObsNorm,
    PPOAgent,
    norm_path_for,
)
from artic_rl.agents.registry import AgentSpec
from artic_rl.errors import check
from artic_rl.evaluation.evaluate import evaluate_policy

VEC_ENVS = ("dummy", "subproc")
LOGGER_MODES = ("online", "offline", "disabled")


@dataclass
class TrainSettings:
    """The ``train:`` block of ``conf/config.yaml``: its defaults, types and ranges (hydra checks the
    types when composing; :meth:`__post_init__` the ranges, before any work)."""

    total_timesteps: int = (
        500_000  # PPO environment steps (about 28 simulated hours at 200 ms a step)
    )
    n_envs: int = 8  # parallel environments
    vec_env: str = "dummy"  # dummy: all envs in this process; subproc: one process per env
    eval_every_steps: int = 50_000  # evaluate on the eval_split traces this often
    eval_episodes: int = 6  # episodes per evaluation (0: none during training)
    eval_split: str = "val"  # traces/<preset>/<split> watched during training (test stays unseen)
    checkpoint_every_steps: int = 50_000  # save model + normalisation stats this often
    resume: str | None = (
        None  # a checkpoint .zip (its VecNormalize file beside it) to continue from
    )
    progress_bar: bool = True  # tqdm progress bar on the console
    pretrain: str | None = "fixed_roi"  # behaviour-clone conf/agent/<name>.yaml first (null: none)
    pretrain_kwargs: dict[str, Any] = field(default_factory=dict)  # overrides of the teacher's yaml
    pretrain_steps: int = 60_000  # teacher steps collected on the training traces
    pretrain_epochs: int = 10  # passes over them (actor cross-entropy + critic regression)
    seed: int = 0  # seeds PPO, the vector envs and the teacher's episodes (the top-level seed)

    def __post_init__(self) -> None:
        from artic_rl.net.synth import SPLIT_STREAMS

        check(self.total_timesteps > 0, "train.total_timesteps", "must be > 0")
        check(self.n_envs >= 1, "train.n_envs", "must be >= 1")
        check(self.vec_env in VEC_ENVS, "train.vec_env", f"must be one of {', '.join(VEC_ENVS)}")
        check(self.eval_every_steps > 0, "train.eval_every_steps", "must be > 0")
        check(self.eval_episodes >= 0, "train.eval_episodes", "must be >= 0")
        check(
            self.eval_split in SPLIT_STREAMS,
            "train.eval_split",
            f"must be one of {', '.join(sorted(SPLIT_STREAMS))}, got {self.eval_split!r}",
        )
        check(self.checkpoint_every_steps > 0, "train.checkpoint_every_steps", "must be > 0")
        check(self.pretrain_steps > 0, "train.pretrain_steps", "must be > 0")
        check(self.pretrain_epochs >= 0, "train.pretrain_epochs", "must be >= 0")


@dataclass
class LoggerSettings:
    """The ``logger`` group: wandb or nothing."""

    name: str = "none"  # wandb | none
    mode: str = (
        "disabled"  # online | offline | disabled (offline needs no account; `wandb sync` later)
    )
    project: str = "artic_rl"  # wandb project
    entity: str | None = None  # wandb team or user; null = default
    tags: list[str] = field(default_factory=list)  # extra run tags

    def __post_init__(self) -> None:
        check(self.mode in LOGGER_MODES, "logger.mode", f"must be one of {', '.join(LOGGER_MODES)}")


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


def _callbacks(
    run_dir: Path,
    settings: TrainSettings,
    env_id: str,
    env_kwargs: dict[str, Any],
) -> list[Any]:
    from artic_rl.training.callbacks import (
        CheckpointWithNorm,
        InfoMetrics,
        PeriodicEval,
        TqdmProgress,
    )

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
    teacher: AgentSpec | None = None,
) -> dict[str, Any]:
    """Train PPO, save everything into ``run_dir``, return the final evaluation (``eval_split``).

    With a ``teacher``, the policy is first behaviour-cloned from it (:mod:`.pretrain`)."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.logger import configure
    from stable_baselines3.common.vec_env import (
        DummyVecEnv,
        SubprocVecEnv,
        VecMonitor,
        VecNormalize,
    )

    from artic_rl.training.callbacks import WandbWriter, wandb_run

    torch.set_num_threads(1)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "command.txt").write_text(" ".join(shlex.quote(a) for a in sys.argv) + "\n")
    fns = [make_env_fn(env_id, env_kwargs, settings.seed + i) for i in range(settings.n_envs)]
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
        if teacher is not None:
            gamma = float(kwargs.get("gamma", 0.99))
            _warm_start(model, venv, run_dir, env_id, env_kwargs, settings, teacher, gamma)
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
        model.save(run_dir / MODEL_FILE)
        venv.save(str(run_dir / VECNORMALIZE_FILE))
        norm = ObsNorm.from_vecnormalize(venv)
        norm.save(run_dir / OBS_NORM_FILE)
        venv.close()
    final = evaluate_policy(
        env_id,
        env_kwargs,
        PPOAgent.from_model(model, norm),
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
    teacher: AgentSpec,
    gamma: float,
) -> None:
    """Behaviour-clone the ``teacher`` agent before PPO (:mod:`artic_rl.training.pretrain`)."""
    from artic_rl.training.pretrain import collect, warm_start

    seed = settings.seed + 500_000
    agent = teacher.build(float(env_kwargs.get("interval_ms", 200.0)))
    demos = collect(env_id, env_kwargs, agent, settings.pretrain_steps, gamma, seed)
    stats: dict[str, Any] = warm_start(
        model, venv, demos, settings.pretrain_epochs, 512, 1e-3, settings.seed
    )
    stats["teacher"] = teacher.name
    stats["teacher_kwargs"] = teacher.kwargs
    stats["steps"] = len(demos.rewards)
    stats["teacher_reward_per_step"] = float(demos.rewards.mean())
    (run_dir / "pretrain.json").write_text(json.dumps(stats, indent=2) + "\n")


def train(cfg: Any, run_dir: Path | None = None) -> dict[str, Any]:
    """Entry point of ``train.py``: unpack the composed config (``conf/config.yaml``) and train.

    Runs inside hydra (``@hydra.main``, or ``initialize_config_dir`` in tests): the teacher named
    by ``train.pretrain`` is composed from the ``agent`` group."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    from artic_rl.agents.registry import agent_spec

    if run_dir is None:
        run_dir = Path(HydraConfig.get().runtime.output_dir)
    settings: TrainSettings = OmegaConf.to_object(cfg.train)  # type: ignore[assignment]
    logger: LoggerSettings = OmegaConf.to_object(cfg.logger)  # type: ignore[assignment]
    config: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    env_kwargs = dict(config["env"]["kwargs"])
    ppo_kwargs = dict(config["algo"])
    teacher = None
    if settings.pretrain and not settings.resume:
        teacher = agent_spec(settings.pretrain, settings.pretrain_kwargs)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / CONFIG_FILE).write_text(OmegaConf.to_yaml(cfg, resolve=True))
    return train_ppo(
        run_dir, config["env"]["id"], env_kwargs, ppo_kwargs, settings, logger, config, teacher
    )
