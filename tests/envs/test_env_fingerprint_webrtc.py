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
    "lte": "c9d2716b13533c5e9649c38e573b1e8a89a55f7044e98006889daf079045a337",
    "3g": "0aaf887f81ae30f7eca26b5ff2c98a91098ae62d6560eb571f24e5dd34cb7a66",
    "5g": "2faf08e0bfeb0576c7ae5cf3fa5533e5d28b17ccd2cf8299eea5db3c5cd73af6",
    "wifi": "8c1d9621b6d2688a369a6b61f06ed8d2ffabdb1cd2766bda945aa0f7e5243962",
    "lte-loss2": "8399372d9186c9803f9dfc1fdda56c5a766f004ba3f98d835552df67350c9c3b",
    "lte-loss5": "1f6b2882d5933a7a97345e6128d89497a605bfa13ebf8feb27cdf694b87f7188",
    "3g-loss5": "6a1ee3f8ea25fcab6a03e56e9ff1bf3a022d61d9de6dbfd1b9d6d6128d8fea28",
    "lte-loss20": "5779d3d806aa16f4fdd292f553c861b794864e6ac92545c158362d1607c0b1d5",
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
