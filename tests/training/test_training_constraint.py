"""The Lagrange multiplier of the latency constraint: projected dual ascent, pushed to every env."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from artic_rl.training.callbacks import LatencyConstraint


class _Envs:
    def __init__(self) -> None:
        self.prices: list[float] = []

    def env_method(self, name: str, value: float) -> None:
        assert name == "set_latency_price"
        self.prices.append(value)


class _Logger:
    def __init__(self) -> None:
        self.records: dict[str, Any] = {}

    def record(self, key: str, value: Any) -> None:
        self.records[key] = value


def _constraint(tmp_path: Path) -> tuple[LatencyConstraint, _Envs, _Logger]:
    cb = LatencyConstraint(target_ms=500.0, lr=0.5, init=1.0, run_dir=tmp_path)
    envs, logger = _Envs(), _Logger()
    cb.model = SimpleNamespace(logger=logger, get_env=lambda: envs)  # type: ignore[assignment]
    cb.num_timesteps = 1024
    return cb, envs, logger


def _rollout(cb: LatencyConstraint, latencies: list[list[float]]) -> None:
    cb._on_rollout_start()
    for lat in latencies:
        cb.locals = {"infos": [{"latency_ms": lat}, {"latency_ms": []}]}
        cb._on_step()
    cb._on_rollout_end()


def test_the_multiplier_rises_over_the_target_and_falls_under_it(tmp_path: Path) -> None:
    cb, envs, logger = _constraint(tmp_path)
    cb._on_training_start()
    assert envs.prices == [1.0]
    _rollout(cb, [[700.0], [900.0]])  # mean 800: 300 ms over -> 1 + 0.5 x 0.3
    assert cb.lam == pytest.approx(1.15) and envs.prices[-1] == pytest.approx(1.15)
    assert logger.records["constraint/latency_gap_ms"] == pytest.approx(300.0)
    _rollout(cb, [[100.0]])  # 400 ms under: 1.15 - 0.2
    assert cb.lam == pytest.approx(0.95)
    _rollout(cb, [[]])  # no question answered: unchanged, nothing pushed
    assert cb.lam == pytest.approx(0.95) and len(envs.prices) == 3


def test_the_multiplier_never_goes_below_zero_and_resumes_from_its_file(tmp_path: Path) -> None:
    cb, _, _ = _constraint(tmp_path)
    cb._on_training_start()
    _rollout(cb, [[0.0]] * 3)  # 500 ms under: 1 - 0.25 ... three times in one rollout: one step
    _rollout(cb, [[0.0]])
    _rollout(cb, [[0.0]])
    _rollout(cb, [[0.0]])
    _rollout(cb, [[0.0]])
    assert cb.lam == 0.0
    doc = json.loads((tmp_path / LatencyConstraint.FILE).read_text())
    assert doc["multiplier"] == 0.0 and doc["target_ms"] == 500.0
    again, envs, _ = _constraint(tmp_path)
    again.target_ms = 1.0
    again._on_training_start()
    assert again.lam == 0.0 and again.target_ms == 500.0 and envs.prices == [0.0]
