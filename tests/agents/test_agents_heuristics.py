"""Heuristic agents: golden ReCapABR decisions on the tier grid, and one episode of every preset each."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import artic_rl.envs  # noqa: F401
from artic_rl.agents.artic import ArticAgent
from artic_rl.agents.oracle import OracleAgent
from artic_rl.agents.random_policy import RandomAgent
from artic_rl.agents.recap import RecapAgent
from artic_rl.agents.registry import agent_spec, build_agent, known_agents
from artic_rl.evaluation.rollout import run_episode
from artic_rl.sender.feedback import FeedbackReport

TRACES = str(Path(__file__).resolve().parents[2] / "traces")  # the repository's shipped traces

HEURISTICS = ["fixed", "gcc", "rate", "mpc", "recap", "artic", "oracle", "nowcast", "random"]
# conf/agent/*.yaml that configure a registered class differently (fixed_roi: FixedAgent with ROI)
VARIANTS = ["fixed_roi"]
PRESETS = ["lte", "3g", "5g", "wifi"]
# saturates exactly at the 610 kbps tier (0.8 reached there)
CONF = np.array([0.2, 0.5, 0.8, 0.9, 0.95, 0.98])


def _report(confidence: np.ndarray | None, roi_known: bool = False) -> FeedbackReport:
    return FeedbackReport(
        now_ms=0.0, interval_ms=200.0, sent_bytes=0, confidence=confidence, roi_known=roi_known
    )


def test_recap_agent_follows_the_rule_on_the_tier_grid() -> None:
    agent = RecapAgent()
    agent.observe(_report(CONF))  # no packets: GCC's target stays where it is set below
    agent.current_kbps = 264.0
    agent.gcc.target_kbps = 2000.0  # controller tier: 1840
    # confidence at 264 = 0.2 + 0.3 * log2(1.32) = 0.32 < 0.8 -> saturation 610 -> ceil tier 697
    assert agent.choose_kbps() == 697.0
    # at 697 the confidence is >= 0.8: keep it although GCC allows 1840
    assert agent.choose_kbps() == 697.0
    agent.gcc.target_kbps = 500.0  # controller tier 473 < 697: drop to it
    assert agent.choose_kbps() == 473.0
    agent.gcc.target_kbps = 2000.0  # 473 has confidence 0.62: jump to 697 again
    assert agent.choose_kbps() == 697.0
    agent.observe(_report(None))  # no confidence: GCC's tier
    assert agent.choose_kbps() == 1840.0
    action = agent.act(np.zeros(33, dtype=np.float32))
    assert agent.codec.decode(action).rate_kbps == 1840.0
    assert agent.codec.decode(action).fps == 30.0


def test_artic_uses_roi_only_when_the_region_is_known_and_a_low_frame_rate() -> None:
    agent = ArticAgent(fps=10.0, roi_level=3)
    obs = np.zeros(33, dtype=np.float32)
    agent.observe(_report(CONF, roi_known=True))
    a = agent.codec.decode(agent.act(obs))
    assert (a.roi_level, a.fps) == (3, 10.0)
    agent.observe(_report(CONF, roi_known=False))
    assert agent.codec.decode(agent.act(obs)).roi_level == 0


def test_oracle_is_privileged_and_reads_next_capacity() -> None:
    oracle = OracleAgent()
    assert getattr(oracle, "privileged", False)
    oracle.observe(_report(None))
    oracle.observe_privileged({"capacity_kbps_next": 1000.0})  # type: ignore[attr-defined]
    # 0.9 x 1000 = 900, empty queue -> floor tier 846
    assert oracle.codec.decode(oracle.act(np.zeros(33, dtype=np.float32))).rate_kbps == 846.0


def test_a_lagged_oracle_reads_the_capacity_of_intervals_ago() -> None:
    """``lag_intervals=2``: each decision uses the capacity read two steps before (the oldest
    held at an episode's start); ``reset`` forgets the previous episode's."""
    oracle = OracleAgent(lag_intervals=2)
    oracle.observe(_report(None))
    used = []
    for kbps in (2000.0, 1000.0, 3000.0, 1000.0):
        oracle.observe_privileged({"capacity_kbps_next": kbps})  # type: ignore[attr-defined]
        used.append(oracle.capacity_kbps)
    assert used == [2000.0, 2000.0, 2000.0, 1000.0]
    oracle.reset()
    oracle.observe_privileged({"capacity_kbps_next": 500.0})  # type: ignore[attr-defined]
    assert oracle.capacity_kbps == 500.0
    with pytest.raises(ValueError, match="lag_intervals"):
        OracleAgent(lag_intervals=-1)


def test_every_agent_config_builds_its_agent(hydra_conf: Path) -> None:
    for name in HEURISTICS + VARIANTS:
        spec = agent_spec(name)
        agent = spec.build(200.0)
        assert type(agent).__module__ + "." + type(agent).__name__ == spec.config["_target_"]
        assert agent.interval_ms == 200.0


def test_every_agent_config_is_a_heuristic_a_variant_or_ppo(hydra_conf: Path) -> None:
    assert set(known_agents()) == {*HEURISTICS, *VARIANTS, "ppo"}
    with pytest.raises(ValueError, match="unknown agent 'nosuch'; known: artic, "):
        agent_spec("nosuch")


def test_build_agent_passes_overrides_and_plain_containers() -> None:
    target = "artic_rl.agents.mpc.MpcAgent"
    agent = build_agent({"_target_": target, "horizon": 2, "weights": {"accuracy": 0.2}}, 100.0)
    assert agent.interval_ms == 100.0 and agent.mpc.horizon == 2  # type: ignore[attr-defined]


@pytest.mark.parametrize("preset", PRESETS)
def test_every_heuristic_runs_one_episode_of_every_preset(preset: str, hydra_conf: Path) -> None:
    env = gym.make(
        "artic/VideoChat-v0", traces_root=TRACES, preset=preset, split="test", episode_s=6.0
    )
    for name in HEURISTICS + VARIANTS:
        result = run_episode(env, agent_spec(name).build(200.0), seed=7)
        assert result.steps == 30
        assert np.isfinite(result.reward)
        assert all(r > 0 for r in result.bitrate_kbps[5:]) or name in ("oracle", "random")
    env.close()


def test_random_agent_is_reproducible_and_covers_the_grid() -> None:
    agent = RandomAgent(seed=3)
    obs = np.zeros(33, dtype=np.float32)
    first = [agent.act(obs) for _ in range(200)]
    agent.reset()
    again = [agent.act(obs) for _ in range(200)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    seen = np.array(first)
    assert (seen.min(axis=0) == 0).all() and (
        seen.max(axis=0) == np.array(agent.codec.nvec) - 1
    ).all()


def test_the_receiver_belongs_to_the_system_under_test(hydra_conf: Path) -> None:
    deployed = {"fixed", "gcc", "rate", "mpc", "recap"}
    for name in known_agents():
        assert agent_spec(name).receiver == ("webrtc" if name in deployed else "artic"), name
    spec = agent_spec("gcc@artic")
    assert (spec.name, spec.receiver, spec.kwargs["fps"]) == ("gcc@artic", "artic", 30.0)
    assert "receiver" not in spec.kwargs
    spec.build(200.0)  # the receiver is the environment's, never a constructor argument
    with pytest.raises(ValueError, match="unknown receiver 'tcp'; known receivers: artic, webrtc"):
        agent_spec("gcc@tcp")
