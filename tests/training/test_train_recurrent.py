"""``algo=recurrent_ppo``: sb3-contrib's RecurrentPPO (an LSTM policy) through the same training
run, resume, selection and agent as PPO, and one clear error where it cannot apply."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra import compose
from test_train_tiny import TINY, run_train  # the tiny budget and train(cfg) inside hydra

from artic_rl.agents.ppo import PPOAgent, is_recurrent, saved_algorithm

RECURRENT = [
    *TINY,
    "algo=recurrent_ppo",
    "algo.lstm_hidden_size=8",
    "algo.net_arch=[16]",
    # every option a paired run combines: residual actions, the accuracy side, the curriculum
    "train.residual=artic",
    "train.latency_reference=artic",
    "train.paired=true",
    "train.constrain=accuracy",
    "train.accuracy_margin_pts=0.5",
    "train.curriculum=true",
]


def test_a_recurrent_run_trains_resumes_and_is_selected(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run_train(RECURRENT, run)
    for name in ("model.zip", "obs_norm.npz", "residual.json", "lagrange.json", "curriculum.json"):
        assert (run / name).is_file(), name
    assert saved_algorithm(run / "model.zip") == "recurrent_ppo"
    agent = PPOAgent(policy=str(run))
    assert is_recurrent(agent.model) and agent.residual is not None
    assert agent.model.policy.lstm_actor.hidden_size == 8
    # resume: the checkpoint is loaded as RecurrentPPO and continues on the step grid
    ckpt = sorted((run / "checkpoints").glob("ckpt_*_steps.zip"))[0]
    result = run_train([*RECURRENT, "train.total_timesteps=384", f"train.resume={ckpt}"], run)
    assert result["timesteps"] >= 384
    assert json.loads((run / "status.json").read_text())["resumes"][0]["timesteps"] == 128
    from artic_rl.cli import main

    out = tmp_path / "picked"
    args = ["select", str(run), "--episodes", "2", "--jobs", "1", "--no-progress"]
    assert main([*args, "--out", str(out)]) == 0
    assert saved_algorithm(out / "model.zip") == "recurrent_ppo"
    assert PPOAgent(policy=str(out)).residual is not None


def test_behaviour_cloning_is_refused_for_a_recurrent_policy(hydra_conf: Path) -> None:
    from artic_rl.errors import ConfigError
    from artic_rl.training.train import validate_train

    overrides = ["algo=recurrent_ppo", "train.residual=null", "train.pretrain=fixed_roi"]
    with pytest.raises(ConfigError, match="train.pretrain: behaviour cloning .*=recurrent_ppo"):
        validate_train(compose(config_name="config", overrides=overrides))


def test_the_recurrent_algo_composes_over_ppos_keys(hydra_conf: Path) -> None:
    from artic_rl.training.train import validate_train

    cfg = compose(config_name="config", overrides=["algo=recurrent_ppo"])
    assert cfg.algo.name == "recurrent_ppo" and cfg.algo.n_steps == 128
    assert cfg.algo.lstm_hidden_size == 64
    validate_train(cfg)
    from artic_rl.errors import ConfigError

    bad = compose(config_name="config", overrides=["+algo.lstm_hidden_size=8"])
    with pytest.raises(ConfigError, match="algo.lstm_hidden_size: not an argument"):
        validate_train(bad)  # an LSTM key on the feed-forward policy
