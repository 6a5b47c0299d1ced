"""Evaluate agents, paired: ``python evaluate.py env=lte agents=[gcc,artic,ppo]`` (see conf/evaluate.yaml)."""

import hydra
from omegaconf import DictConfig

from artic_rl.evaluate import evaluate


@hydra.main(config_path="conf", config_name="evaluate", version_base="1.3")
def main(cfg: DictConfig) -> None:
    evaluate(cfg)


if __name__ == "__main__":
    main()
