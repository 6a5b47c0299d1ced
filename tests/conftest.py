"""Shared test fixtures: the real data in ../shared/data, skipped cleanly when absent."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ARTIC_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ../shared/data (or $ARTIC_SHARED_DATA); the test skips when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def hydra_conf() -> Iterator[Path]:
    """hydra initialised on the repository's conf/ (as inside ``@hydra.main``), schemas registered."""
    from hydra import initialize_config_dir

    from artic_rl.training.config import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        yield REPO_ROOT / "conf"


@pytest.fixture(scope="session")
def tiny_recurrent_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A policy folder with a small RecurrentPPO (random weights, 2 LSTM layers of 8 units, one
    16-unit layer) on the real spaces and a VecNormalize fitted on random data. Its weights are
    scaled up so that, like a trained policy's, its argmax is decisive and depends on the state."""
    import gymnasium as gym
    import numpy as np
    import torch
    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    from artic_rl.sender.actions import ActionCodec
    from artic_rl.sender.observation import OBS_DIM
    from artic_rl.sender.observation import observation_space as obs_space

    class SpacesOnly(gym.Env[np.ndarray, np.ndarray]):
        observation_space = obs_space()
        action_space = ActionCodec().space()

    run = tmp_path_factory.mktemp("recurrent")
    venv = VecNormalize(DummyVecEnv([SpacesOnly]), clip_obs=5.0)
    venv.obs_rms.update(np.random.default_rng(0).normal(0.5, 0.3, size=(2000, OBS_DIM)))
    kwargs = {"lstm_hidden_size": 8, "n_lstm_layers": 2, "net_arch": [16]}
    model = RecurrentPPO("MlpLstmPolicy", venv, n_steps=16, policy_kwargs=kwargs, seed=0)
    with torch.no_grad():
        for p in model.policy.lstm_actor.parameters():
            p.mul_(3.0)
        model.policy.action_net.weight.mul_(300.0)
    model.save(run / "model.zip")
    venv.save(str(run / "vecnormalize.pkl"))
    return run
