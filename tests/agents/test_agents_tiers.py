"""A learned policy meets only the bitrate tiers it was trained with: a shipped policy (20 tiers)
refuses an environment with ``max_rate_kbps=32000`` (30 tiers) in one error, as PPO and as ONNX;
heuristic agents take the environment's codec and its ceiling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from artic_rl.agents.ppo import PPOAgent
from artic_rl.agents.registry import build_agent
from artic_rl.agents.residual import Residual, ResidualSpec, check_bitrate_tiers
from artic_rl.errors import InputError
from artic_rl.runtime.policy import OnnxPolicy
from artic_rl.sender.actions import ActionCodec

POLICY = Path(__file__).resolve().parents[2] / "policies" / "lte"
WIDE = ActionCodec.up_to(32000)
ARTIC = {"_target_": "artic_rl.agents.artic.ArticAgent", "fps": 10.0}
MISMATCH = "policy trained with 20 bitrate tiers, but this environment has 30"


def test_a_shipped_policy_refuses_other_tiers() -> None:
    assert PPOAgent(str(POLICY), codec=ActionCodec()).residual is not None
    with pytest.raises(InputError, match=MISMATCH) as err:
        PPOAgent(str(POLICY), codec=WIDE)
    assert str(POLICY / "model.zip") in str(err.value)
    assert "max_rate_kbps=32000" in str(err.value)
    with pytest.raises(InputError, match=MISMATCH):
        OnnxPolicy(POLICY / "policy.onnx", codec=WIDE)


def test_a_full_action_policy_checks_its_action_space() -> None:
    """Without residual.json the tier count is the model's own action space."""

    class Model:
        action_space = ActionCodec().space()

    PPOAgent.from_model(Model(), norm=None, codec=ActionCodec())
    with pytest.raises(InputError, match=MISMATCH):
        PPOAgent.from_model(Model(), norm=None, codec=WIDE)


def test_a_residual_spec_records_its_tiers() -> None:
    spec = ResidualSpec.from_dict({"base": "artic", "max_offset": 4}, "old.json")
    assert spec.bitrate_tiers == 20  # written before the field: the default grid
    wide = ResidualSpec.from_dict({"base": "artic", "max_offset": 4, "bitrate_tiers": 30}, "x")
    residual = Residual(ResidualSpec("artic", ARTIC, 4, 30), WIDE, 200.0)
    assert residual.base.codec == WIDE == residual.codec  # the base acts on the same grid
    assert wide.bitrate_tiers == 30
    with pytest.raises(InputError, match="field 'bitrate_tiers'"):
        ResidualSpec.from_dict({"base": "artic", "max_offset": 4, "bitrate_tiers": "30"}, "x")
    check_bitrate_tiers(30, WIDE)
    with pytest.raises(
        InputError, match="trained with 30 bitrate tiers, but this environment has 20"
    ):
        check_bitrate_tiers(30, ActionCodec())


def test_heuristics_take_the_codecs_ceiling() -> None:
    for name in ("gcc", "recap", "artic"):
        config = {"_target_": f"artic_rl.agents.{name}.{name.capitalize()}Agent"}
        agent = build_agent(config, 200.0, WIDE)
        assert agent.codec == WIDE
        gcc = agent.gcc
        assert gcc.aimd.max_kbps == gcc.loss.max_kbps == 32000.0
        default = build_agent(config, 200.0).gcc
        assert default.aimd.max_kbps == default.loss.max_kbps == 4000.0
    random_agent = build_agent(
        {"_target_": "artic_rl.agents.random_policy.RandomAgent"}, 200.0, WIDE
    )
    actions = np.array([random_agent.act(np.zeros(39, dtype=np.float32)) for _ in range(400)])
    assert actions[:, 0].max() > 19  # draws from the new tiers too
