"""SB3 callbacks and the wandb bridge used by :mod:`artic_rl.training.train`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback, CheckpointCallback
from stable_baselines3.common.logger import KVWriter

from artic_rl.agents.ppo import ObsNorm, PPOAgent
from artic_rl.evaluation.evaluate import evaluate_policy

CHECKPOINT_PREFIX = "ckpt"


class InfoMetrics(BaseCallback):
    """Logs the environment's unweighted reward components per rollout (``rollout/*``)."""

    KEYS = ("sample_accuracy", "bitrate_kbps", "stale_frames", "loss", "fps", "roi_level")

    def _on_rollout_start(self) -> None:
        self._acc: list[float] = []
        self._lat: list[float] = []
        self._delay: list[float] = []
        self._vals: dict[str, list[float]] = {k: [] for k in self.KEYS}

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", []):
            self._acc.extend(info.get("accuracy", []))
            self._lat.extend(info.get("latency_ms", []))
            self._delay.extend(info.get("frame_delay_ms", []))
            for k in self.KEYS:
                if k in info:
                    self._vals[k].append(float(info[k]))
        return True

    def _on_rollout_end(self) -> None:
        if self._acc:
            self.logger.record("rollout/accuracy_pct", 100.0 * float(np.mean(self._acc)))
            self.logger.record("rollout/latency_mean_ms", float(np.mean(self._lat)))
        if self._delay:
            self.logger.record("rollout/frame_delay_ms", float(np.mean(self._delay)))
        for k, v in self._vals.items():
            if v:
                self.logger.record(f"rollout/{k}", float(np.mean(v)))


class TqdmProgress(BaseCallback):
    """A console progress bar over environment steps."""

    def __init__(self, total: int) -> None:
        super().__init__()
        self.total = total

    def _on_training_start(self) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=self.total, initial=self.model.num_timesteps, unit="step", desc="PPO")

    def _on_step(self) -> bool:
        self.bar.update(self.training_env.num_envs)
        return True

    def _on_training_end(self) -> None:
        self.bar.close()


def CheckpointWithNorm(folder: Path, every_calls: int) -> CheckpointCallback:  # noqa: N802
    """SB3's checkpoints with the VecNormalize statistics beside each (``ckpt_<n>_steps.zip``)."""
    return CheckpointCallback(
        every_calls, str(folder), name_prefix=CHECKPOINT_PREFIX, save_vecnormalize=True
    )


class PeriodicEval(BaseCallback):
    """Evaluates the deterministic policy on the ``split`` traces every ``every_calls`` calls."""

    def __init__(
        self,
        env_id: str,
        env_kwargs: dict[str, Any],
        episodes: int,
        every_calls: int,
        run_dir: Path,
        split: str = "val",
    ) -> None:
        super().__init__()
        self.split = split
        self.env_id = env_id
        self.env_kwargs = env_kwargs
        self.episodes = episodes
        self.every_calls = every_calls
        self.history = run_dir / "eval_history.jsonl"

    def _on_step(self) -> bool:
        if self.n_calls % self.every_calls:
            return True
        venv = self.model.get_vec_normalize_env()
        assert venv is not None
        agent = PPOAgent.from_model(self.model, ObsNorm.from_vecnormalize(venv))
        res = evaluate_policy(self.env_id, self.env_kwargs, agent, self.episodes, self.split)
        res["timesteps"] = float(self.num_timesteps)
        for k, v in res.items():
            self.logger.record(f"eval/{k}", v)
        with self.history.open("a") as fh:
            fh.write(json.dumps(res) + "\n")
        return True


class WandbWriter(KVWriter):
    """Forwards SB3's logged scalars (losses, rollout and eval metrics) to a wandb run."""

    def __init__(self, run: Any) -> None:
        self.run = run

    def write(
        self, key_values: dict[str, Any], key_excluded: dict[str, Any], step: int = 0
    ) -> None:
        scalars = {k: v for k, v in key_values.items() if isinstance(v, int | float | np.number)}
        self.run.log(scalars, step=step)

    def close(self) -> None:
        pass


def wandb_run(logger: Any, run_dir: Path, config: dict[str, Any] | None) -> Any:
    """Start a wandb run (offline by default) in ``run_dir``; None when logging is off."""
    if logger.name == "none" or logger.mode == "disabled":
        return None
    import wandb

    return wandb.init(
        project=logger.project,
        entity=logger.entity,
        mode=logger.mode,
        dir=str(run_dir),
        config={**(config or {}), "run_dir": str(run_dir)},
        tags=list(logger.tags),
    )
