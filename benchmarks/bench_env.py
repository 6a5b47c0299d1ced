"""Environment speed: steps per second with random actions, and simulated seconds per wall second.

    python benchmarks/bench_env.py [--preset lte] [--steps 20000]

One process, one core (torch is not involved). Goal (issue #5): at least 5,000 steps/s.
"""

from __future__ import annotations

import argparse
import json
import time

import gymnasium as gym

import artic_rl.envs  # noqa: F401
from artic_rl.envs import ENV_ID


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="lte", help="env preset (lte, 3g, 5g, wifi)")
    parser.add_argument("--steps", type=int, default=20_000, help="environment steps to time")
    args = parser.parse_args()
    env = gym.make(ENV_ID, preset=args.preset)
    env.action_space.seed(0)
    env.reset(seed=0)
    actions = [env.action_space.sample() for _ in range(args.steps)]
    episodes = 0
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            episodes += 1
            env.reset(seed=episodes)
    wall_s = time.perf_counter() - start
    interval_s = env.unwrapped.interval_ms / 1000.0  # type: ignore[attr-defined]
    print(
        json.dumps(
            {
                "benchmark": "env_random_actions",
                "preset": args.preset,
                "steps": args.steps,
                "steps_per_s": round(args.steps / wall_s, 1),
                "sim_s_per_wall_s": round(args.steps * interval_s / wall_s, 1),
                "us_per_step": round(wall_s / args.steps * 1e6, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
