"""SB3 callbacks and the wandb bridge used by :mod:`artic_rl.training.train`."""

from __future__ import annotations

import csv
import json
import secrets
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import KVWriter

from artic_rl.agents.ppo import ObsNorm, PPOAgent
from artic_rl.agents.residual import ResidualSpec
from artic_rl.errors import InputError
from artic_rl.evaluation.evaluate import evaluate_policy
from artic_rl.evaluation.rollout import env_codec
from artic_rl.net.formats import atomic_write
from artic_rl.training.paired import (
    EPISODE_KEY,
    REFERENCE_ACCURACY_KEY,
    REFERENCE_LATENCY_KEY,
    TraceCurriculum,
)

CHECKPOINT_PREFIX = "ckpt"
EVAL_HISTORY = "eval_history.jsonl"
PROGRESS_FILE = "progress.csv"
STEPS_COLUMN = "time/total_timesteps"  # SB3's step count in progress.csv
WANDB_ID_FILE = "wandb_id.txt"
LATENCY_KEY = "probe_latency_ms"  # the latencies the constraint measures, when the env pays probes
ACCURACY_KEY = "probe_accuracy"  # ... and the accuracies


def read_state(path: Path, keys: tuple[str, ...]) -> dict[str, Any]:
    """A run folder's state file (``lagrange.json``, ``curriculum.json``) to resume from, with
    ``keys``; InputError names the file and the missing key (another set-up's file, say)."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise InputError(f"cannot resume from it: {err}", path) from err
    for key in keys:
        if not isinstance(doc, dict) or key not in doc:
            raise InputError(
                "cannot resume from it: missing (written by another train.constrain or an older "
                "version? resume with the run's own settings, or start a new run folder)",
                path,
                field=key,
            )
    return doc


def write_json(path: Path, doc: dict[str, Any]) -> None:
    """A run folder's state file, written whole (:func:`~artic_rl.net.formats.atomic_write`)."""
    with atomic_write(path) as fh:
        fh.write(json.dumps(doc, indent=2) + "\n")


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


class LatencyConstraint(BaseCallback):
    """Lagrangian PPO's multiplier: maximise accuracy subject to mean response latency <= ``target_ms``.

    The reward prices each second of response latency at ``latency_per_s`` (the multiplier, in
    reward per second; :class:`artic_rl.envs.video_chat.RewardWeights`). After every rollout the
    multiplier takes a projected dual-ascent step, ``max(0, lam + lr * (mean latency - target) /
    1000)``, from the latencies of the rollout's probe questions (one per interval, with
    ``expected_questions``; else the questions it answered), and every environment gets the new
    price. The state (target, multiplier, history) lives in ``lagrange.json`` in the run
    folder, so a resumed run continues with it.

    ``paired``: the environments run the reference beside each episode
    (:class:`artic_rl.training.paired.PairedReference`), and the step measures the rollout's mean
    latency minus the reference's on the same episodes, against ``target_ms`` as a margin (0: no
    slower than the reference). The trace and outages an episode meets move both latencies alike,
    so the signal's spread from one rollout to the next is the policies' difference, not the
    traces'.
    """

    FILE = "lagrange.json"

    def __init__(
        self, target_ms: float, lr: float, init: float, run_dir: Path, paired: bool = False
    ) -> None:
        super().__init__()
        self.target_ms, self.lr, self.lam, self.paired = target_ms, lr, init, paired
        self.path = run_dir / self.FILE

    def _on_training_start(self) -> None:
        if self.path.is_file():
            doc = read_state(self.path, ("target_ms", "multiplier"))
            self.target_ms, self.lam = float(doc["target_ms"]), float(doc["multiplier"])
        self._push()

    def _push(self) -> None:
        self.training_env.env_method("set_latency_price", self.lam)

    def _on_rollout_start(self) -> None:
        self._lat: list[float] = []
        self._ref: list[float] = []

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", []):
            self._lat.extend(info.get(LATENCY_KEY, info.get("latency_ms", [])))
            self._ref.extend(info.get(REFERENCE_LATENCY_KEY, []))
        return True

    def _on_rollout_end(self) -> None:
        if not self._lat or (self.paired and not self._ref):
            return
        mean = float(np.mean(self._lat)) - (float(np.mean(self._ref)) if self.paired else 0.0)
        self.lam = max(0.0, self.lam + self.lr * (mean - self.target_ms) / 1000.0)
        self._push()
        self.logger.record("constraint/multiplier", self.lam)
        self.logger.record("constraint/latency_gap_ms", mean - self.target_ms)
        self._save()

    def _save(self) -> None:
        doc = {"target_ms": self.target_ms, "multiplier": self.lam, "timesteps": self.num_timesteps}
        write_json(self.path, doc)


