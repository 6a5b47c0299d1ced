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
    ALGORITHMS,
    CHECKPOINTS,
    CONFIG_FILE,
    MODEL_FILE,
    OBS_NORM_FILE,
    VECNORMALIZE_FILE,
    ObsNorm,
    PPOAgent,
    algorithm_class,
    load_model,
    norm_path_for,
    run_folder_of,
)
from artic_rl.agents.registry import AgentSpec
from artic_rl.agents.residual import ResidualEnv, ResidualSpec
from artic_rl.errors import ConfigError, check
from artic_rl.evaluation.evaluate import evaluate_policy
from artic_rl.evaluation.rollout import env_codec

VEC_ENVS = ("dummy", "subproc")
STATUS_FILE = "status.json"
LOGGER_MODES = ("online", "offline", "disabled")
CONSTRAINTS = ("latency", "accuracy", "both")
#: The ``algo`` keys that build the policy network (``policy_kwargs``), per ``algo.name``; the
#: other keys are the algorithm's own arguments.
POLICY_KEYS: dict[str, tuple[str, ...]] = {
    "ppo": ("net_arch",),
    "recurrent_ppo": (
        "net_arch",
        "lstm_hidden_size",
        "n_lstm_layers",
        "shared_lstm",
        "enable_critic_lstm",
    ),
}


@dataclass
class TrainSettings:
    """The ``train:`` block of ``conf/config.yaml``: its defaults, types and ranges (hydra checks the
    types when composing; :meth:`__post_init__` the ranges, before any work)."""

    total_timesteps: int = 1_000_000  # PPO environment steps (200 ms each: ~56 simulated hours)
    n_envs: int = 8  # parallel environments
    vec_env: str = "dummy"  # dummy: all envs in this process; subproc: one process per env
    eval_every_steps: int = 50_000  # evaluate on the eval_split traces this often
    eval_episodes: int = 6  # episodes per evaluation (0: none during training)
    eval_split: str = "val"  # traces/<preset>/<split> watched during training (test stays unseen)
    checkpoint_every_steps: int = 50_000  # save model + normalisation stats this often
    resume: str | None = None  # a checkpoint .zip to continue from, in its own run folder
    progress_bar: bool = True  # tqdm progress bar on the console
    pretrain: str | None = None  # behaviour-clone conf/agent/<name>.yaml first (null: from scratch)
    pretrain_kwargs: dict[str, Any] = field(default_factory=dict)  # overrides of the teacher's yaml
    pretrain_steps: int = 60_000  # teacher steps collected on the training traces
    pretrain_epochs: int = 10  # passes over them (actor cross-entropy + critic regression)
    residual: str | None = "artic"  # act as offsets on conf/agent/<name>.yaml (null: full actions)
    residual_max_offset: int = 4  # ... bitrate offsets of up to this many tiers either way
    residual_bias: float = 2.0  # ... initial logit bonus of "no offset, the base's frame rate"
    latency_reference: str | None = "artic"  # latency at most this agent's (null: unconstrained)
    latency_reference_episodes: int = 64  # ... measured on this many training episodes first
    lagrange_lr: float = 0.2  # ... multiplier step per rollout, per second over the target
    paired: bool = False  # run the reference beside each episode: reward as the difference
    constrain: str = "latency"  # latency: <= the reference's; accuracy: >= it; both (paired)
    accuracy_margin_pts: float = 0.0  # ... constrain=accuracy|both: this many points above it
    latency_margin_ms: float = 0.0  # ... constrain=latency|both: latency at most this over it
    curriculum: bool = False  # draw training traces where the learner trails the reference (paired)
    curriculum_share: float = 0.5  # ... the share of draws by that deficit; the rest uniform
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
        check(self.residual_max_offset >= 0, "train.residual_max_offset", "must be >= 0")
        check(
            self.latency_reference_episodes >= 1, "train.latency_reference_episodes", "must be >= 1"
        )
        check(self.lagrange_lr >= 0.0, "train.lagrange_lr", "must be >= 0")
        check(
            self.constrain in CONSTRAINTS,
            "train.constrain",
            f"must be one of {', '.join(CONSTRAINTS)}, got {self.constrain!r}",
        )
        check(
            self.constrain == "latency" or self.paired,
            "train.constrain",
            f"{self.constrain} is measured against the paired reference: set train.paired=true",
        )
        check(
            self.accuracy_margin_pts == 0.0 or self.constrain in ("accuracy", "both"),
            "train.accuracy_margin_pts",
            f"holds only with train.constrain=accuracy or both, not {self.constrain}",
        )
        check(
            self.latency_margin_ms == 0.0 or self.constrain in ("latency", "both"),
            "train.latency_margin_ms",
            f"holds only with train.constrain=latency or both, not {self.constrain}",
        )
        check(
            not self.curriculum or self.paired,
            "train.curriculum",
            "the curriculum follows the paired reference's gap: set train.paired=true",
        )
        check(0.0 <= self.curriculum_share <= 1.0, "train.curriculum_share", "must be in [0, 1]")
        check(
            not self.paired or bool(self.latency_reference),
            "train.paired",
            "needs train.latency_reference: the agent that runs beside each episode",
        )
        check(
            not (self.residual and self.pretrain),
            "train.pretrain",
            "behaviour cloning acts on the full action space; a residual policy starts at its base",
        )


