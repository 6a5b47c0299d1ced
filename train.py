"""Train a PPO policy: ``python train.py env=lte agent=ppo`` (see conf/config.yaml)."""

import hydra
from omegaconf import DictConfig

from artic_rl.training import train


@hydra.main(config_path="conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    train(cfg)


if __name__ == "__main__":
    main()