class AccuracyConstraint(LatencyConstraint):
    """Lagrangian PPO the other way round: minimise response latency subject to accuracy at least
    the paired reference's plus ``margin_pts`` on the same episodes (``train.constrain=accuracy``,
    with ``train.paired``).

    The multiplier ``mu`` prices accuracy against latency: the reward ``mu x accuracy - latency in
    s`` is, up to its scale (which VecNormalize removes), the reward with the latency price
    ``1 / mu``, so ``mu`` is pushed to the environments as that price. After every rollout ``mu``
    takes a projected dual-ascent step, ``max(MU_MIN, mu + lr * (margin - gap) / 10)``, where
    ``gap`` is the rollout's mean probe accuracy minus the reference's, in points: a learner less
    accurate than the margin makes accuracy dearer. The state lives in ``lagrange.json`` as for
    the latency constraint (``target_ms`` holds the margin in points).
    """

    MU_MIN = 0.1  # latency never priced above 10 s per point-second of accuracy

    def _push(self) -> None:
        self.training_env.env_method("set_latency_price", 1.0 / max(self.lam, self.MU_MIN))

    def _on_rollout_start(self) -> None:
        self._acc: list[float] = []
        self._ref: list[float] = []

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", []):
            self._acc.extend(info.get(ACCURACY_KEY, info.get("accuracy", [])))
            self._ref.extend(info.get(REFERENCE_ACCURACY_KEY, []))
        return True

    def _on_rollout_end(self) -> None:
        if not self._acc or not self._ref:
            return
        gap = 100.0 * (float(np.mean(self._acc)) - float(np.mean(self._ref)))
        self.lam = max(self.MU_MIN, self.lam + self.lr * (self.target_ms - gap) / 10.0)
        self._push()
        self.logger.record("constraint/multiplier", self.lam)
        self.logger.record("constraint/accuracy_gap_pts", gap)
        self._save()


class DominanceConstraints(BaseCallback):
    """Lagrangian PPO with both sides held (``train.constrain=both``, with ``train.paired``): the
    objective (accuracy minus ``base_price`` x response latency in s) subject to accuracy at least
    the paired reference's plus ``margin_pts`` and mean response latency at most the reference's
    plus ``margin_ms``, on the same episodes: the region that Pareto-dominates the reference.

    The Lagrangian ``(1 + mu) x accuracy - (base_price + lam) x latency`` is, up to its scale
    (which VecNormalize removes), the reward with the latency price ``(base_price + lam) / (1 +
    mu)``, which is pushed to the environments. After every rollout each multiplier takes a
    projected dual-ascent step on its own paired gap: ``mu = max(0, mu + lr x (margin_pts -
    accuracy gap) / 10)`` and ``lam = max(0, lam + lr x (latency gap - margin_ms) / 1000)``. With
    both constraints met both multipliers fall to 0 and the objective's own price is left; a
    learner too slow makes latency dearer, one not accurate enough makes it cheaper. The state
    lives in ``lagrange.json``, so a resumed run continues with it.
    """

    FILE = "lagrange.json"

    def __init__(
        self,
        margin_pts: float,
        margin_ms: float,
        lr: float,
        base_price: float,
        run_dir: Path,
    ) -> None:
        super().__init__()
        self.margin_pts, self.margin_ms, self.lr = margin_pts, margin_ms, lr
        self.base_price = base_price
        self.mu = self.lam = 0.0
        self.path = run_dir / self.FILE

    @property
    def price(self) -> float:
        """The latency price the multipliers make, in reward per second."""
        return (self.base_price + self.lam) / (1.0 + self.mu)

    def _on_training_start(self) -> None:
        if self.path.is_file():
            doc = read_state(self.path, ("accuracy_multiplier", "latency_multiplier"))
            self.mu, self.lam = float(doc["accuracy_multiplier"]), float(doc["latency_multiplier"])
        self._push()

    def _push(self) -> None:
        self.training_env.env_method("set_latency_price", self.price)

    def _on_rollout_start(self) -> None:
        self._acc: list[float] = []
        self._ref_acc: list[float] = []
        self._lat: list[float] = []
        self._ref_lat: list[float] = []

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", []):
            self._acc.extend(info.get(ACCURACY_KEY, info.get("accuracy", [])))
            self._ref_acc.extend(info.get(REFERENCE_ACCURACY_KEY, []))
            self._lat.extend(info.get(LATENCY_KEY, info.get("latency_ms", [])))
            self._ref_lat.extend(info.get(REFERENCE_LATENCY_KEY, []))
        return True

    def _on_rollout_end(self) -> None:
        if not (self._acc and self._ref_acc and self._lat and self._ref_lat):
            return
        acc_gap = 100.0 * (float(np.mean(self._acc)) - float(np.mean(self._ref_acc)))
        lat_gap = float(np.mean(self._lat)) - float(np.mean(self._ref_lat))
        self.mu = max(0.0, self.mu + self.lr * (self.margin_pts - acc_gap) / 10.0)
        self.lam = max(0.0, self.lam + self.lr * (lat_gap - self.margin_ms) / 1000.0)
        self._push()
        self.logger.record("constraint/accuracy_multiplier", self.mu)
        self.logger.record("constraint/latency_multiplier", self.lam)
        self.logger.record("constraint/latency_price", self.price)
        self.logger.record("constraint/accuracy_gap_pts", acc_gap)
        self.logger.record("constraint/latency_gap_ms", lat_gap)
        self._save()

    def _save(self) -> None:
        doc = {
            "accuracy_margin_pts": self.margin_pts,
            "latency_margin_ms": self.margin_ms,
            "accuracy_multiplier": self.mu,
            "latency_multiplier": self.lam,
            "latency_price": self.price,
            "timesteps": self.num_timesteps,
        }
        write_json(self.path, doc)