@dataclass
class LoggerSettings:
    """The ``logger`` group: wandb or nothing."""

    name: str = "none"  # wandb | none
    mode: str = "disabled"  # online | offline (no account needed; `wandb sync` later) | disabled
    project: str = "artic_rl"  # wandb project
    entity: str | None = None  # wandb team or user; null = default
    tags: list[str] = field(default_factory=list)  # extra run tags

    def __post_init__(self) -> None:
        check(self.mode in LOGGER_MODES, "logger.mode", f"must be one of {', '.join(LOGGER_MODES)}")


#: The environment arguments of training-only traces (``traces.extra``): periodic validation and
#: the final evaluation run without them, on the ``eval_split`` traces.
TRAINING_ONLY_KWARGS = ("extra_traces_dir", "extra_share", "extra_scale")


def training_env_kwargs(env_kwargs: dict[str, Any], traces: dict[str, Any]) -> dict[str, Any]:
    """The training environments' arguments: the env group's, plus the ``traces`` block's
    ``extra`` folders, ``extra_share`` and ``extra_scale``; ConfigError naming the key when they
    are malformed."""
    from artic_rl.evaluation.evaluate import trace_folders
    from artic_rl.net.rescale import checked_scale

    extra = trace_folders(traces.get("extra"), "traces.extra")
    share = traces.get("extra_share")
    check(
        share is None or bool(extra),
        "traces.extra_share",
        "weights the traces.extra folders: give traces.extra",
    )
    check(
        share is None or 0.0 <= float(share) <= 1.0,
        "traces.extra_share",
        f"must be in [0, 1], got {share}",
    )
    try:
        scale = checked_scale(traces.get("extra_scale"))
    except ValueError as err:
        raise ConfigError("traces.extra_scale", str(err)) from None
    check(
        scale is None or bool(extra),
        "traces.extra_scale",
        "scales the traces.extra folders: give traces.extra",
    )
    if not extra:
        return dict(env_kwargs)
    return {**env_kwargs, "extra_traces_dir": extra, "extra_share": share, "extra_scale": scale}


def validation_env_kwargs(env_kwargs: dict[str, Any]) -> dict[str, Any]:
    """``env_kwargs`` without the training-only traces (:data:`TRAINING_ONLY_KWARGS`)."""
    return {k: v for k, v in env_kwargs.items() if k not in TRAINING_ONLY_KWARGS}


def make_env_fn(
    env_id: str,
    env_kwargs: dict[str, Any],
    seed: int,
    residual: ResidualSpec | None = None,
    paired: AgentSpec | None = None,
) -> Callable[[], gym.Env[Any, Any]]:
    """A picklable factory for vector environments (with ``residual``: its action space; with
    ``paired``: that agent beside every episode, :class:`~artic_rl.training.paired.PairedReference`)."""

    def _make() -> gym.Env[Any, Any]:
        import artic_rl.envs  # noqa: F401  (registers the id in the subprocess)

        env = gym.make(env_id, **env_kwargs)
        if residual is not None:
            env = ResidualEnv(env, residual)
        if paired is not None:
            from artic_rl.training.paired import PairedReference

            receiver = {"receiver": paired.receiver} if paired.receiver else {}
            shadow = gym.make(env_id, **{**env_kwargs, **receiver})
            agent = paired.build(float(env_kwargs.get("interval_ms", 200.0)), env_codec(env_kwargs))
            env = PairedReference(env, shadow, agent, seed)
        env.reset(seed=seed)
        return env

    return _make


