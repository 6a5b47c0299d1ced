"""Runtime speed figures: exported-policy inference latency and size, and the streamer's real-time
factor at 640x360, 30 fps with the policy in the loop.

    .venv/bin/python benchmarks/bench_runtime.py [--policy DIR] [--seconds 20] [--judge none|ocr]

Without ``--policy`` a PPO with the training config's network (2 x 128) and random weights stands in
(latency and size depend on the architecture, not on the weights).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

GOAL_P99_US = 100.0
GOAL_SIZE_BYTES = 1 << 20


def stand_in_policy(folder: Path) -> Path:
    """A 2 x 128 SB3 PPO with the real spaces and a VecNormalize fitted on random data."""
    import gymnasium as gym
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    from artic_rl.sender.actions import ActionCodec
    from artic_rl.sender.observation import OBS_DIM, observation_space

    class SpacesOnly(gym.Env[np.ndarray, np.ndarray]):
        def __init__(self) -> None:
            self.observation_space = observation_space()
            self.action_space = ActionCodec().space()

    venv = VecNormalize(DummyVecEnv([SpacesOnly]))
    venv.obs_rms.update(np.random.default_rng(0).normal(0.5, 0.3, size=(1000, OBS_DIM)))
    model = PPO("MlpPolicy", venv, n_steps=64, policy_kwargs={"net_arch": [128, 128]}, device="cpu")
    model.save(folder / "model.zip")
    venv.save(str(folder / "vecnormalize.pkl"))
    return folder


def bench_export(policy: Path, out: Path) -> Path:
    from artic_rl.runtime.export import export_policy

    r = export_policy(policy, out, parity_n=10_000, bench_runs=20_000)
    lat = r.latency
    print("== export (onnxruntime, 1 thread, batch of one)")
    print(f"parity: {r.parity}")
    print(
        f"p50 {lat['p50_us']:.1f} us, p99 {lat['p99_us']:.1f} us, mean {lat['mean_us']:.1f} us "
        f"(goal p99 < {GOAL_P99_US:.0f} us: {'met' if lat['p99_us'] < GOAL_P99_US else 'NOT met'})"
    )
    print(
        f"size {r.size_bytes / 1024:.1f} KiB "
        f"(goal < 1024 KiB: {'met' if r.size_bytes < GOAL_SIZE_BYTES else 'NOT met'})"
    )
    return r.path


def write_clip(folder: Path, seconds: float = 6.0) -> Path:
    """A 640x360 synthetic chat-scene clip (near-lossless H.264) with its questions JSON."""
    from artic_rl.video.clips import make_clip

    return make_clip(7, 640, 360, seconds).save(folder / "clip.mp4")


class FullRate:
    """Every frame at 30 fps, 1.5 Mbps, ROI level 2: the encoder's worst case."""

    def __new__(cls) -> object:
        from artic_rl.agents.base import Agent

        class _FullRate(Agent):
            name = "full-rate"

            def act(self, observation: np.ndarray) -> np.ndarray:
                return self.codec.encode(1500.0, 2, 30.0)

        return _FullRate()


def bench_stream(agent: object, label: str, video: Path, seconds: float, judge_name: str) -> None:
    from artic_rl.mllm.judges import ExactMatchGrader
    from artic_rl.net import FeedbackPath, Link
    from artic_rl.net.trace import opportunities_from_rate
    from artic_rl.runtime.stream_cli import make_judge
    from artic_rl.runtime.streamer import StreamSettings, load_questions, run_stream

    settings = StreamSettings(seconds=seconds)
    trace = opportunities_from_rate(np.array([0.0, 120_000.0]), np.array([3000.0]))
    report = run_stream(
        agent,  # type: ignore[arg-type]
        video,
        Link(trace, delay_ms=20.0, queue_packets=30),
        FeedbackPath(20.0),
        settings,
        load_questions(video.with_suffix(".json"), settings),
        make_judge(judge_name, {}),
        ExactMatchGrader(ignore_spaces=True),
    )
    c, f = report["cpu"], report["frames"]
    print(f"== streamer 640x360 @ 30 fps source, {seconds:.0f} s, {label}, judge={judge_name}")
    print(
        f"frames captured {f['captured']}, sent {f['sent']}, delivered {f['delivered']}; "
        f"late capture ticks {c['late_capture_ticks']}"
    )
    print(
        f"process CPU {c['process_cpu_s']:.2f} s for {c['media_s']:.1f} s of video: real-time factor "
        f"{c['realtime_factor']:.2f} (sender alone {c['sender_realtime_factor']:.2f}; < 1 = real time on one core)"
    )
    print(
        f"frame delay mean {report['frame_delay_ms']['mean']:.1f} ms, sent {report['bitrate']['sent_kbps']:.0f} kbps"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--policy", type=Path, default=None, help="run directory or policies/<preset>"
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--judge", default="none", choices=["none", "ocr"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        policy = args.policy or stand_in_policy(folder)
        onnx_path = bench_export(policy, folder / "policy.onnx")
        video = write_clip(folder)
        from artic_rl.runtime.policy import OnnxPolicy

        bench_stream(
            OnnxPolicy(onnx_path), "ONNX policy in the loop", video, args.seconds, args.judge
        )
        bench_stream(
            FullRate(),
            "every frame encoded (30 fps, 1.5 Mbps, ROI 2)",
            video,
            args.seconds,
            args.judge,
        )


if __name__ == "__main__":
    main()
