"""artic-rl sweep-table: evaluate.py runs side by side, from their config.yaml and summary.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from artic_rl.cli import main


def _run(folder: Path, loss: float, latency_ms: float) -> None:
    folder.mkdir(parents=True)
    config = {
        "env": {
            "kwargs": {"preset": "lte", "split": "test", "traces_dir": None, "loss_rate": loss}
        },
        "eval": {"reference": "gcc"},
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    row = {"episodes": 30.0, "accuracy_pct": 80.0, "latency_mean_ms": latency_ms}
    row |= {"frame_latency_ms": 200.0, "receiver": "webrtc", "frozen_ms": 1500.0}
    ci = {"diff": -25.0, "ci_low": -40.0, "ci_high": -10.0}
    other = {**row, "receiver": "artic", "latency_mean_ms": latency_ms - 25.0}
    other["vs_gcc"] = {"latency_mean_ms": ci, "accuracy_pct": {**ci, "diff": 0.0}}
    (folder / "summary.json").write_text(json.dumps({"gcc": row, "artic": other}))


def test_a_sweep_becomes_one_table_and_a_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(tmp_path / "sweep" / "1", 0.05, 400.0)
    _run(tmp_path / "sweep" / "0", 0.0, 300.0)
    plot = tmp_path / "fig.png"
    assert main(["sweep-table", str(tmp_path / "sweep"), "--plot", str(plot)]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| lte")]
    assert lines[0].startswith("| lte test | 0.0 | gcc | webrtc | 80.0 | 300 | 200 | — |")
    assert "| artic | artic | 80.0 | 275 |" in lines[1] and "-25.0 [-40.0, -10.0]" in lines[1]
    assert lines[2].startswith("| lte test | 0.05 | gcc |") and lines[0].endswith("| 1.5 |")
    assert plot.stat().st_size > 0
    assert main(["sweep-table", str(tmp_path / "nothing")]) == 2
    (tmp_path / "empty").mkdir()
    assert main(["sweep-table", str(tmp_path / "empty")]) == 2


def test_delta_plot_and_group_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(tmp_path / "sweep" / "0", 0.0, 300.0)
    _run(tmp_path / "sweep" / "1", 0.05, 400.0)
    plot = tmp_path / "delta.png"
    args = ["sweep-table", str(tmp_path / "sweep"), "--plot", str(plot), "--delta", "--logx"]
    assert main([*args, "--group", "eval.reference"]) == 0
    out = capsys.readouterr().out
    assert "| lte test, reference=gcc | 0.0 | gcc | webrtc |" in out
    assert "| lte test, reference=gcc | 0.05 | artic | artic |" in out
    assert plot.stat().st_size > 0


def test_hue_draws_a_config_key_as_lines_and_agents_filter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--hue env.kwargs.max_rate_kbps``: the two ceilings share a panel and a trace set; the
    table tells them apart; ``--agents`` keeps the reference's rows."""
    for i, (loss, ceiling) in enumerate([(0.0, 4000), (0.05, 4000), (0.0, 32000)]):
        _run(tmp_path / "sweep" / str(i), loss, 300.0 + 100.0 * i)
        config = yaml.safe_load((tmp_path / "sweep" / str(i) / "config.yaml").read_text())
        config["env"]["kwargs"]["max_rate_kbps"] = ceiling
        (tmp_path / "sweep" / str(i) / "config.yaml").write_text(yaml.safe_dump(config))
    plot = tmp_path / "hue.png"
    args = ["sweep-table", str(tmp_path / "sweep"), "--plot", str(plot), "--delta"]
    assert main([*args, "--hue", "env.kwargs.max_rate_kbps", "--agents", "artic"]) == 0
    out = capsys.readouterr().out
    assert "| lte test, max_rate_kbps=32000 | 0.0 | artic | artic | 80.0 | 475 |" in out
    assert "| lte test, max_rate_kbps=4000 | 0.05 | gcc | webrtc |" in out
    assert plot.stat().st_size > 0
    assert main([*args, "--hue", "env.kwargs.max_rate_kbps", "--agents", "nosuch"]) == 0
    assert "| artic |" not in capsys.readouterr().out
    # a group key only some runs set labels only those
    assert main([*args, "--group", "env.kwargs.max_rate_kbps", "--group", "agent_kwargs.x"]) == 0
    out = capsys.readouterr().out
    assert "| lte test, max_rate_kbps=32000 | 0.0 | gcc |" in out and "=None" not in out