def _callbacks(
    run_dir: Path,
    settings: TrainSettings,
    env_id: str,
    env_kwargs: dict[str, Any],
    constraint: Any = None,
) -> list[Any]:
    from artic_rl.training.callbacks import (
        CheckpointWithNorm,
        InfoMetrics,
        PeriodicEval,
        TqdmProgress,
    )

    cbs: list[Any] = [InfoMetrics()]
    if constraint is not None:
        cbs.append(constraint)
    if settings.curriculum:
        from artic_rl.training.callbacks import Curriculum

        cbs.append(Curriculum(settings.curriculum_share, run_dir))
    if settings.progress_bar:
        cbs.append(TqdmProgress(settings.total_timesteps))
    if settings.eval_episodes > 0:
        cbs.append(
            PeriodicEval(
                env_id,
                env_kwargs,
                settings.eval_episodes,
                settings.eval_every_steps,
                run_dir,
                settings.eval_split,
            )
        )
    # after the evaluation: a checkpoint on disk implies that its step's evaluation is in the
    # history, so a run killed between the two resumes from it without a hole in the history
    cbs.append(CheckpointWithNorm(run_dir / CHECKPOINTS, settings.checkpoint_every_steps))
    return cbs


def write_status(run_dir: Path, status: str, **extra: Any) -> None:
    """``status.json``: running, finished or interrupted (a killed run stays "running"), and the
    resumes it has seen."""
    path = run_dir / STATUS_FILE
    doc = json.loads(path.read_text()) if path.is_file() else {}
    doc["status"] = status
    for key, value in extra.items():
        if key == "resumed_from":
            doc.setdefault("resumes", []).append(value)
        else:
            doc[key] = value
    path.write_text(json.dumps(doc, indent=2) + "\n")


def check_algorithm(algo: str, pretrain: bool) -> None:
    """ConfigError unless ``algo`` (``algo.name``) is known and combines with behaviour cloning
    (``pretrain``, ``train.pretrain``) when asked for."""
    check(algo in ALGORITHMS, "algo.name", f"must be one of {', '.join(ALGORITHMS)}, got {algo!r}")
    check(
        algo != "recurrent_ppo" or not pretrain,
        "train.pretrain",
        "behaviour cloning fits a memoryless actor to single steps; it does not apply to "
        "algo=recurrent_ppo (train it from scratch, or with train.residual)",
    )


def build_model(algo: str, venv: Any, ppo_kwargs: dict[str, Any], seed: int) -> Any:
    """A new ``algo`` model (:data:`~artic_rl.agents.ppo.ALGORITHMS`) on ``venv``: the ``algo``
    config's policy keys (:data:`POLICY_KEYS`) build the network, the rest go to the algorithm."""
    kwargs = dict(ppo_kwargs)
    policy_kwargs = {k: kwargs.pop(k) for k in POLICY_KEYS[algo] if k in kwargs}
    policy_kwargs["net_arch"] = list(policy_kwargs.get("net_arch", [128, 128]))
    cls = algorithm_class(algo)
    policy = ALGORITHMS[algo][1]
    return cls(policy, venv, seed=seed, device="cpu", policy_kwargs=policy_kwargs, **kwargs)


