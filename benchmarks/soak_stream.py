"""Soak test of the streamer: a long run at heavy random loss, memory must stay flat.

    .venv/bin/python benchmarks/soak_stream.py [--minutes 10] [--loss 0.2]

Samples the process's resident memory every 5 s while streaming a synthetic 640x360 clip at 30 fps
through a 2 Mbps link with ``--loss`` random loss, then compares the last third of the run with the
first third (after a warm-up minute). Not part of the default tests.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
from pathlib import Path

import numpy as np
from bench_runtime import write_clip  # benchmarks/ is on sys.path when run as a script

GROWTH_LIMIT_MB = 20.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def main() -> None:
    from artic_rl.agents.base import Agent
    from artic_rl.net import FeedbackPath, Link
    from artic_rl.net.trace import opportunities_from_rate
    from artic_rl.runtime.streamer import StreamSettings, run_stream

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--loss", type=float, default=0.2)
    args = parser.parse_args()

    class Steady(Agent):
        def act(self, observation: np.ndarray) -> np.ndarray:
            return self.codec.encode(800.0, 1, 10.0)

    seconds = args.minutes * 60.0
    samples: list[tuple[float, float]] = []
    done = threading.Event()

    def monitor() -> None:
        t = 0.0
        while not done.wait(5.0):
            t += 5.0
            samples.append((t, rss_mb()))

    with tempfile.TemporaryDirectory() as tmp:
        video = write_clip(Path(tmp))
        trace = opportunities_from_rate(np.array([0.0, 600_000.0]), np.array([2000.0]))
        rng = np.random.default_rng(0)
        link = Link(trace, delay_ms=20.0, queue_packets=30, loss=args.loss, np_random=rng)
        threading.Thread(target=monitor, daemon=True).start()
        report = run_stream(
            Steady(), video, link, FeedbackPath(20.0), StreamSettings(seconds=seconds)
        )
        done.set()
    f, p, a = report["frames"], report["packets"], report["packets"]["assembler"]
    print(
        f"{args.minutes:.0f} min at {args.loss:.0%} loss: frames sent {f['sent']}, delivered "
        f"{f['delivered']}, keyframes {f['keyframes']}, PLIs {p['plis']}, link drops {p['link_dropped']}"
    )
    print(f"assembler: {a}")
    warm = [m for t, m in samples if t >= 60.0] or [m for _, m in samples]
    third = max(1, len(warm) // 3)
    first, last = float(np.mean(warm[:third])), float(np.mean(warm[-third:]))
    print("RSS (MB) every 30 s: " + ", ".join(f"{m:.0f}" for t, m in samples if t % 30.0 == 0.0))
    verdict = "flat" if last - first < GROWTH_LIMIT_MB else "GROWING"
    print(
        f"RSS first third {first:.1f} MB, last third {last:.1f} MB: {verdict} (limit +{GROWTH_LIMIT_MB:.0f} MB)"
    )
    print(f"real-time factor {report['cpu']['realtime_factor']:.2f}")


if __name__ == "__main__":
    main()