class Curriculum(BaseCallback):
    """``train.curriculum``: the paired environments draw their traces by
    :class:`~artic_rl.training.paired.TraceCurriculum`'s weights, updated after every rollout from
    the paired episodes that ended in it. The record lives in ``curriculum.json``, so a resumed
    run continues with it."""

    FILE = "curriculum.json"

    def __init__(self, share: float, run_dir: Path) -> None:
        super().__init__()
        self.share = share
        self.path = run_dir / self.FILE
        self.curriculum: TraceCurriculum | None = None
        self.names: list[str] = []  # the traces' names, by index: curriculum.json records them

    def _on_training_start(self) -> None:
        n = int(self.training_env.env_method("n_traces")[0])
        self.names = list(self.training_env.env_method("trace_names")[0])
        base = self.training_env.env_method("base_trace_weights")[0]
        if self.path.is_file():
            doc = read_state(self.path, ("share", "sums", "counts"))
            if len(doc["sums"]) != n or len(doc["counts"]) != n:
                raise InputError(
                    f"cannot resume from it: it records {len(doc['sums'])} traces, the training "
                    f"environments draw from {n}",
                    self.path,
                    field="sums",
                )
            if doc.get("traces", self.names) != self.names:
                raise InputError(
                    "cannot resume from it: it records other traces than the training "
                    "environments draw from",
                    self.path,
                    field="traces",
                )
            self.curriculum = TraceCurriculum.from_state(doc, base)
        else:
            self.curriculum = TraceCurriculum(n, self.share, base)
        self._push()

    def _push(self) -> None:
        assert self.curriculum is not None
        self.training_env.env_method("set_trace_weights", self.curriculum.weights())

    def _on_step(self) -> bool:
        assert self.curriculum is not None
        for info in self.locals.get("infos", []):
            if EPISODE_KEY in info:
                self.curriculum.record(*info[EPISODE_KEY])
        return True

    def _on_rollout_end(self) -> None:
        assert self.curriculum is not None
        self._push()
        deficit = self.curriculum.deficits()
        self.logger.record("curriculum/traces_trailing", int((deficit > 0).sum()))
        self.logger.record("curriculum/max_weight", float(self.curriculum.weights().max()))
        write_json(self.path, {**self.curriculum.state(), "traces": self.names})


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


class OnGrid(BaseCallback):
    """Fires when the step count crosses a multiple of ``every_steps``: the same points
    (``every_steps``, 2 x ``every_steps``, ...) whether a run started fresh or was resumed."""

    def __init__(self, every_steps: int) -> None:
        super().__init__()
        self.every_steps = every_steps

    def _on_training_start(self) -> None:
        self._done = self.model.num_timesteps // self.every_steps

    def _on_step(self) -> bool:
        due = self.num_timesteps // self.every_steps
        if due > self._done:
            self._done = due
            self.fire()
        return True

    def fire(self) -> None:
        """What happens at a grid point."""