def train_ppo(
    run_dir: Path,
    env_id: str,
    env_kwargs: dict[str, Any],
    ppo_kwargs: dict[str, Any],
    settings: TrainSettings,
    logger: LoggerSettings,
    config: dict[str, Any] | None = None,
    teacher: AgentSpec | None = None,
    residual: ResidualSpec | None = None,
    reference: AgentSpec | None = None,
    algo: str = "ppo",
) -> dict[str, Any]:
    """Train PPO (``algo``: ``ppo``, or ``recurrent_ppo``: sb3-contrib's RecurrentPPO, an LSTM
    policy), save everything into ``run_dir``, return the final evaluation (``eval_split``).

    With a ``teacher``, the policy is first behaviour-cloned from it (:mod:`.pretrain`). With
    ``settings.resume`` (a checkpoint of the run in ``run_dir``), training continues in place:
    the history after the checkpoint is dropped, the progress, evaluation history and wandb run
    continue, and checkpoints and evaluations stay on the original step grid. With a ``residual``,
    the policy acts as offsets on its base agent (:mod:`artic_rl.agents.residual`), starting
    ``settings.residual_bias`` logits towards the base's own action. With a latency ``reference``,
    the reward's latency price becomes a Lagrange multiplier that holds the policy's mean response
    latency at the reference agent's (:class:`~artic_rl.training.callbacks.LatencyConstraint`).
    ``env_kwargs`` are the training environments'; validation drops their training-only traces
    (:func:`validation_env_kwargs`)."""
    import torch
    from stable_baselines3.common.logger import configure
    from stable_baselines3.common.vec_env import (
        DummyVecEnv,
        SubprocVecEnv,
        VecMonitor,
        VecNormalize,
    )

    from artic_rl.training.callbacks import (
        PROGRESS_FILE,
        AccuracyConstraint,
        DominanceConstraints,
        LatencyConstraint,
        ProgressCsv,
        WandbWriter,
        trim_history,
    )
    from artic_rl.training.callbacks import wandb_run as start_wandb

    check_algorithm(algo, teacher is not None)
    val_kwargs = validation_env_kwargs(env_kwargs)
    torch.set_num_threads(1)
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / "command.txt").open("a") as fh:
        fh.write(" ".join(shlex.quote(a) for a in sys.argv) + "\n")
    if residual is not None:
        residual.save(run_dir)
    paired = reference if settings.paired else None
    fns = [
        make_env_fn(env_id, env_kwargs, settings.seed + i, residual, paired)
        for i in range(settings.n_envs)
    ]
    vec = (
        SubprocVecEnv(fns)
        if settings.vec_env == "subproc" and settings.n_envs > 1
        else DummyVecEnv(fns)
    )
    # one discount: PPO, the reward scale, the critic's pretraining
    gamma = float(ppo_kwargs.get("gamma", 0.99))
    venv: VecNormalize = VecNormalize(
        VecMonitor(vec), norm_obs=True, norm_reward=True, clip_obs=10.0, gamma=gamma
    )
    if settings.resume:
        ckpt = Path(settings.resume)
        venv = VecNormalize.load(str(norm_path_for(ckpt)), VecMonitor(vec))
        model = load_model(ckpt, env=venv)
        trim_history(run_dir, model.num_timesteps)
        write_status(
            run_dir,
            "running",
            resumed_from={"checkpoint": str(ckpt), "timesteps": model.num_timesteps},
        )
    else:
        write_status(run_dir, "running")
        model = build_model(algo, venv, ppo_kwargs, settings.seed)
        if residual is not None:
            _bias_towards_base(model, venv, residual, settings.residual_bias)
        if teacher is not None:
            _warm_start(model, venv, run_dir, env_id, env_kwargs, settings, teacher, gamma)
    run = start_wandb(logger, run_dir, config)
    sb3_logger = configure(str(run_dir), [] if settings.progress_bar else ["stdout"])
    sb3_logger.output_formats.append(ProgressCsv(run_dir / PROGRESS_FILE))
    if run is not None:
        sb3_logger.output_formats.append(WandbWriter(run))
    model.set_logger(sb3_logger)
    constraint: LatencyConstraint | DominanceConstraints | None = None
    if reference is not None:
        weights = env_kwargs.get("reward") or {}
        init = float(weights.get("latency_per_s", 1.0))
        if settings.constrain == "both":  # dominance: both gaps to the paired reference held
            constraint = DominanceConstraints(
                settings.accuracy_margin_pts,
                settings.latency_margin_ms,
                settings.lagrange_lr,
                init,
                run_dir,
            )
        elif settings.constrain == "accuracy":  # accuracy at least the paired reference's
            margin = settings.accuracy_margin_pts
            constraint = AccuracyConstraint(margin, settings.lagrange_lr, 1.0 / init, run_dir)
        elif settings.paired:  # the latency gap to the reference on the same episodes
            margin = settings.latency_margin_ms
            constraint = LatencyConstraint(margin, settings.lagrange_lr, init, run_dir, paired=True)
        else:
            target = _reference_latency_ms(env_id, env_kwargs, reference, settings)
            target += settings.latency_margin_ms
            constraint = LatencyConstraint(target, settings.lagrange_lr, init, run_dir)
    remaining = max(0, settings.total_timesteps - model.num_timesteps)
    finished = False
    try:
        model.learn(
            remaining,
            callback=_callbacks(run_dir, settings, env_id, val_kwargs, constraint),
            reset_num_timesteps=not settings.resume,
        )
        finished = True
    finally:
        model.save(run_dir / MODEL_FILE)
        venv.save(str(run_dir / VECNORMALIZE_FILE))
        norm = ObsNorm.from_vecnormalize(venv)
        norm.save(run_dir / OBS_NORM_FILE)
        venv.close()
        write_status(
            run_dir, "finished" if finished else "interrupted", timesteps=model.num_timesteps
        )
    final = evaluate_policy(
        env_id,
        val_kwargs,
        PPOAgent.from_model(model, norm, residual=residual, codec=env_codec(env_kwargs)),
        settings.eval_episodes or 1,
        settings.eval_split,
    )
    final["timesteps"] = float(model.num_timesteps)
    (run_dir / "eval.json").write_text(json.dumps(final, indent=2) + "\n")
    if run is not None:
        run.summary.update({f"final/{k}": v for k, v in final.items() if not math.isnan(v)})
        run.finish()
    return final


