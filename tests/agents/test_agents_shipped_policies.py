"""Every shipped policy folder loads, is a residual policy on its base, and its ONNX export acts
as the stable-baselines3 model does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from artic_rl.agents.ppo import PPOAgent
from artic_rl.runtime.policy import OnnxPolicy
from artic_rl.sender.observation import OBS_HIGH, OBS_LOW

POLICIES = sorted((Path(__file__).resolve().parents[2] / "policies").iterdir())


@pytest.mark.parametrize("folder", POLICIES, ids=lambda p: p.name)
def test_the_shipped_policy_and_its_onnx_act_alike(folder: Path) -> None:
    learned, exported = PPOAgent(str(folder)), OnnxPolicy(folder / "policy.onnx")
    assert learned.residual is not None and exported.residual is not None
    assert exported.metadata["residual"]["base"] == learned.residual.spec.base
    rng = np.random.default_rng(0)
    for agent in (learned, exported):
        agent.reset()
    for obs in rng.uniform(OBS_LOW, OBS_HIGH, size=(50, OBS_LOW.size)).astype(np.float32):
        assert learned.act(obs).tolist() == exported.act(obs).tolist()
