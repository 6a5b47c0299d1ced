"""``traces.extra``: training-only trace folders. The training environments draw from them (with
``traces.extra_share``); validation and the final evaluation never see them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_train_tiny import TINY, run_train  # the tiny budget and train(cfg) inside hydra

import artic_rl.training.callbacks as callbacks
import artic_rl.training.train as train_module
from artic_rl.errors import ConfigError
from artic_rl.training.train import training_env_kwargs, validation_env_kwargs

ROOT = Path(__file__).resolve().parents[2]
MMWAVE = ROOT.parent / "shared" / "data" / "traces" / "mmwave-uplink"


@pytest.fixture
def extra(tmp_path: Path) -> Path:
    """A folder of two Mahimahi uplinks."""
    folder = tmp_path / "real"
    folder.mkdir()
    for name, step in (("r1", 1), ("r2", 3)):
        (folder / f"{name}.up").write_text("".join(f"{t}\n" for t in range(1, 3000, step)))
    return folder


def test_extra_folders_reach_the_training_environments_only() -> None:
    env = {"preset": "lte", "split": "train"}
    assert training_env_kwargs(env, {"extra": None, "extra_share": None}) == env
    mixed = training_env_kwargs(env, {"extra": "a", "extra_share": 0.5})
    assert mixed == {**env, "extra_traces_dir": ["a"], "extra_share": 0.5, "extra_scale": None}
    assert validation_env_kwargs(mixed) == env
    scaled = training_env_kwargs(env, {"extra": "a", "extra_share": None, "extra_scale": "match"})
    assert scaled["extra_scale"] == "match" and validation_env_kwargs(scaled) == env
    tenth = training_env_kwargs(env, {"extra": "a", "extra_share": None, "extra_scale": 1})
    assert tenth["extra_scale"] == 1.0
    bad = [
        ({"extra": [], "extra_share": None}, "traces.extra: an empty list"),
        ({"extra": [1], "extra_share": None}, "traces.extra: must be a folder or a list"),
        ({"extra": None, "extra_share": 0.5}, "traces.extra_share: weights the traces.extra"),
        ({"extra": ["a"], "extra_share": 2.0}, r"traces.extra_share: must be in \[0, 1\]"),
        ({"extra": None, "extra_scale": 0.1}, "traces.extra_scale: scales the traces.extra"),
        ({"extra": "a", "extra_scale": 0}, "traces.extra_scale: must be a number > 0 or 'match'"),
        ({"extra": "a", "extra_scale": "median"}, "traces.extra_scale: must be a number > 0"),
        ({"extra": "a", "extra_scale": float("inf")}, "traces.extra_scale: must be a number > 0"),
    ]
    for traces, message in bad:
        with pytest.raises(ConfigError, match=message):
            training_env_kwargs(env, traces)


def test_a_tiny_run_trains_on_the_extras_and_validates_without_them(
    extra: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, Any]] = []
    real = train_module.evaluate_policy

    def spy(env_id: str, env_kwargs: dict[str, Any], *args: Any) -> dict[str, float]:
        seen.append(env_kwargs)
        return real(env_id, env_kwargs, *args)

    monkeypatch.setattr(train_module, "evaluate_policy", spy)
    monkeypatch.setattr(callbacks, "evaluate_policy", spy)
    overrides = ["env=lte", "agent=ppo", *TINY, f"traces.extra=[{extra}]", "traces.extra_share=1"]
    result = run_train(overrides, tmp_path / "run")
    assert result["timesteps"] >= 256
    assert len(seen) >= 2  # the periodic evaluations and the final one
    assert all("extra_traces_dir" not in kw and "extra_share" not in kw for kw in seen)
    config = (tmp_path / "run" / "config.yaml").read_text()
    assert str(extra) in config and "extra_share: 1.0" in config


@pytest.mark.skipif(not MMWAVE.is_dir(), reason="needs ../shared/data/traces/mmwave-uplink")
def test_the_mmwave_lte_uplinks_pass_train_pys_checks(hydra_conf: Path) -> None:
    from hydra import compose

    from artic_rl.training.train import validate_train

    lte = [str(MMWAVE / m / "lte") for m in ("static", "walking", "driving")]
    cfg = compose(
        config_name="config",
        overrides=[
            f"traces.extra=[{','.join(lte)}]",
            "traces.extra_share=0.5",
            "traces.extra_scale=match",
        ],
    )
    validate_train(cfg)
