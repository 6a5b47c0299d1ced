"""Structured configs: the schemas of ``conf/config.yaml`` (``train.py``) and ``conf/evaluate.yaml``
(``evaluate.py``), registered in hydra's ConfigStore.

The defaults of every ``train``, ``eval`` and ``logger`` key live in one place, the settings
dataclasses (:class:`~artic_rl.training.train.TrainSettings`,
:class:`~artic_rl.evaluation.evaluate.EvalSettings`,
:class:`~artic_rl.training.train.LoggerSettings`); hydra checks each value's type while composing
(``train.total_timesteps=abc`` fails before any work) and their ``__post_init__`` checks ranges
when the entry point turns the node into the dataclass. The YAML files choose the config groups
and set only what differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import II, MISSING

from artic_rl.evaluation.evaluate import EvalSettings
from artic_rl.training.train import LoggerSettings, TrainSettings


@dataclass
class TracesConfig:
    """Where the traces come from."""

    root: str = "traces"  # holds <preset>/<split>/ (relative: to where the command runs)
    dir: Any = None  # a folder of traces in any format, or a list of them (pooled); null = preset's


@dataclass
class TrainTracesConfig(TracesConfig):
    """Where the training traces come from: the evaluation's, plus training-only folders."""

    extra: Any = None  # folders (or one) added to the training traces only; validation: preset's
    extra_share: float | None = None  # P(an episode draws from extra); null: every trace alike
    extra_scale: Any = None  # extras' capacity: a factor > 0, or match (preset's means); null: 1


@dataclass
class TrainJob:
    """``conf/config.yaml``: one PPO training run."""

    env: Any = MISSING  # the env group: id + VideoChatEnv kwargs
    agent: Any = MISSING  # the agent group: the deployable policy (ppo)
    algo: Any = MISSING  # the algo group: ppo or recurrent_ppo, and its hyperparameters
    reward: Any = MISSING  # the reward group: reward weights
    logger: LoggerSettings = field(default_factory=LoggerSettings)
    seed: int = 0  # seeds PPO, the vector envs and the teacher's episodes
    accuracy: str = "artic"  # MLLM accuracy model: artic (authors' measurements) or ocr
    traces: TrainTracesConfig = field(default_factory=TrainTracesConfig)
    train: TrainSettings = field(default_factory=lambda: TrainSettings(seed=II("seed")))


@dataclass
class EvaluateJob:
    """``conf/evaluate.yaml``: paired evaluation of several agents."""

    env: Any = MISSING  # the env group
    reward: Any = MISSING  # the reward group (the reported reward uses it)
    agents: list[str] = field(default_factory=list)  # names of the agent group (conf/agent/)
    agent_kwargs: dict[str, Any] = field(default_factory=dict)  # per-agent overrides
    accuracy: str = "artic"  # MLLM accuracy model: artic or ocr
    traces: TracesConfig = field(default_factory=TracesConfig)
    eval: EvalSettings = field(default_factory=EvalSettings)


def register_configs() -> None:
    """Store the schemas (``train_schema``, ``evaluate_schema``) for the YAML defaults lists."""
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    cs.store(name="train_schema", node=TrainJob)
    cs.store(name="evaluate_schema", node=EvaluateJob)
