"""Semantic fingerprint of artic/VideoChat-v0 with ``receiver="webrtc"``: speed work on the webrtc
path (its event loop, NACK list, RTT, jitter estimator, timestamp extrapolator, render timing,
packet history, RTX limiter) must not change a single simulated number.

The companion of tests/envs/test_env_fingerprint.py (the artic receiver), hashed the same way and
more widely: whole episodes (30 s, so freezes and keyframe timeouts happen) on every preset and at
several random-loss rates, with a fixed pseudo-random action sequence. Each step hashes the
observation, reward, every info scalar and list, the reward terms and the full feedback report; at
each episode's end, the episode summaries (frame latencies, latency breakdown) and the timeline's
per-frame record of the receiver's decisions (shown time of every frame, and each shown frame's
retransmission wait and jitter-buffer hold). Pinned before the speed work of issue #15 (the
webrtc path at 1,600 steps/s); if one changes, the webrtc receiver's semantics changed.
(Floats are hashed bit for bit, so a different libm or numpy build may legitimately differ; the
reference is this repository's locked environment.)
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import artic_rl.envs  # noqa: F401  (registers the id)
from artic_rl.envs import ENV_ID

TRACES = str(Path(__file__).resolve().parents[2] / "traces")  # the repository's shipped traces

INFO_KEYS = (
    "accuracy",
    "latency_ms",
    "sample_accuracy",
    "frame_delay_ms",
    "bitrate_kbps",
    "target_kbps",
    "roi_level",
    "fps",
    "loss",
    "stale_frames",
    "capacity_kbps",
    "capacity_kbps_next",
)

#: case -> (preset, extra constructor arguments); the lossy cases exercise NACK, RTX and freezes.
CASES: dict[str, tuple[str, dict[str, float]]] = {
    "lte": ("lte", {}),
    "3g": ("3g", {}),
    "5g": ("5g", {}),
    "wifi": ("wifi", {}),
    "lte-loss2": ("lte", {"loss_rate": 0.02}),
    "lte-loss5": ("lte", {"loss_rate": 0.05}),
    "3g-loss5": ("3g", {"loss_rate": 0.05}),
    "lte-loss20": ("lte", {"loss_rate": 0.2}),
}
PINNED: dict[str, str] = {
    "lte": "b4dcbe357affdfcddff05f153e511a1fcfa7815dd9e325df37bcc005eaba3c41",
    "3g": "9ed9f733487eb00df5c06398d36b8095f4a2ea79f195d34b10b00618ead26a0f",
    "5g": "071ef91d6db5ea87c21b7118bd13272dc835fc93f613fa82da3168523cd9dbf9",
    "wifi": "851049846ffc187a5246f460a90ac043b86824e46a8827165b2422d29fcab46f",
    "lte-loss2": "c65488fdd2e10a54ba99cea9dd7a23066b2faa6fbe4ea5ac1feed8c41147ea70",
    "lte-loss5": "90f1a186a0dc2521b7481dc3e9ded29391c875c76586a5f20de9b71f4d7850d5",
    "3g-loss5": "ba0a478d177f4f59bc2ef68e5978bab65bed830a22f3759602d57c684d39c0b9",
    "lte-loss20": "32933606af11463e25ceeeb222a2d59196f0d603af9395385f3681f7fc95fc4d",
}


def _update(h: Any, x: object) -> None:
    if isinstance(x, np.ndarray):
        h.update(f"{x.dtype}{x.shape}".encode())
        h.update(np.ascontiguousarray(x).tobytes())
    elif isinstance(x, list | tuple):
        h.update(b"L%d" % len(x))
        for y in x:
            _update(h, y)
    elif isinstance(x, dict):
        h.update(b"D%d" % len(x))
        for key in sorted(x):
            h.update(key.encode())
            _update(h, x[key])
    elif isinstance(x, bool) or x is None:
        h.update(repr(x).encode())
    elif isinstance(x, int | np.integer):
        h.update(b"i" + repr(int(x)).encode())
    elif isinstance(x, float | np.floating):
        h.update(b"f" + struct.pack("<d", float(x)))
    else:
        raise TypeError(type(x))


def _feedback(h: Any, r: Any) -> None:
    _update(h, [r.now_ms, r.interval_ms, r.sent_bytes, r.keyframe_request])
    _update(h, [r.question_active, r.roi_known, r.roi_area, r.confidence])
    _update(h, [r.packets.seq, r.packets.send_ms, r.packets.arrival_ms, r.packets.size_bytes])
    _update(h, [r.frames.frame_id, r.frames.capture_ms, r.frames.decodable_ms])


def rollout_hash(
    preset: str, seeds: tuple[int, ...] = (0, 1, 2), episode_s: float = 30.0, **kwargs: float
) -> str:
    """SHA-256 over whole webrtc episodes with a fixed pseudo-random action sequence."""
    h = hashlib.sha256()
    env = gym.make(
        ENV_ID, traces_root=TRACES, preset=preset, episode_s=episode_s, receiver="webrtc", **kwargs
    ).unwrapped
    rng = np.random.default_rng(1234)
    for seed in seeds:
        obs, info = env.reset(seed=seed)
        _update(h, [obs, info["start_ms"], info["capacity_kbps_next"]])
        _feedback(h, info["feedback"])
        truncated = False
        while not truncated:
            action = np.array([rng.integers(20), rng.integers(4), rng.integers(6)])
            obs, reward, terminated, truncated, info = env.step(action)
            _update(h, [obs, reward, terminated, truncated])
            for key in INFO_KEYS:
                _update(h, info[key])
            _update(h, info["reward_terms"])
            _feedback(h, info["feedback"])
        _update(h, info["episode_frame_latency_ms"])
        _update(h, info["episode_latency_breakdown_ms"])
        tl = env._timeline  # the receiver's per-frame decisions
        _update(h, [tl.f_decodable, tl.rtx_wait_ms, tl.hold_ms])
    return h.hexdigest()


def test_cases_are_pinned() -> None:
    assert sorted(PINNED) == sorted(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_webrtc_rollout_matches_pinned_fingerprint(case: str) -> None:
    preset, kwargs = CASES[case]
    assert rollout_hash(preset, **kwargs) == PINNED[case]
