"""Train a PPO policy: ``python train.py env=lte agent=ppo`` (``--help`` lists every key).

The work is :func:`artic_rl.training.train.train`; ``main`` returns the final validation reward,
so hydra's sweepers can optimise it. Bad input is one line and exit 2, before any work.
"""

from pathlib import Path

from artic_rl.entry import Entry, run
from artic_rl.training.train import (
    LoggerSettings,
    TrainSettings,
    prepare_resume,
    train,
    validate_train,
)

ENTRY = Entry(
    prog="train.py",
    conf_dir=Path(__file__).resolve().parent / "conf",
    config_name="config",
    task=lambda cfg: float(train(cfg)["reward"]),
    validate=validate_train,
    prepare=prepare_resume,
    schemas={"train": TrainSettings, "logger": LoggerSettings},
)

if __name__ == "__main__":
    run(ENTRY)
