"""scripts/sent_vs_target.py: bytes sent against the target in both worlds of a fidelity report."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from artic_rl.sender.observation import log_rate

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("sent_vs_target", ROOT / "scripts/sent_vs_target.py")
assert spec is not None and spec.loader is not None
sent_vs_target = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sent_vs_target)


@pytest.mark.parametrize("kbps", [10.0, 100.0, 473.0, 4000.0])
def test_feature_zero_reads_back_as_the_rate_the_observation_wrote(kbps: float) -> None:
    assert sent_vs_target.sent_kbps(log_rate(kbps)) == pytest.approx(kbps)


def _report(stream_sent: list[float], sim_sent: list[float], target: list[float]) -> dict:
    """A report whose interval i sent ``*_sent[i]`` kbps against ``target[i]`` (feature 0 of the
    observation after it)."""
    zero = [0.0] * 39

    def observations(sent: list[float]) -> list[list[float]]:
        return [zero] + [[log_rate(k), *zero[1:]] for k in sent]

    return {
        "observations": observations(stream_sent),
        "bitrate": {"decisions": [{"rate_kbps": t} for t in target]},
        "fidelity": {
            "simulator": {
                "observations": observations(sim_sent),
                "actions": [[t, 3, 10.0] for t in target],
            }
        },
    }


def test_each_world_is_its_bytes_sent_over_its_targets() -> None:
    report = _report([270.0, 450.0], [300.0, 500.0], [300.0, 500.0])
    stream, sim = sent_vs_target.worlds(report, 1)
    assert stream["all"] == pytest.approx((720.0, 800.0))
    assert sim["all"] == pytest.approx((800.0, 800.0))


def test_each_change_marks_its_phase_for_the_intervals_after_it() -> None:
    target = [300, 300, 500, 500, 500, 500, 200, 200, 200]
    assert sent_vs_target.phases(target, 2) == [
        "start", "start", "rise", "rise", "held", "held", "drop", "drop", "held",
    ]  # fmt: skip


def test_the_phases_split_each_worlds_bytes() -> None:
    # the stream lags a rise and overshoots a drop; the simulator meets each target at once
    target = [300.0, 300.0, 600.0, 600.0, 600.0, 200.0]
    report = _report(
        [300.0, 300.0, 450.0, 600.0, 600.0, 300.0], [300.0, 300.0, 600.0, 600.0, 600.0, 200.0],
        target,
    )  # fmt: skip
    stream, sim = sent_vs_target.worlds(report, 1)
    assert stream["rise"] == pytest.approx((450.0, 600.0))
    assert stream["drop"] == pytest.approx((300.0, 200.0))
    assert stream["held"] == pytest.approx((1200.0, 1200.0))
    assert stream["start"] == pytest.approx((600.0, 600.0))
    assert sim["rise"] == pytest.approx((600.0, 600.0))
    assert sim["all"] == pytest.approx((sum(target), sum(target)))


def _command(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts/sent_vs_target.py"), str(folder)],
        capture_output=True,
        text=True,
    )


def _run(folder: Path) -> str:
    done = _command(folder)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_command_prints_one_row_per_cell(tmp_path: Path) -> None:
    run = tmp_path / "seed-1" / "runs" / "03-Verizon-LTE-short-gcc-own"
    run.mkdir(parents=True)
    (run / "report.json").write_text(json.dumps(_report([450.0], [490.0], [500.0])))
    assert "| Verizon-LTE-short-gcc-own | 1 | 0.90 / 0.98 | - / - | - / - | - / - | - |" in _run(
        tmp_path
    )


def test_the_last_column_is_the_stream_over_the_replay_on_its_own_decisions(tmp_path: Path) -> None:
    report = _report([450.0], [490.0], [500.0])
    report["bitrate"]["sent_kbps"] = 450.0
    report["fidelity"]["replayed"] = {"bitrate_kbps": 500.0}
    run = tmp_path / "seed-1" / "runs" / "03-Verizon-LTE-short-gcc-own"
    run.mkdir(parents=True)
    (run / "report.json").write_text(json.dumps(report))
    assert _run(tmp_path).splitlines()[-1].endswith("| 0.90 |")


def test_a_folder_without_reports_is_one_error(tmp_path: Path) -> None:
    done = _command(tmp_path)
    assert done.returncode == 2
    assert "no fidelity reports" in done.stderr


def test_an_unreadable_report_is_one_error_naming_it(tmp_path: Path) -> None:
    run = tmp_path / "seed-1" / "runs" / "03-Verizon-LTE-short-gcc-own"
    run.mkdir(parents=True)
    (run / "report.json").write_text('{"fidelity": ')
    done = _command(tmp_path)
    assert done.returncode == 2
    assert "03-Verizon-LTE-short-gcc-own/report.json: not a readable report" in done.stderr