def _reference_latency_ms(
    env_id: str, env_kwargs: dict[str, Any], reference: AgentSpec, settings: TrainSettings
) -> float:
    """The reference agent's mean response latency per question on the training traces
    (``latency_reference_episodes`` episodes, seeds apart from training's)."""
    import numpy as np

    from artic_rl.evaluation.rollout import run_episode
    from artic_rl.training.callbacks import LATENCY_KEY

    env = gym.make(env_id, **env_kwargs)
    agent = reference.build(float(env_kwargs.get("interval_ms", 200.0)), env_codec(env_kwargs))
    probes: list[float] = []
    asked: list[float] = []

    def on_step(obs: Any, action: Any, reward: float, info: dict[str, Any]) -> None:
        probes.extend(info.get(LATENCY_KEY, []))

    for i in range(settings.latency_reference_episodes):
        asked.extend(
            run_episode(env, agent, settings.seed + 900_000 + i, on_step=on_step).latency_ms
        )
    latencies = probes or asked  # the statistic the constraint measures: probes when paid
    env.close()
    check(
        bool(latencies),
        "train.latency_reference_episodes",
        f"{reference.name} answered no question in {settings.latency_reference_episodes} episodes",
    )
    return float(np.mean(latencies))


def _bias_towards_base(model: Any, venv: Any, spec: ResidualSpec, bias: float) -> None:
    """Add ``bias`` to the logits of the residual action that reproduces the base agent, so the
    untrained policy mostly acts like it while every action keeps some probability."""
    import torch

    offset, fps = venv.get_attr("residual", [0])[0].neutral()
    n_offsets = 2 * spec.max_offset + 1  # the logits: offsets first, then frame rates
    with torch.no_grad():
        model.policy.action_net.bias[offset] += bias
        model.policy.action_net.bias[n_offsets + fps] += bias


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
    agent = teacher.build(float(env_kwargs.get("interval_ms", 200.0)), env_codec(env_kwargs))
    bar = settings.progress_bar
    demos = collect(env_id, env_kwargs, agent, settings.pretrain_steps, gamma, seed, bar)
    stats: dict[str, Any] = warm_start(
        model, venv, demos, settings.pretrain_epochs, 512, 1e-3, settings.seed, bar
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
    env_kwargs = training_env_kwargs(config["env"]["kwargs"], config["traces"])
    ppo_kwargs = dict(config["algo"])
    algo = str(ppo_kwargs.pop("name", "ppo"))
    teacher = None
    if settings.pretrain and not settings.resume:
        teacher = agent_spec(settings.pretrain, settings.pretrain_kwargs)
    residual = None
    if settings.residual:
        base = agent_spec(settings.residual)
        tiers = len(env_codec(config["env"]["kwargs"]).bitrates_kbps)
        residual = ResidualSpec(base.name, base.config, settings.residual_max_offset, tiers)
    reference = agent_spec(settings.latency_reference) if settings.latency_reference else None
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / CONFIG_FILE).write_text(OmegaConf.to_yaml(cfg, resolve=True))
    final = train_ppo(
        run_dir,
        config["env"]["id"],
        env_kwargs,
        ppo_kwargs,
        settings,
        logger,
        config,
        teacher,
        residual,
        reference,
        algo,
    )
    print(
        f"final policy on {settings.eval_split} ({settings.eval_episodes or 1} episodes, "
        f"{final['timesteps']:.0f} steps): reward {final['reward']:.2f}, accuracy "
        f"{final['accuracy_pct']:.1f}%, mean response latency {final['latency_mean_ms']:.0f} ms"
    )
    print(f"run folder: {run_dir}")
    return final


