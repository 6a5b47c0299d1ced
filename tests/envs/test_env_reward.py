"""The reward is the documented formula over ``info``'s unweighted terms (VideoChatEnv docstring)."""

from __future__ import annotations

import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import artic_rl.envs  # noqa: F401
from artic_rl.envs.video_chat import RewardWeights

TRACES = str(Path(__file__).resolve().parents[2] / "traces")  # the repository's shipped traces


def expected_reward(
    info: dict, w: RewardWeights, budget_ms: float, frame_budget_ms: float
) -> float:
    over_s = sum(
        min(max(0.0, lt - budget_ms) / 1000.0, w.latency_cap_s) for lt in info["latency_ms"]
    )
    delays = info["frame_delay_ms"]
    mean_delay = sum(delays) / len(delays) if delays else 0.0
    return (
        w.question * sum(info["accuracy"])
        - w.latency_per_s * over_s
        + w.sample * info["sample_accuracy"]
        - w.frame_delay_per_s
        * min(max(0.0, mean_delay - frame_budget_ms) / 1000.0, w.frame_delay_cap_s)
        - w.bits_per_mbps * info["bitrate_kbps"] / 1000.0
    )


@pytest.mark.parametrize(
    "weights",
    [
        RewardWeights(),
        RewardWeights(latency_cap_s=math.inf, frame_delay_cap_s=math.inf),
        RewardWeights(question=2.0, latency_cap_s=0.5, frame_delay_cap_s=0.2),
    ],
)
def test_reward_is_the_documented_formula(weights: RewardWeights) -> None:
    env = gym.make(
        "artic/VideoChat-v0", traces_root=TRACES, preset="lte", episode_s=60.0, reward=weights
    )
    base = env.unwrapped
    env.reset(seed=7)
    rng = np.random.default_rng(0)
    answered, capped, delay_capped = 0, 0, 0
    for _ in range(300):
        # high rates at a low frame rate build queues, so some questions wait past the cap
        action = np.array([rng.integers(10, 20), rng.integers(4), rng.integers(3)])
        _, reward, _, truncated, info = env.step(action)
        want = expected_reward(info, weights, base.latency_budget_ms, base.frame_delay_budget_ms)
        assert reward == pytest.approx(want, rel=1e-9, abs=1e-9)
        assert sum(info["reward_terms"].values()) == pytest.approx(reward, rel=1e-12, abs=1e-12)
        answered += len(info["latency_ms"])
        capped += sum(lt - base.latency_budget_ms > 500.0 for lt in info["latency_ms"])
        delays = info["frame_delay_ms"]
        if delays and sum(delays) / len(delays) - base.frame_delay_budget_ms > 200.0:
            delay_capped += 1
        if truncated:
            break
    assert answered > 0
    if not math.isinf(weights.latency_cap_s):
        assert capped > 0, "the episode never exercised the cap"
    if weights.frame_delay_cap_s < 1.0:
        assert delay_capped > 0, "the episode never exercised the frame-delay cap"


def test_the_pareto_objective_is_accuracy_minus_latency_per_question() -> None:
    from omegaconf import OmegaConf

    conf = Path(__file__).resolve().parents[2] / "conf" / "reward" / "pareto.yaml"
    doc = OmegaConf.to_container(OmegaConf.load(conf))
    assert isinstance(doc, dict) and doc["expected_questions"] is True  # training pays probes
    weights = RewardWeights(**{**doc, "expected_questions": False})  # type: ignore[arg-type]
    env = gym.make(
        "artic/VideoChat-v0", traces_root=TRACES, preset="lte", episode_s=30.0, reward=weights
    )
    env.reset(seed=3)
    rng = np.random.default_rng(0)
    answered = 0
    for _ in range(150):
        _, reward, _, _, info = env.step(rng.integers(0, env.action_space.nvec))
        expected = sum(info["accuracy"]) - sum(info["latency_ms"]) / 1000.0
        assert reward == pytest.approx(expected, abs=1e-12)
        answered += len(info["accuracy"])
    assert answered > 3  # the episode asked questions, so the check was not vacuous


def test_expected_questions_pay_one_probe_per_interval_at_the_question_rate() -> None:
    """With expected_questions, each probe answered pays (accuracy - latency s) x interval / mean
    gap (200 ms / 4 s = 0.05); the asked questions are still reported in info, unpaid."""
    from omegaconf import OmegaConf

    conf = Path(__file__).resolve().parents[2] / "conf" / "reward" / "pareto.yaml"
    weights = RewardWeights(**OmegaConf.to_container(OmegaConf.load(conf)))  # type: ignore[arg-type]
    env = gym.make(
        "artic/VideoChat-v0", traces_root=TRACES, preset="lte", episode_s=30.0, reward=weights
    )
    env.reset(seed=3)
    rng = np.random.default_rng(0)
    probes = asked = 0
    for _ in range(150):
        _, reward, _, truncated, info = env.step(rng.integers(0, env.action_space.nvec))
        acc = info["reward_terms"]["question"] / 0.05
        lat = info["probe_latency_ms"]
        assert reward == pytest.approx(0.05 * (acc - sum(lat) / 1000.0), abs=1e-12)
        assert 0.0 <= acc <= len(lat) + 1e-9
        probes += len(lat)
        asked += len(info["accuracy"])
    assert probes == 150 and asked > 3  # every interval's probe is answered by the episode's end
