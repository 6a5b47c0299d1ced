"""Every entry point refuses bad input in one line: exit 2, no traceback, the culprit named, and
no run folder left behind unmarked. Each case runs the real script in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "lte"


def _run(script: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / script), *args, f"hydra.run.dir={cwd / 'run'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _assert_one_line(run: subprocess.CompletedProcess[str], prog: str, culprit: str) -> None:
    assert run.returncode == 2, run.stderr[-3000:]
    assert "Traceback" not in run.stderr + run.stdout
    errors = [line for line in run.stderr.splitlines() if line.startswith(f"{prog}: error: ")]
    assert len(errors) == 1, run.stderr
    assert culprit in errors[0], errors[0]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("bad")
    (d / "garbage.onnx").write_bytes(b"not a protobuf at all \x00\x01")
    (d / "empty_dir").mkdir()
    (d / "garbage_policy").mkdir()
    (d / "garbage_policy" / "model.zip").write_text("not a zip")
    (d / "garbage_policy" / "obs_norm.npz").write_text("not numpy")
    (d / "bad_traces").mkdir()
    (d / "bad_traces" / "a.up").write_text("10\n5\nabc\n")
    (d / "not_traces").mkdir()
    (d / "not_traces" / "notes.csv").write_text("hello world\n")
    (d / "down_only").mkdir()
    (d / "down_only" / "a.down").write_text("1\n2\n3\n")
    (d / "trace.down").write_text("1\n2\n3\n")
    (d / "video.mp4").write_bytes(b"\x00" * 100)
    return d


TRAIN = [
    (["agent=gcc"], "agent: train.py trains agent=ppo"),
    (["train.total_timesteps=abc"], "train.total_timesteps"),
    (["train.total_timesteps=-5"], "train.total_timesteps: must be > 0"),
    (["train.total_timesteps=0"], "train.total_timesteps: must be > 0"),
    (["train.n_envs=0"], "train.n_envs: must be >= 1"),
    (["train.vec_env=threads"], "train.vec_env"),
    (["train.eval_split=validation"], "train.eval_split"),
    (["traces.dir=/nonexistent/traces"], "traces.dir: /nonexistent/traces"),
    (["traces.dir={bad}/bad_traces"], "bad_traces/a.up:3"),
    (["traces.dir={bad}/down_only"], "downlink"),
    (["traces.dir={bad}/empty_dir"], "no trace files"),
    (["traces.dir=[{bad}/down_only,/nonexistent/b]"], "traces.dir: "),
    (["traces.dir=[]"], "traces.dir: an empty list"),
    (["traces.extra=[/nonexistent/traces]"], "traces.extra: /nonexistent/traces: not a directory"),
    (["traces.extra=[{bad}/empty_dir]"], "traces.extra: {bad}/empty_dir: no trace files"),
    (["traces.extra=[{bad}/not_traces]"], "traces.extra: {bad}/not_traces/notes.csv:1"),
    (["traces.extra={bad}/bad_traces"], "traces.extra: {bad}/bad_traces/a.up:3"),
    (["traces.extra=[traces/lte/train]"], "traces.extra: traces/lte/train: named twice"),
    (["traces.extra_share=0.5"], "traces.extra_share: weights the traces.extra folders"),
    (["traces.extra=[traces/lte/val]", "traces.extra_share=2"], "traces.extra_share: must be in"),
    (["traces.extra_scale=match"], "traces.extra_scale: scales the traces.extra folders"),
    (["traces.extra=[traces/lte/val]", "traces.extra_scale=0"], "traces.extra_scale: must be a"),
    (["traces.extra=[traces/lte/val]", "traces.extra_scale=mean"], "traces.extra_scale: must be"),
    (["env=nosuch"], "env"),
    (["train.pretrain=nosuch", "train.residual=null"], "train.pretrain: unknown agent 'nosuch'"),
    (
        ["train.pretrain=fixed_roi"],
        "train.pretrain: behaviour cloning acts on the full action space",
    ),
    (["train.residual=nosuch"], "train.residual: unknown agent 'nosuch'"),
    (["train.resume=/nonexistent/ckpt_10_steps.zip"], "train.resume"),
    (["algo.n_stepz=64"], "algo.n_stepz"),
    (
        ["algo=recurrent_ppo", "train.pretrain=fixed_roi", "train.residual=null"],
        "train.pretrain: behaviour cloning fits a memoryless actor",
    ),
    (["algo.name=sac"], "algo.name: must be one of ppo, recurrent_ppo"),
    (["+algo.lstm_hidden_size=8"], "algo.lstm_hidden_size: not an argument"),
    (["logger.mode=loud"], "logger.mode"),
    (["env.kwargs.nosuch=1"], "nosuch"),
    (["accuracy=nosuch"], "nosuch"),
    (["env.kwargs.max_rate_kbps=fast"], "env.kwargs.max_rate_kbps: must be a number >= 4000"),
]

EVALUATE = [
    (["agents=[nosuch]"], "agents: unknown agent 'nosuch'"),
    (["agents=gcc"], "agents"),
    (["eval.episodes=0"], "eval.episodes: must be >= 1"),
    (["agents=[gcc,artic]", "eval.reference=fixed"], "eval.reference: 'fixed' is not among"),
    (["agents=[gcc,gcc]"], "names an agent twice"),
    (["agents=[gcc,ppo]", "+agent_kwargs.ppo.policy=/nonexistent"], "agent_kwargs.ppo"),
    (["agents=[gcc,ppo]", "+agent_kwargs.ppo.policy={bad}/garbage_policy"], "ppo"),
    (["traces.dir=/nonexistent/traces"], "traces.dir"),
    (["traces.dir=[traces/lte/test,/nonexistent/b]"], "traces.dir: /nonexistent/b"),
    (["traces.extra=[traces/lte/train]"], "extra"),  # training only: not a key of evaluate.py
    (["eval.timeline_episode=99"], "eval.timeline_episode"),
    (["+agent_kwargs.fixed.rate_kbps=5", "agents=[gcc]"], "agent_kwargs.fixed"),
    (["env.kwargs.max_rate_kbps=abc"], "env.kwargs.max_rate_kbps: must be a number >= 4000"),
    (["env.kwargs.max_rate_kbps=3000"], "env.kwargs.max_rate_kbps: must be a number >= 4000"),
    (
        ["agents=[gcc,ppo]", f"+agent_kwargs.ppo.policy={POLICY}", "env.kwargs.max_rate_kbps=32e3"],
        "policy trained with 20 bitrate tiers, but this environment has 30",
    ),
]

EXPORT = [
    (["policy=/nonexistent", "out=/tmp/x.onnx"], "policy: /nonexistent"),
    (["policy={bad}/empty_dir", "out=/tmp/x.onnx"], "no model.zip"),
    (["policy={bad}/garbage_policy", "out=/tmp/x.onnx"], "policy"),
    ([f"policy={POLICY}", "out=/tmp/x.txt"], "out: /tmp/x.txt: the file name must end in .onnx"),
    ([f"policy={POLICY}", "out=/tmp/x.onnx", "parity_n=0"], "parity_n"),
    ([f"policy={POLICY}"], "out"),
]

STREAM = [
    (["policy={bad}/garbage.onnx", "video=v.mp4", "trace=t.up"], "garbage.onnx: not an ONNX file"),
    ([f"policy={POLICY}/policy.onnx", "video=/nonexistent.mp4", "trace=t.up"], "video"),
    (["agent=gcc", "video={bad}/video.mp4", "trace=t.up"], "video.mp4"),
    (["agent=gcc", "video={bad}/video.mp4", "trace=t.up", "seconds=-5"], "seconds: must be > 0"),
    (["video=v.mp4", "trace=t.up"], "policy: give policy=FILE.onnx or agent=NAME"),
    (["agent=gcc", "video=v.mp4", "trace=t.up", "judge=gpt"], "judge"),
    (["agent=gcc", "video=v.mp4", "trace=t.up", "width=641"], "width"),
    (["agent=gcc", "video=v.mp4", "trace=t.up", "clip_curves={bad}/garbage.onnx"], "garbage.onnx"),
]


@pytest.mark.parametrize("args, culprit", TRAIN)
def test_train_py_refuses(args: list[str], culprit: str, bad_files: Path, tmp_path: Path) -> None:
    run = _run("train.py", [a.format(bad=bad_files) for a in args], tmp_path)
    _assert_one_line(run, "train.py", culprit.format(bad=bad_files))
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args, culprit", EVALUATE)
def test_evaluate_py_refuses(
    args: list[str], culprit: str, bad_files: Path, tmp_path: Path
) -> None:
    run = _run("evaluate.py", [a.format(bad=bad_files) for a in args], tmp_path)
    _assert_one_line(run, "evaluate.py", culprit)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args, culprit", EXPORT)
def test_export_py_refuses(args: list[str], culprit: str, bad_files: Path, tmp_path: Path) -> None:
    run = _run("export.py", [a.format(bad=bad_files) for a in args], tmp_path)
    _assert_one_line(run, "export.py", culprit)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args, culprit", STREAM)
def test_stream_py_refuses(args: list[str], culprit: str, bad_files: Path, tmp_path: Path) -> None:
    run = _run("stream.py", [a.format(bad=bad_files) for a in args], tmp_path)
    _assert_one_line(run, "stream.py", culprit)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("script", ["train.py", "evaluate.py", "export.py", "stream.py"])
def test_help_lists_the_documented_keys(script: str) -> None:
    run = subprocess.run(
        [sys.executable, script, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0
    assert "Config groups" in run.stdout and "env.* (conf/env/base.yaml" in run.stdout
    assert "# one-way propagation delay after the bottleneck" in run.stdout
    if script == "train.py":
        assert "train.total_timesteps = 1_000_000" in run.stdout
        assert 'train.residual = "artic"' in run.stdout
        assert "# PPO environment steps" in run.stdout


def test_a_failure_after_the_run_folder_exists_marks_it(tmp_path: Path) -> None:
    """In a sweep each job is checked as it starts: a bad job's folder is renamed -failed and its
    log holds the error."""
    sweep = tmp_path / "sweep"
    run = subprocess.run(
        [sys.executable, "evaluate.py", "-m", "agents=[gcc],[nosuch]", f"hydra.sweep.dir={sweep}"]
        + ["eval.episodes=1", "eval.n_jobs=1", "env.kwargs.episode_s=2", "eval.progress_bar=false"]
        + ["hydra/launcher=basic"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 2
    assert "evaluate.py: error: agents: unknown agent 'nosuch'" in run.stderr
    failed = sweep / "1-failed"
    assert failed.is_dir() and not (sweep / "1").exists()
    assert "error: agents: unknown agent 'nosuch'" in (failed / "evaluate.log").read_text()
