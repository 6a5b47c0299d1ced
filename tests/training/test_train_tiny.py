"""A tiny `train(cfg)` run with logging off: composes the real config, trains, writes its run directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from artic_rl.agents.ppo import PPOAgent, norm_path_for
from artic_rl.training.config import register_configs
from artic_rl.training.train import train

CONF = Path(__file__).resolve().parents[2] / "conf"
TINY = [
    "logger=none",
    "train.total_timesteps=256",
    "train.n_envs=1",
    "train.eval_every_steps=128",
    "train.eval_episodes=1",
    "train.checkpoint_every_steps=128",
    "train.progress_bar=false",
    "algo.n_steps=64",
    "algo.batch_size=32",
    "algo.n_epochs=1",
    "env.kwargs.episode_s=6.0",
    "train.pretrain_steps=120",
    "train.pretrain_epochs=1",
    "train.residual=null",  # the full action space, unconstrained: the plain PPO path
    "train.latency_reference=null",
]


def run_train(overrides: list[str], run_dir: Path) -> dict:
    """``train(cfg)`` inside hydra, as ``python train.py`` runs it."""
    register_configs()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return train(compose(config_name="config", overrides=overrides), run_dir=run_dir)


def test_tiny_training_run_writes_its_run_directory(tmp_path: Path) -> None:
    overrides = [
        "env=lte",
        "agent=ppo",
        *TINY,
        "train.pretrain=fixed_roi",
        "+train.pretrain_kwargs.fps=5.0",
    ]
    result = run_train(overrides, tmp_path)
    names = (
        "model.zip",
        "vecnormalize.pkl",
        "obs_norm.npz",
        "config.yaml",
        "command.txt",
        "eval.json",
        "pretrain.json",
    )
    for name in names:
        assert (tmp_path / name).is_file(), name
    assert (
        json.loads((tmp_path / "eval.json").read_text())["timesteps"] == result["timesteps"] >= 256
    )
    assert 0.0 <= result["accuracy_pct"] <= 100.0
    pretrain = json.loads((tmp_path / "pretrain.json").read_text())
    assert pretrain["teacher"] == "fixed_roi" and pretrain["teacher_kwargs"]["fps"] == 5.0
    assert (tmp_path / "eval_history.jsonl").read_text().count("\n") >= 1
    ckpts = sorted((tmp_path / "checkpoints").glob("ckpt_*_steps.zip"))
    assert ckpts and norm_path_for(ckpts[-1]).is_file()
    agent = PPOAgent(policy=str(tmp_path))
    import numpy as np

    from artic_rl.sender.observation import OBS_DIM

    action = agent.act(np.zeros(OBS_DIM, dtype=np.float32))
    assert action.shape == (3,)


def test_a_residual_run_under_the_latency_constraint(tmp_path: Path) -> None:
    """train.residual=artic: the run keeps residual.json, the policy's actions are residuals the
    agent composes with artic's; train.latency_reference=artic: the multiplier is saved."""
    overrides = [
        *TINY,
        "train.residual=artic",
        "train.latency_reference=artic",
        "train.latency_reference_episodes=6",
    ]
    run_train(overrides, tmp_path)
    spec = json.loads((tmp_path / "residual.json").read_text())
    assert spec["base"] == "artic" and spec["max_offset"] == 4
    lagrange = json.loads((tmp_path / "lagrange.json").read_text())
    assert lagrange["target_ms"] > 0.0 and lagrange["multiplier"] >= 0.0
    import numpy as np

    from artic_rl.sender.observation import OBS_DIM

    agent = PPOAgent(policy=str(tmp_path))
    assert agent.residual is not None
    assert agent.act(np.zeros(OBS_DIM, dtype=np.float32)).shape == (3,)
    # whichever checkpoint (or the final model) wins selection, its folder is a residual policy
    from artic_rl.cli import main

    out = tmp_path / "picked"
    args = ["select", str(tmp_path), "--episodes", "2", "--jobs", "1", "--no-progress"]
    assert main([*args, "--out", str(out)]) == 0
    assert json.loads((out / "residual.json").read_text()) == spec
    assert PPOAgent(policy=str(out)).residual is not None


def test_the_paired_latency_constraint_holds_its_margin(tmp_path: Path) -> None:
    """train.latency_margin_ms: the multiplier steps on the paired gap against the margin, not 0."""
    overrides = [
        *TINY,
        "train.latency_reference=artic",
        "train.paired=true",
        "train.latency_margin_ms=-40",
    ]
    run_train(overrides, tmp_path)
    assert json.loads((tmp_path / "lagrange.json").read_text())["target_ms"] == -40.0


def test_resume_continues_from_a_checkpoint(tmp_path: Path) -> None:
    first = tmp_path / "first"
    run_train(TINY, first)
    ckpt = sorted((first / "checkpoints").glob("ckpt_*_steps.zip"))[-1]
    second = tmp_path / "second"
    result = run_train([*TINY, "train.total_timesteps=384", f"train.resume={ckpt}"], second)
    assert result["timesteps"] >= 384


@pytest.mark.parametrize("env_name", ["lte", "3g", "5g", "wifi"])
@pytest.mark.parametrize("logger", ["wandb", "none"])
def test_every_config_option_composes(env_name: str, logger: str, hydra_conf: Path) -> None:
    from omegaconf import OmegaConf

    from artic_rl.training.train import LoggerSettings, TrainSettings

    cfg = compose(config_name="config", overrides=[f"env={env_name}", f"logger={logger}"])
    assert cfg.env.kwargs.preset == env_name
    assert cfg.env.id == "artic/VideoChat-v0"
    kwargs = OmegaConf.to_container(cfg.env.kwargs, resolve=True)
    assert isinstance(kwargs, dict) and kwargs["queue_packets"] == 30
    assert isinstance(OmegaConf.to_object(cfg.train), TrainSettings)
    assert isinstance(OmegaConf.to_object(cfg.logger), LoggerSettings)


