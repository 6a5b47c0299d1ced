"""The README's quick start, run as written at a tiny budget, so the README never shows a command
that fails.

The commands are the lines of the README's fenced block opened with ```` ```bash quickstart ````
(comments after ``#`` dropped, ``\\`` continues a line). Each runs from the repository root, as a
user would run it, with three changes the test makes and nothing else:

1. ``outputs/quickstart`` (where the quick start writes everything) becomes a folder under
   ``tmp_path``, and a hydra entry point without a ``hydra.run.dir=`` gets one there, so nothing is
   written into the repository;
2. ``python`` is the interpreter running the tests and ``artic-rl`` the console script beside it;
3. the tiny-budget overrides of :data:`TINY` are appended (a later override wins, for hydra's
   ``key=value`` and for argparse's ``--flag value`` alike): a few hundred PPO steps on one
   environment, short episodes, a short clip and a few seconds of streaming, logging off.

A command that exits non-zero fails the test with its output; so does a quick start that lost one
of its steps (train, evaluate, export, stream).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
OUT = "outputs/quickstart"
HYDRA_SCRIPTS = ("train.py", "evaluate.py", "export.py", "stream.py")

TINY: dict[str, list[str]] = {
    "train.py": [
        "logger=none",  # no wandb run
        "train.total_timesteps=256",  # PPO steps (the default job: 1,000,000)
        "train.n_envs=1",
        "train.eval_every_steps=128",
        "train.eval_episodes=1",
        "train.checkpoint_every_steps=128",
        "train.progress_bar=false",
        "train.latency_reference_episodes=8",  # episodes measuring artic's latency (64)
        "algo.n_steps=64",
        "algo.batch_size=32",
        "algo.n_epochs=1",
        "env.kwargs.episode_s=6.0",  # simulated seconds per episode (60)
    ],
    "evaluate.py": [
        "eval.episodes=2",
        "eval.n_jobs=1",
        "eval.bootstrap=50",
        "eval.progress_bar=false",
        "env.kwargs.episode_s=6.0",
    ],
    "export.py": ["parity_n=200", "bench_runs=100"],
    "stream.py": ["seconds=3"],  # wall-clock seconds of streaming
    "artic-rl clips": ["--seconds", "3", "--size", "320x180"],
}


def quickstart_commands(readme: str) -> list[str]:
    """The commands of the README's ```` ```bash quickstart ```` block, one string each."""
    match = re.search(r"^```bash quickstart\n(.*?)^```", readme, re.M | re.S)
    assert match, "README.md has no ```bash quickstart block"
    commands, pending = [], ""
    for raw in match.group(1).splitlines():
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            commands.append(line)
    return commands


def prepared(command: str, out: Path, index: int) -> list[str]:
    """``command`` as the test runs it: paths under ``out``, this interpreter, tiny budget."""
    argv = shlex.split(command.replace(OUT, str(out)))
    if argv[0] == "python":
        script = argv[1]
        argv = [sys.executable, *argv[1:]]
        extra = list(TINY.get(script, []))
        if script in HYDRA_SCRIPTS and not any(a.startswith("hydra.run.dir=") for a in argv):
            extra.append(f"hydra.run.dir={out}/run-{index}")
        return argv + extra
    if argv[0] == "artic-rl":
        key = f"artic-rl {argv[1]}"
        return [str(Path(sys.executable).with_name("artic-rl")), *argv[1:], *TINY.get(key, [])]
    raise AssertionError(f"quick-start command starts with neither python nor artic-rl: {command}")


def test_readme_quickstart_runs(tmp_path: Path) -> None:
    commands = quickstart_commands(README.read_text(encoding="utf-8"))
    for step in ("train.py", "evaluate.py", "export.py", "stream.py"):
        assert any(step in c for c in commands), f"the quick start lost its {step} step"
    out = tmp_path / "quickstart"
    for index, command in enumerate(commands):
        argv = prepared(command, out, index)
        start = time.monotonic()
        run = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
        took = time.monotonic() - start
        if run.returncode != 0:
            pytest.fail(
                f"README quick-start command failed (exit {run.returncode}, {took:.0f} s):\n"
                f"  {command}\nrun as:\n  {shlex.join(argv)}\n"
                f"{run.stdout[-2000:]}\n{run.stderr[-3000:]}"
            )
    assert (out / "train" / "model.zip").is_file()
    assert (out / "policy.onnx").is_file()


def test_quickstart_parser_reads_continuations_and_comments() -> None:
    readme = "x\n```bash quickstart\n# a comment\npython a.py k=1 \\\n  j=2   # note\n\nartic-rl b\n```\n"
    assert quickstart_commands(readme) == ["python a.py k=1 j=2", "artic-rl b"]
