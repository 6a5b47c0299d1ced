"""Evaluate agents, paired: ``python evaluate.py env=lte agents=[gcc,artic,ppo]`` (see conf/evaluate.yaml)."""

import hydra
from omegaconf import DictConfig

from artic_rl.training.config import register_configs
from artic_rl.evaluation.evaluate import evaluate

register_configs()


@hydra.main(config_path="conf", config_name="evaluate", version_base="1.3")
def main(cfg: DictConfig) -> None:
    evaluate(cfg)


if __name__ == "__main__":
    main()