#: Overrides that may change when a run is resumed; any other must equal the original run's.
RESUMABLE_KEYS = ("train.resume", "train.total_timesteps", "train.progress_bar", "logger")


def _override_key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def prepare_resume(cfg: Any, overrides: list[str]) -> list[str]:
    """``train.resume=CKPT``: continue in the checkpoint's run folder with that run's overrides.

    Returns the original run's overrides, the new ones (only budget, progress bar and logging
    may differ) and ``hydra.run.dir`` pointing at the run folder. ConfigError names an override
    that conflicts with the checkpoint's run."""
    import yaml

    if not cfg.train.resume:
        return overrides
    ckpt = Path(str(cfg.train.resume))
    check(ckpt.is_file(), "train.resume", f"{ckpt}: no such checkpoint")
    run_dir = run_folder_of(ckpt)
    recorded = run_dir / ".hydra" / "overrides.yaml"
    check(
        recorded.is_file(),
        "train.resume",
        f"{run_dir}: not a train.py run folder (no .hydra/overrides.yaml)",
    )
    original = [str(o) for o in yaml.safe_load(recorded.read_text()) or []]
    by_key = {_override_key(o): o for o in original}
    new_keys = set()
    for o in overrides:
        key = _override_key(o)
        new_keys.add(key)
        if key.startswith(RESUMABLE_KEYS) or key.startswith("hydra."):
            continue
        if by_key.get(key) != o:
            was = by_key.get(key, "the default")
            raise ConfigError(
                key,
                f"cannot change on resume: {run_dir} ran with {was}; only "
                "train.total_timesteps, train.progress_bar and logger.* may change",
            )
    kept = [o for o in original if _override_key(o) not in new_keys]
    return [*kept, *overrides, f"hydra.run.dir={run_dir}"]


def validate_train(cfg: Any) -> None:
    """Everything ``train.py`` can check before any work (raises ConfigError naming the key)."""
    import inspect

    from omegaconf import OmegaConf

    from artic_rl.agents.registry import agent_spec
    from artic_rl.evaluation.evaluate import check_env, checked_codec, trace_folders

    settings: TrainSettings = OmegaConf.to_object(cfg.train)  # type: ignore[assignment]
    OmegaConf.to_object(cfg.logger)
    target = str(cfg.agent.get("_target_", ""))
    check(
        target == f"{PPOAgent.__module__}.{PPOAgent.__name__}",
        "agent",
        f"train.py trains agent=ppo; {target or 'this agent'} has nothing to train",
    )
    algo = str(cfg.algo.get("name", "ppo"))
    check_algorithm(algo, bool(settings.pretrain) and not settings.resume)
    cls = algorithm_class(algo)
    allowed = set(inspect.signature(cls.__init__).parameters) | set(POLICY_KEYS[algo]) | {"name"}
    for key, value in cfg.algo.items():
        check(
            key in allowed,
            f"algo.{key}",
            f"not an argument of {cls.__module__.split('.')[0]}.{cls.__name__} or its policy",
        )
        if key in ("n_steps", "batch_size", "n_epochs"):
            check(isinstance(value, int) and value >= 1, f"algo.{key}", "must be an integer >= 1")
    if settings.resume:
        ckpt = Path(settings.resume)
        check(ckpt.is_file(), "train.resume", f"{ckpt}: no such checkpoint")
        try:
            norm_path_for(ckpt)
        except (ValueError, FileNotFoundError) as err:
            raise ConfigError("train.resume", str(err)) from None
    elif settings.pretrain:
        try:
            agent_spec(settings.pretrain, settings.pretrain_kwargs).build(200.0)
        except (ValueError, TypeError) as err:
            raise ConfigError("train.pretrain", str(err)) from None
    for key in ("residual", "latency_reference"):
        name = getattr(settings, key)
        if name:
            try:
                agent_spec(name).build(200.0)
            except (ValueError, TypeError) as err:
                raise ConfigError(f"train.{key}", str(err)) from None
    env = OmegaConf.to_container(cfg.env, resolve=True)
    assert isinstance(env, dict)
    checked_codec(dict(env["kwargs"]))
    traces: dict[str, Any] = OmegaConf.to_container(cfg.traces, resolve=True)  # type: ignore[assignment]
    trace_folders(traces.get("dir"), "traces.dir")
    check_env(str(env["id"]), training_env_kwargs(dict(env["kwargs"]), traces))
    if settings.eval_episodes > 0:
        check_env(str(env["id"]), {**env["kwargs"], "split": settings.eval_split})