@pytest.mark.parametrize(
    "override, key",
    [
        ("train.total_timesteps=0", "train.total_timesteps"),
        ("train.n_envs=0", "train.n_envs"),
        ("train.vec_env=threads", "train.vec_env"),
        ("train.eval_split=validation", "train.eval_split"),
        ("logger.mode=loud", "logger.mode"),
    ],
)
def test_a_value_out_of_range_fails_before_any_work(
    override: str, key: str, hydra_conf: Path
) -> None:
    from omegaconf import OmegaConf

    from artic_rl.errors import ConfigError

    cfg = compose(config_name="config", overrides=[override])
    with pytest.raises(ConfigError, match=key):
        OmegaConf.to_object(cfg.train if key.startswith("train") else cfg.logger)


def test_a_value_of_the_wrong_type_fails_while_composing(hydra_conf: Path) -> None:
    from omegaconf.errors import ValidationError

    with pytest.raises(Exception) as info:
        compose(config_name="config", overrides=["train.total_timesteps=abc"])
    assert isinstance(info.value.__cause__ or info.value, ValidationError)


def test_every_config_of_the_stream_and_evaluate_jobs_composes(hydra_conf: Path) -> None:
    from omegaconf import OmegaConf

    from artic_rl.evaluation.evaluate import EvalSettings

    ev = compose(config_name="evaluate", overrides=["env=3g"])
    assert ev.env.kwargs.split == "test" and ev.env.kwargs.preset == "3g"
    assert isinstance(OmegaConf.to_object(ev.eval), EvalSettings)


def test_logger_mode_disabled_turns_tracking_off(tmp_path: Path) -> None:
    run_train([*TINY, "logger=wandb", "logger.mode=disabled", "train.eval_episodes=0"], tmp_path)
    assert not (tmp_path / "wandb").exists()
    assert (tmp_path / "model.zip").is_file()


def test_an_unknown_eval_split_fails_before_training() -> None:
    from artic_rl.training.train import TrainSettings

    with pytest.raises(ValueError, match="train.eval_split: must be one of"):
        TrainSettings(eval_split="validation")


def test_select_picks_a_checkpoint_on_val_and_exports_it(tmp_path: Path) -> None:
    import numpy as np

    from artic_rl.cli import main
    from artic_rl.sender.observation import OBS_DIM

    run = tmp_path / "run"
    run_train(TINY, run)
    out = tmp_path / "picked"
    args = ["select", str(run), "--episodes", "2", "--jobs", "1", "--no-progress"]
    assert main([*args, "--out", str(out)]) == 0
    sel = json.loads((run / "selection.json").read_text())
    assert sel["presets"] == ["lte"] and sel["split"] == "val"
    assert set(sel["checkpoints"]) == {"ckpt_128", "ckpt_256", "final"}
    best = sel["checkpoints"][sel["best"]]
    assert best["score"] == max(r["score"] for r in sel["checkpoints"].values())
    assert best["score"] == best["lte"]["dominance"] and sel["criterion"] == "dominance"
    # dominance: the smaller of the accuracy gain (points / 100) and the latency gain (s)
    ref = sel["reference_metrics"]["lte"]
    for row in sel["checkpoints"].values():
        gain_acc = (row["lte"]["accuracy_pct"] - ref["accuracy_pct"]) / 100.0
        gain_lat = (ref["latency_mean_ms"] - row["lte"]["latency_mean_ms"]) / 1000.0
        assert row["lte"]["dominance"] == pytest.approx(min(gain_acc, gain_lat))
    assert sel["best"] in (run / "selection.md").read_text()
    # the exported folder is a policy: it acts exactly like the checkpoint it came from
    obs = np.random.default_rng(0).normal(size=(20, OBS_DIM)).astype(np.float32)
    assert sorted(p.name for p in out.iterdir()) == ["model.zip", "obs_norm.npz", "selection.json"]
    a, b = PPOAgent(policy=str(out)), PPOAgent(policy=best["path"])
    assert all((a.act(o) == b.act(o)).all() for o in obs)
    assert main([*args, "--split", "test"]) == 2  # selection on the test traces is refused
    assert main([*args, "--from-step", "-1"]) == 2
    assert main([*args, "--from-step", "200"]) == 0  # the late checkpoints and the final model
    assert set(json.loads((run / "selection.json").read_text())["checkpoints"]) == {
        "ckpt_256",
        "final",
    }
    assert main(["select", str(tmp_path / "nothing"), "--presets", "lte"]) == 2
    assert main([*args, "--presets", "lte,nosuch"]) == 2  # one line, before any evaluation
    assert main([*args, "--reference", "nosuch"]) == 2
    assert main([*args, "--criterion", "reward"]) == 0
    sel = json.loads((run / "selection.json").read_text())
    best = sel["checkpoints"][sel["best"]]
    assert sel["criterion"] == "reward" and best["score"] == best["lte"]["delta_reward"]
    (run / "checkpoints" / "ckpt_vecnormalize_128_steps.pkl").unlink()
    assert main(args) == 2  # a checkpoint without its normalisation statistics
