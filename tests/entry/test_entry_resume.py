"""Kill a training run after its first checkpoints, resume it: one run folder, one history."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "logger=none",
    "train.n_envs=1",
    "train.eval_every_steps=64",
    "train.eval_episodes=1",
    "train.checkpoint_every_steps=64",
    "train.progress_bar=false",
    "train.pretrain=null",
    "algo.n_steps=32",
    "algo.batch_size=32",
    "algo.n_epochs=1",
    "env.kwargs.episode_s=4.0",
    "train.latency_reference=null",  # no reference episodes first
]


def _train(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "train.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_a_killed_run_resumes_in_place_with_one_history(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "train.py", *TINY, "train.total_timesteps=100000"]
    proc = subprocess.Popen(
        [*cmd, f"hydra.run.dir={run_dir}"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ckpt = run_dir / "checkpoints" / "ckpt_128_steps.zip"
    try:
        deadline = time.monotonic() + 300
        while not (run_dir / "checkpoints" / "ckpt_vecnormalize_128_steps.pkl").is_file():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        time.sleep(1.0)  # let it run past the checkpoint: that part must be dropped on resume
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert json.loads((run_dir / "status.json").read_text())["status"] == "running"  # killed

    # an override that conflicts with the checkpoint's run is refused, in one line
    refused = _train([f"train.resume={ckpt}", "algo.n_steps=64"])
    assert refused.returncode == 2
    assert "train.py: error: algo.n_steps: cannot change on resume" in refused.stderr

    done = _train([f"train.resume={ckpt}", "train.total_timesteps=320"])
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"run folder: {run_dir}" in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no second folder
    history = [
        json.loads(line) for line in (run_dir / "eval_history.jsonl").read_text().splitlines()
    ]
    assert [h["timesteps"] for h in history] == [64.0, 128.0, 192.0, 256.0, 320.0]
    with (run_dir / "progress.csv").open() as fh:
        steps = [int(float(r["time/total_timesteps"])) for r in csv.DictReader(fh)]
    assert steps == sorted(set(steps)) and steps[-1] == 320  # continuous, no repeats
    ckpts = sorted(int(p.name.split("_")[1]) for p in (run_dir / "checkpoints").glob("*.zip"))
    assert ckpts[:5] == [64, 128, 192, 256, 320]
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "finished" and status["timesteps"] == 320
    assert [r["timesteps"] for r in status["resumes"]] == [128]
    assert len((run_dir / "command.txt").read_text().splitlines()) == 2
    assert "algo.n_steps=32" in (run_dir / ".hydra" / "overrides.yaml").read_text()
