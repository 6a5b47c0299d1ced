"""Train a PPO policy: ``python train.py env=lte agent=ppo`` (see conf/config.yaml).

``main`` returns the final validation reward, so hydra's sweepers can optimise it.
"""

import hydra
from omegaconf import DictConfig

from artic_rl.training.config import register_configs
from artic_rl.training.train import train

register_configs()


@hydra.main(config_path="conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> float:
    return float(train(cfg)["reward"])


if __name__ == "__main__":
    main()
