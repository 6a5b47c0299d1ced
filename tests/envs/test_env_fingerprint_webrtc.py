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
webrtc path at 1,600 steps/s); re-pinned once, when a keyframe took the codec profile's measured
keyframe size instead of that size times a P-frame residual (issue #16; the previous rule, patched
back in, reproduces the previous pins). If one changes, the webrtc receiver's semantics changed.
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
    "lte": "fd2950f3210989744b0168140fedde4738fb98eb040706eb80e6e9ab74b26867",
    "3g": "9fd7022a4cfbc83cb3717f1c3154464b92549238ac1cc76dc158fd64db770bb7",
    "5g": "1adadd219649dda703bc36156f36bf61717246e29861aae9cd4a5872c64e0f64",
    "wifi": "d88f4a45f4898483555aae4faf04bad6a7a1854079a15e3f2b0bbc3a6d31614b",
    "lte-loss2": "3f8b1774d3a6b856691dee85b98177db7c60610c4a7407a07151eca6bd7da9b0",
    "lte-loss5": "b8fb4757b026faebbba3dfd1f017685cf9e607e192e6dc8e33afccf382a0ad7a",
    "3g-loss5": "dcac6130194667de159b2dfae22e0301e266d4f2eb830704f263bc927ea76c21",
    "lte-loss20": "6b085cb4849fb177f39a345aa619ae88d50ee8b13e18263b8b16093bd307f320",
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
    preset: str,
    seeds: tuple[int, ...] = (0, 1, 2),
    episode_s: float = 30.0,
    **kwargs: float | str,
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


#: the receiver's transport feedback batched as the streamer's is (NACKs and PLIs at once),
#: pinned when ``feedback_interval_ms`` was added (issue #16)
PINNED_BATCHED = "1a7aaa9866a45ba634d23219f6e670755ce1056a595363c65ff1933f094f7e5e"


@pytest.mark.parametrize("backend", ["python", "compiled"])
def test_batched_feedback_webrtc_rollout_matches_its_pin_on_both_backends(backend: str) -> None:
    if backend == "compiled":
        pytest.importorskip("numba")
    got = rollout_hash("lte", loss_rate=0.05, feedback_interval_ms=50.0, backend=backend)
    assert got == PINNED_BATCHED != PINNED["lte-loss5"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_compiled_webrtc_rollout_matches_pinned_fingerprint(case: str) -> None:
    """The compiled transport (envs/_webrtc_kernels.py) gives the reference's pinned episodes."""
    pytest.importorskip("numba")
    preset, kwargs = CASES[case]
    assert rollout_hash(preset, backend="compiled", **kwargs) == PINNED[case]
