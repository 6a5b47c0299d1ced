"""Export a trained PPO policy to ONNX: ``python export.py policy=DIR out=FILE.onnx`` (conf/export.yaml)."""

import hydra
from omegaconf import DictConfig

from artic_rl.runtime.export_cli import export


@hydra.main(config_path="conf", config_name="export", version_base="1.3")
def main(cfg: DictConfig) -> None:
    export(cfg)


if __name__ == "__main__":
    main()
