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
webrtc path at 1,600 steps/s); re-pinned once, deliberately (issue 16, simulator fidelity), when a
keyframe took the codec profile's measured keyframe size instead of that size times a P-frame
residual (artic_rl/video/profile.py; the random draws are unchanged). If one changes, the webrtc
receiver's semantics changed.
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
    "lte": "c8db799b5031dc135789ba0e7002e26f2d8600a57470a787b0ca38d5b42be5ae",
    "3g": "58266ea87aea86d245ae5ec74111e592713296b0d51a06bca5ddcec7452ac3aa",
    "5g": "d42d441098ecc81c2330b7ff6fa9d7c2e7a5d52b0c01b13b41416de732286f21",
    "wifi": "4a9456a816c88cdb65ea54d58adf50921b3676bf221c12a48381509f051b4f10",
    "lte-loss2": "a36fd53b8b5c8a81678c07b85d179b7b598636c2c4c12bbd8e708fcaeae882eb",
    "lte-loss5": "4ee759906e8fafe20478241aeecb033c91b383fb6b65047d79f94dafa9b2caba",
    "3g-loss5": "310ff08b4893fb8714c9806c7ccd4c8a592d873ade5f5231ba794f4ec3cb063c",
    "lte-loss20": "8b6a9bf06a011c9a9decddcbffbbdc0155d0f6cf084795ea5ad5261f7b74c63f",
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
