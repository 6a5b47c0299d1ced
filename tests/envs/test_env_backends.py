"""The compiled simulator core equals the readable one: whole episodes, bit for bit, on every
preset and both receivers (backend="python" is the reference, "compiled" the numba kernels)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import artic_rl.envs  # noqa: F401
from artic_rl.envs import ENV_ID

pytest.importorskip("numba")

TRACES = str(Path(__file__).resolve().parents[2] / "traces")  # the repository's shipped traces


def episode_hash(backend: str, preset: str, receiver: str, seed: int) -> str:
    """SHA-256 over one episode's observations, rewards, reward terms and packet feedback."""
    env = gym.make(
        ENV_ID,
        traces_root=TRACES,
        preset=preset,
        receiver=receiver,
        backend=backend,
        episode_s=30.0,
        loss_rate=0.02,
    )
    rng = np.random.default_rng(seed)
    h = hashlib.sha256()
    obs, info = env.reset(seed=seed)
    h.update(obs.tobytes())
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(rng.integers(0, env.action_space.nvec))
        fb = info["feedback"].packets
        h.update(obs.tobytes() + np.float64(reward).tobytes())
        h.update(repr(sorted(info["reward_terms"].items())).encode())
        h.update(np.asarray(fb.arrival_ms, dtype=np.float64).tobytes())
        done = terminated or truncated
    env.close()
    return h.hexdigest()


@pytest.mark.parametrize("receiver", ["artic", "webrtc"])
@pytest.mark.parametrize("preset", ["lte", "3g", "5g", "wifi"])
def test_compiled_episodes_equal_the_reference(preset: str, receiver: str) -> None:
    for seed in (0, 1):
        reference = episode_hash("python", preset, receiver, seed)
        assert episode_hash("compiled", preset, receiver, seed) == reference


def test_an_unknown_backend_is_one_error() -> None:
    with pytest.raises(ValueError, match="backend must be one of"):
        gym.make(ENV_ID, traces_root=TRACES, preset="lte", backend="cuda")
