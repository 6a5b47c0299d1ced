"""``benchmarks/bench_env.py``: the settings it times reach the environment, and bad ones are one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_env.py"


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(BENCH), "--receiver", "artic", "--backend", "python", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def test_set_times_the_environment_with_that_keyword() -> None:
    """``--set feedback_interval_ms=0`` times per-packet feedback, and the line says so."""
    done = _bench(
        "--steps", "40", "--repeats", "1", "--warmup", "0", "--set", "feedback_interval_ms=0"
    )
    assert done.returncode == 0, done.stderr
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert line["settings"] == {"feedback_interval_ms": 0} and line["steps"] == 40


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("x", "expected KEY=VALUE"),
        ("no_such_keyword=1", "unexpected keyword argument 'no_such_keyword'"),
        ("feedback_interval_ms=-5", "feedback_interval_ms must be >= 0"),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_2(pair: str, message: str) -> None:
    done = _bench("--steps", "10", "--set", pair)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and message in done.stderr
