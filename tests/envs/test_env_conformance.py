"""Gymnasium conformance of artic/VideoChat-v0 for every preset: check_env, determinism, pickling."""

from __future__ import annotations

import pickle
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import artic_rl.envs  # noqa: F401  (registers the id)
from artic_rl.envs import ENV_ID

TRACES = str(Path(__file__).resolve().parents[2] / "traces")  # the repository's shipped traces

PRESETS = ("lte", "3g", "5g", "wifi")


@pytest.mark.parametrize("preset", PRESETS)
def test_check_env_passes(preset: str) -> None:
    env = gym.make(ENV_ID, traces_root=TRACES, preset=preset, episode_s=10.0)
    check_env(env.unwrapped, skip_render_check=True)


@pytest.mark.parametrize("preset", PRESETS)
def test_same_seed_same_episode(preset: str) -> None:
    def run(seed: int) -> tuple[list[np.ndarray], list[float], list[float]]:
        env = gym.make(ENV_ID, traces_root=TRACES, preset=preset, episode_s=6.0)
        env.action_space.seed(seed)
        obs, _ = env.reset(seed=seed)
        out, rewards, acc = [obs], [], []
        truncated = False
        while not truncated:
            obs, r, _, truncated, info = env.step(env.action_space.sample())
            out.append(obs)
            rewards.append(r)
            acc += info["accuracy"]
        return out, rewards, acc

    a, b = run(11), run(11)
    assert all(np.array_equal(x, y) for x, y in zip(a[0], b[0], strict=True))
    assert a[1] == b[1] and a[2] == b[2]
    c = run(12)
    assert c[1] != a[1]


@pytest.mark.parametrize("preset", PRESETS)
def test_pickling_round_trip(preset: str) -> None:
    env = gym.make(ENV_ID, traces_root=TRACES, preset=preset, episode_s=6.0).unwrapped
    env.reset(seed=1)
    env.step(np.array([10, 2, 3]))
    clone = pickle.loads(pickle.dumps(env))
    a = env.step(np.array([11, 1, 4]))
    b = clone.step(np.array([11, 1, 4]))
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1]


def test_same_seed_same_questions_for_different_agents() -> None:
    """Paired evaluation: the trace, offset and question schedule depend on the seed only."""
    env = gym.make(ENV_ID, traces_root=TRACES, preset="lte", episode_s=20.0).unwrapped
    env.reset(seed=7)
    plan_a = env._timeline.plan
    env.step(np.array([19, 3, 5]))
    env.reset(seed=7)
    plan_b = env._timeline.plan
    assert plan_a.trace_index == plan_b.trace_index and plan_a.start_ms == plan_b.start_ms
    np.testing.assert_array_equal(plan_a.question_ms, plan_b.question_ms)
    assert plan_a.questions == plan_b.questions


def test_observation_stays_in_bounds_under_random_actions() -> None:
    env = gym.make(ENV_ID, traces_root=TRACES, preset="3g", episode_s=20.0)
    env.action_space.seed(0)
    obs, _ = env.reset(seed=0)
    space = env.observation_space
    truncated = False
    while not truncated:
        obs, _, _, truncated, _ = env.step(env.action_space.sample())
        assert space.contains(obs)


def test_splits_are_disjoint_and_an_unknown_split_is_an_error() -> None:
    from artic_rl.envs.video_chat import VideoChatEnv

    names = {}
    for split in ("train", "test", "val"):
        env = VideoChatEnv(traces_root=TRACES, preset="lte", split=split)
        names[split] = [t.opportunities_ms.tobytes() for t in env.traces]
    assert len(names["val"]) == 32
    assert not set(names["val"]) & (set(names["train"]) | set(names["test"]))
    with pytest.raises(ValueError, match="split must be one of"):
        VideoChatEnv(traces_root=TRACES, preset="5g", split="validation")


def test_the_environment_never_invents_traces(tmp_path: Path) -> None:
    from artic_rl.envs.video_chat import VideoChatEnv

    with pytest.raises(
        FileNotFoundError, match=r"lte/val: no traces for preset 'lte', split 'val'"
    ):
        VideoChatEnv(traces_root=str(tmp_path), preset="lte", split="val")
    with pytest.raises(ValueError, match="no traces: give traces_dir"):
        VideoChatEnv(preset="lte")
    for preset in ("lte", "3g", "5g", "wifi"):  # every preset ships every split
        for split in ("train", "val", "test"):
            assert VideoChatEnv(traces_root=TRACES, preset=preset, split=split).traces


def test_presets_joined_with_plus_pool_their_traces() -> None:
    from artic_rl.envs.video_chat import VideoChatEnv

    lte = VideoChatEnv(traces_root=TRACES, preset="lte", split="val").traces
    g3 = VideoChatEnv(traces_root=TRACES, preset="3g", split="val").traces
    both = VideoChatEnv(traces_root=TRACES, preset="lte+3g", split="val").traces
    assert [t.name for t in both] == [t.name for t in lte + g3]
    with pytest.raises(ValueError, match="empty name"):
        VideoChatEnv(traces_root=TRACES, preset="lte+", split="val")


def test_the_configs_defaults_are_the_constructors() -> None:
    """conf/env/base.yaml states every default ``VideoChatEnv`` has (what ``gym.make`` and the
    scripts get is what ``train.py`` and ``evaluate.py`` compose); a default changed in one place
    alone fails here. Interpolated keys (traces, accuracy, reward) come from the top-level config."""
    import inspect

    from omegaconf import OmegaConf

    from artic_rl.envs.video_chat import VideoChatEnv

    path = Path(__file__).resolve().parents[2] / "conf" / "env" / "base.yaml"
    kwargs = OmegaConf.to_container(OmegaConf.load(path).kwargs, resolve=False)
    assert isinstance(kwargs, dict)
    params = inspect.signature(VideoChatEnv.__init__).parameters
    assert set(kwargs) <= set(params)
    plain = {
        k: v for k, v in kwargs.items() if not (isinstance(v, str) and v.startswith(("$", "?")))
    }
    assert "roi_at_decision" in plain and "picture_memory_ms" in plain
    differ = {k: (v, params[k].default) for k, v in plain.items() if v != params[k].default}
    assert differ == {}
