"""How noisy is the training signal? Paired return differences under the pareto objective, with the
questions paid as asked (a Poisson draw) or at their expected value (a probe per interval).

Runs ``artic`` and two variants of it (5 and 15 fps) on the same episodes and prints, per payment,
the mean return, its standard deviation across episodes and the mean paired difference of each
variant from ``artic`` with its standard error. A smaller standard error at the same mean is a
less noisy signal for the learner (``conf/reward/pareto.yaml`` pays expected questions)::

    python scripts/objective_noise.py                      # lte val, 30 episodes
    python scripts/objective_noise.py --split test --episodes 60
"""

from __future__ import annotations

import argparse
from pathlib import Path

import gymnasium as gym
import numpy as np

import artic_rl.envs  # noqa: F401  (registers artic/VideoChat-v0)
from artic_rl.agents.artic import ArticAgent
from artic_rl.evaluation.evaluate import EVAL_SEED_BASE

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {"artic": 10.0, "artic at 15 fps": 15.0, "artic at 5 fps": 5.0}


def episode_return(env: gym.Env, fps: float, seed: int) -> float:  # type: ignore[type-arg]
    agent = ArticAgent(fps=fps)
    agent.reset()
    obs, info = env.reset(seed=seed)
    total = 0.0
    while True:
        agent.observe(info["feedback"])
        action, _ = agent.predict(obs)
        obs, reward, _, truncated, info = env.step(action)
        total += float(reward)
        if truncated:
            return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="lte")
    parser.add_argument("--split", default="val")
    parser.add_argument("--episodes", type=int, default=30)
    args = parser.parse_args()
    from omegaconf import OmegaConf

    pareto = OmegaConf.to_container(OmegaConf.load(ROOT / "conf" / "reward" / "pareto.yaml"))
    assert isinstance(pareto, dict)
    print(f"{args.preset} {args.split}, {args.episodes} paired episodes, pareto objective")
    print("| payment | agent | return mean | return sd | paired diff from artic | its s.e. |")
    print("|---|---|---|---|---|---|")
    for payment, expected in (("asked", False), ("expected", True)):
        env = gym.make(
            "artic/VideoChat-v0",
            preset=args.preset,
            split=args.split,
            traces_root=str(ROOT / "traces"),
            reward={**pareto, "expected_questions": expected},
        )
        seeds = [EVAL_SEED_BASE + i for i in range(args.episodes)]
        returns = {
            name: np.array([episode_return(env, fps, s) for s in seeds])
            for name, fps in VARIANTS.items()
        }
        for name, r in returns.items():
            d = r - returns["artic"]
            se = d.std(ddof=1) / np.sqrt(len(d)) if name != "artic" else 0.0
            print(
                f"| {payment} | {name} | {r.mean():.2f} | {r.std(ddof=1):.2f} | "
                f"{d.mean():+.3f} | {se:.3f} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