class CheckpointWithNorm(OnGrid):
    """``<folder>/ckpt_<n>_steps.zip`` with SB3's VecNormalize statistics beside it
    (``ckpt_vecnormalize_<n>_steps.pkl``), the names SB3's CheckpointCallback uses."""

    def __init__(self, folder: Path, every_steps: int) -> None:
        super().__init__(every_steps)
        self.folder = folder

    def fire(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        n = self.num_timesteps
        self.model.save(self.folder / f"{CHECKPOINT_PREFIX}_{n}_steps.zip")
        venv = self.model.get_vec_normalize_env()
        if venv is not None:
            venv.save(str(self.folder / f"{CHECKPOINT_PREFIX}_vecnormalize_{n}_steps.pkl"))


class PeriodicEval(OnGrid):
    """Evaluates the deterministic policy on the ``split`` traces every ``every_steps`` steps and
    appends the figures to ``eval_history.jsonl``."""

    def __init__(
        self,
        env_id: str,
        env_kwargs: dict[str, Any],
        episodes: int,
        every_steps: int,
        run_dir: Path,
        split: str = "val",
    ) -> None:
        super().__init__(every_steps)
        self.split = split
        self.env_id = env_id
        self.env_kwargs = env_kwargs
        self.episodes = episodes
        self.history = run_dir / EVAL_HISTORY
        self.run_dir = run_dir

    def fire(self) -> None:
        venv = self.model.get_vec_normalize_env()
        assert venv is not None
        norm = ObsNorm.from_vecnormalize(venv)
        residual = ResidualSpec.load(self.run_dir)
        codec = env_codec(self.env_kwargs)
        agent = PPOAgent.from_model(self.model, norm, residual=residual, codec=codec)
        res = evaluate_policy(self.env_id, self.env_kwargs, agent, self.episodes, self.split)
        res["timesteps"] = float(self.num_timesteps)
        for k, v in res.items():
            self.logger.record(f"eval/{k}", v)
        with self.history.open("a") as fh:
            fh.write(json.dumps(res) + "\n")


class ProgressCsv(KVWriter):
    """SB3's logged scalars as ``progress.csv``, one row per log call, continued across resumes
    (rows already in the file are kept; a new column widens the header)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: list[dict[str, str]] = []
        if path.is_file():
            with path.open(newline="") as fh:
                self.rows = list(csv.DictReader(fh))

    def write(
        self, key_values: dict[str, Any], key_excluded: dict[str, Any], step: int = 0
    ) -> None:
        row = {k: str(v) for k, v in key_values.items() if isinstance(v, int | float | np.number)}
        self.rows.append(row)
        keys = list(dict.fromkeys(k for r in self.rows for k in r))
        with atomic_write(self.path) as fh:
            writer = csv.DictWriter(fh, fieldnames=keys)
            writer.writeheader()
            writer.writerows(self.rows)

    def close(self) -> None:
        pass


def trim_history(run_dir: Path, timesteps: int) -> None:
    """Drop what a run logged after step ``timesteps`` (it is resumed from a checkpoint there), so
    its progress and evaluation history continue without repeats."""
    history = run_dir / EVAL_HISTORY
    if history.is_file():
        rows = []
        for line in history.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut short by the kill
                continue
        kept = [r for r in rows if r.get("timesteps", 0) <= timesteps]
        history.write_text("".join(json.dumps(r) + "\n" for r in kept))
    progress = run_dir / PROGRESS_FILE
    if progress.is_file():
        with progress.open(newline="") as fh:
            reader = csv.DictReader(fh)
            fields = list(reader.fieldnames or [])
            rows = [r for r in reader if float(r.get(STEPS_COLUMN) or 0) <= timesteps]
        with progress.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)


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
    """Start a wandb run (offline by default) in ``run_dir``, or resume the one that run folder
    started (its id is kept in ``wandb_id.txt``); None when logging is off."""
    if logger.name == "none" or logger.mode == "disabled":
        return None
    import wandb

    id_file = run_dir / WANDB_ID_FILE
    run_id = id_file.read_text().strip() if id_file.is_file() else secrets.token_hex(4)
    id_file.write_text(run_id + "\n")
    return wandb.init(
        project=logger.project,
        entity=logger.entity,
        mode=logger.mode,
        dir=str(run_dir),
        id=run_id,
        resume="allow",
        config={**(config or {}), "run_dir": str(run_dir)},
        tags=list(logger.tags),
    )
