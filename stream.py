"""Stream a video through an emulated link with a policy in the loop: ``python stream.py
policy=FILE.onnx video=FILE trace=FILE seconds=N`` (or ``agent=gcc``); see conf/stream.yaml."""

import hydra
from omegaconf import DictConfig

from artic_rl.runtime.stream_cli import stream


@hydra.main(config_path="conf", config_name="stream", version_base="1.3")
def main(cfg: DictConfig) -> None:
    stream(cfg)


if __name__ == "__main__":
    main()
