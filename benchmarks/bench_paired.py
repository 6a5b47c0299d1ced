"""Speed of the paired bootstrap that every evaluation and ``artic-rl select`` run ends with.

    python benchmarks/bench_paired.py [--episodes 400] [--boot 1000]

Three agents of ``--episodes`` synthetic 60-second episodes (15 questions, 300 steps and 1,800
frames each, the sizes an lte evaluation produces) go through
:func:`artic_rl.evaluation.paired.summarise`, which resamples the episode indices ``--boot``
times and pools every CI metric over each resample: ratios from per-episode sums, the latency
percentiles from each resample's questions. It prints the wall time of the whole summary and of
each CI metric's bootstrap alone.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from artic_rl.evaluation.paired import CI_METRICS, _boot_values, summarise
from artic_rl.evaluation.rollout import EpisodeResult


def episode(seed: int, np_random: np.random.Generator) -> EpisodeResult:
    """One episode with an evaluation's list sizes (values drawn, not simulated)."""
    return EpisodeResult(
        seed=seed,
        trace="t",
        start_ms=0.0,
        reward=float(np_random.normal()),
        steps=300,
        accuracy=list(np_random.random(15)),
        latency_ms=list(np_random.exponential(700.0, 15)),
        frame_delay_ms=list(np_random.exponential(120.0, 300)),
        frame_latency_ms=list(np_random.exponential(400.0, 1800)),
        bitrate_kbps=list(np_random.uniform(200.0, 1500.0, 300)),
        capacity_kbps=list(np_random.uniform(500.0, 5000.0, 300)),
        stale_frames=list(np_random.random(300) < 0.03),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--episodes", type=int, default=400, help="paired episodes per agent (400)")
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap resamples (1000)")
    args = ap.parse_args()
    if args.episodes < 1 or args.boot < 1:
        ap.error("--episodes and --boot must be >= 1")
    rng = np.random.default_rng(0)
    results = {a: [episode(s, rng) for s in range(args.episodes)] for a in ("ref", "b", "c")}
    start = time.perf_counter()
    summarise(results, "ref", n_boot=args.boot)
    total = time.perf_counter() - start
    print(f"summarise, 3 agents x {args.episodes} episodes, {args.boot} resamples: {total:.2f} s")
    idx = rng.integers(0, args.episodes, size=(args.boot, args.episodes))
    for metric in CI_METRICS:
        start = time.perf_counter()
        _boot_values(results["b"], metric, idx)
        print(f"  {metric:<18} {1000.0 * (time.perf_counter() - start):8.1f} ms per agent")


if __name__ == "__main__":
    main()
