"""Residual actions on a heuristic: the composition rule, the training wrapper, the learned agent
and the exported policy all compose the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import artic_rl.envs  # noqa: F401  (registers artic/VideoChat-v0)
from artic_rl.agents.artic import ArticAgent
from artic_rl.agents.ppo import ObsNorm, PPOAgent
from artic_rl.agents.residual import RESIDUAL_FILE, Residual, ResidualEnv, ResidualSpec
from artic_rl.sender.actions import ActionCodec
from artic_rl.sender.observation import OBS_DIM

TRACES = str(Path(__file__).resolve().parents[2] / "traces")  # the repository's shipped traces
ARTIC = ResidualSpec("artic", {"_target_": "artic_rl.agents.artic.ArticAgent"}, 4)


class _Fixed:
    """Stands in for an SB3 model: always the same residual action."""

    def __init__(self, action: tuple[int, int]) -> None:
        self.action = np.array(action, dtype=np.int64)

    def predict(
        self,
        obs: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, None]:  # SB3's signature: the agent passes a recurrent policy's state
        return self.action, None


def _run(env: gym.Env[Any, Any], agent: Any, seed: int) -> list[float]:
    agent.reset()
    obs, info = env.reset(seed=seed)
    rewards = []
    while True:
        agent.observe(info["feedback"])
        action, _ = agent.predict(obs)
        obs, reward, _, truncated, info = env.step(action)
        rewards.append(reward)
        if truncated:
            return rewards


def test_compose_moves_the_rate_clips_to_the_grid_and_keeps_the_roi() -> None:
    codec = ActionCodec()
    res = Residual(ARTIC, codec, 200.0)
    assert res.nvec == (9, 6) and res.neutral() == (4, 3)  # offset 0; artic's 10 fps
    res.reset()
    obs = np.zeros(OBS_DIM, dtype=np.float32)
    base = res.base.act(obs)
    up = res.compose(obs, np.array([4 + 2, 5]))
    assert up.tolist() == [base[0] + 2, base[1], 5]
    low = res.compose(obs, np.array([0, 0]))
    assert low[0] == max(base[0] - 4, 0) and low[2] == 0
    res.base.choose_kbps = lambda: 4000.0  # type: ignore[method-assign]
    assert res.compose(obs, np.array([8, 3]))[0] == len(codec.bitrates_kbps) - 1


def test_the_neutral_residual_replays_its_base_exactly() -> None:
    env = gym.make("artic/VideoChat-v0", preset="lte", split="test", traces_root=TRACES)
    wrapped = ResidualEnv(
        gym.make("artic/VideoChat-v0", preset="lte", split="test", traces_root=TRACES), ARTIC
    )
    neutral = wrapped.residual.neutral()
    for seed in (0, 1):
        want = _run(env, ArticAgent(), seed)
        obs, _ = wrapped.reset(seed=seed)
        got = []
        for _ in range(len(want)):
            obs, reward, _, _, _ = wrapped.step(np.array(neutral))
            got.append(reward)
        assert got == want


def test_the_learned_agent_composes_with_its_base() -> None:
    env = gym.make("artic/VideoChat-v0", preset="lte", split="test", traces_root=TRACES)
    norm = ObsNorm.identity(OBS_DIM)
    agent = PPOAgent.from_model(_Fixed((4, 3)), norm, residual=ARTIC)
    assert _run(env, agent, 2) == _run(env, ArticAgent(), 2)
    faster = PPOAgent.from_model(_Fixed((4, 4)), norm, residual=ARTIC)  # 15 fps
    faster.reset()
    obs, info = env.reset(seed=2)
    faster.observe(info["feedback"])
    assert int(faster.act(obs)[2]) == 4


def test_spec_round_trip_and_absent_file(tmp_path: Path) -> None:
    assert ResidualSpec.load(tmp_path) is None
    ARTIC.save(tmp_path)
    assert (tmp_path / RESIDUAL_FILE).is_file()
    assert ResidualSpec.load(tmp_path) == ARTIC


def test_a_negative_offset_is_an_error() -> None:
    with pytest.raises(ValueError, match="max_offset must be >= 0"):
        Residual(ResidualSpec("artic", ARTIC.base_config, -1), ActionCodec(), 200.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "residual.json:1: not JSON"),
        ('{"base_config": {}, "max_offset": 4}', "(field 'base'): must be str, got None"),
        ('{"base": "artic", "max_offset": "4"}', "(field 'max_offset'): must be int, got '4'"),
        ('["artic"]', "(field 'residual'): residual spec is not a JSON object"),
    ],
)
def test_a_bad_residual_file_is_one_error_naming_it(
    tmp_path: Path, text: str, message: str
) -> None:
    from artic_rl.errors import InputError

    (tmp_path / RESIDUAL_FILE).write_text(text)
    with pytest.raises(InputError) as err:
        ResidualSpec.load(tmp_path)
    assert message in str(err.value) and str(tmp_path / RESIDUAL_FILE) in str(err.value)
