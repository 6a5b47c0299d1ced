"""The way past one machine: `python train.py -m hydra/launcher=submitit_local seed=0,1`, the same
launcher code path as submitit_slurm on a cluster (docs/training.md), at a tiny budget."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "logger=none",
    "train.total_timesteps=128",
    "train.n_envs=1",
    "train.eval_every_steps=128",
    "train.eval_episodes=1",
    "train.checkpoint_every_steps=128",
    "train.progress_bar=false",
    "algo.n_steps=64",
    "algo.batch_size=32",
    "algo.n_epochs=1",
    "env.kwargs.episode_s=4.0",
    "train.latency_reference=null",  # no reference episodes first
    "train.pretrain_steps=40",
    "train.pretrain_epochs=1",
]


@pytest.mark.parametrize("launcher", ["submitit_local", "local"])
def test_a_seed_sweep_runs_through_the_launcher(tmp_path: Path, launcher: str) -> None:
    sweep = tmp_path / "sweep"
    cmd = [sys.executable, "train.py", "-m", f"hydra/launcher={launcher}", "seed=0,1", *TINY]
    cmd += [f"hydra.sweep.dir={sweep}"]
    if launcher == "submitit_local":
        cmd += ["hydra.launcher.timeout_min=10"]
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    for job in ("0", "1"):
        assert (sweep / job / "model.zip").is_file()
        assert (sweep / job / "eval.json").is_file()
    seeds = [(sweep / j / "config.yaml").read_text().split("seed: ")[1].split()[0] for j in "01"]
    assert seeds == ["0", "1"]
