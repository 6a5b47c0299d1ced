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
back in, reproduces the previous pins); and once more when the default feedback became the
streamer's (reports batched every 50 ms, the cloud's question fields those of the newest report the
sender holds; issue #16) and the hash took each report's question age and newest capture too; and
once more when a still picture kept part of its chain's earlier quality after a bitrate drop
(``picture_memory_ms``, 1,125 ms by default; issue #16: with it off, every previous pin holds, and
the 3g cases have no frame it lifts); and once more when an interval's frames took the region the
sender holds at its decision (``roi_at_decision`` on by default; issue #16: with it off, the
previous pins hold, ``PINNED_REGION_AT_CAPTURE``); and once more when the encoder met a new bitrate
as the streamer's x264 does (``encoder_rise_deficit`` and its kin: with an encoder that meets
every target at once the previous pins hold, ``PINNED_IDEAL_ENCODER``). If one changes, the webrtc
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
#: an encoder that meets every target at once (the encoder's lag off)
IDEAL_ENCODER: dict[str, float] = {"encoder_rise_deficit": 0.0, "encoder_drop_overshoot": 0.0}
PINNED: dict[str, str] = {
    "lte": "2921883c33b813152553f4efee073ed9ff498b27a4defb66ca757d766e21bdcf",
    "3g": "2f328127ba44d822ae9dcf000e8e4eba002da45b019380e3953f49b6f9ece445",
    "5g": "4caa2b9270339f3bc3d1ecedb32a00ff5f2ead43337396f24c7a9e91311682b1",
    "wifi": "c322589795314fc06d6df33d786e3a5b1c69dd0e15ddee92691fcec2a96f1f18",
    "lte-loss2": "be8fe9d8d1ea8acac15c8bad532499ae5d5a3abc08e91ea57086c48529c23fb5",
    "lte-loss5": "ba0f5717c3f15b9604498a55ee06a3d4798bc414b51b07f087057b6e83410ac1",
    "3g-loss5": "07ab63dbce718af10da8347ec2060b75e0ecb465fa94716f7cd77e54b13351b3",
    "lte-loss20": "b7f07515e1d66473979fbd1a2e3a6b7f36b9291466effce4152360b405700787",
}

#: the same rollouts with an encoder that meets every target at once (``encoder_rise_deficit=0``,
#: ``encoder_drop_overshoot=0``): the pins before the encoder's lag
PINNED_IDEAL_ENCODER: dict[str, str] = {
    "lte": "ff2d73cd9d5331569558f1bb77cddfbd682683f32b6843aa5d868b384d29ca8d",
    "3g": "32c3ee5d79a9387777c610511102d52d00d385d148d09a6433bcc1d7f889775e",
    "5g": "25c6e90938dd38d883ee7d85db3572455fbf5fc1c477b754caa1cd48fe6718c3",
    "wifi": "a4b55297a796a85f01ab82576ed64675570aa9bf8935a19479c46c878bb45134",
    "lte-loss2": "b5daa9d08fe2a3c95e879ae565970c47c34c78c107712f11ded2bebc0d70224f",
    "lte-loss5": "e98e1f799f7f20d9117db25a2888993b06ce2faea3db27dccee164401e501cf2",
    "3g-loss5": "3600aa252a696221914c6d6c27992ba6e086a32be520368bda8a9d5bc9aa3fa2",
    "lte-loss20": "f0bb981420d634073830eb6fac06a7377acfbb9c955fbece8e09be851c88cb8a",
}

#: the same rollouts with ``roi_at_decision=False`` (each frame the region the cloud holds at its
#: capture): the pins before the sender's decision set the region
PINNED_REGION_AT_CAPTURE: dict[str, str] = {
    "lte": "e2868833759233d41d02e0c09d5c387eb3131a842ba43b664122588f31510722",
    "3g": "eae2ee0c1bc7f32873339e62239751e62b049e3e4be0f4af68bb889481ff4025",
    "5g": "b8710d03e5f2585de8f745c1a9707674308a7842eff7c1f2f73611e1e18179d6",
    "wifi": "d4bd1d320e206008ac912fbb47ef9d16362c233630ed694ef020f8f03f5dc458",
    "lte-loss2": "86d674c216a0fd098c83e19ed481da7cc1a538996ea4fc1de6c3e17b97838660",
    "lte-loss5": "e1544f01cbbf6f0109462b6f87e859abb3af885ab921474d6ecc48ee3aeb87a9",
    "3g-loss5": "9044dee7f5a6d59c9f6f9f32df4685bfc813664a0f070fd633a4d518c644c745",
    "lte-loss20": "3cff5a2f1e639bb6847187515d2f0c34bd7877d8d4b0b8e4d28a89bf8e561ff3",
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
    _update(h, [r.question_asked_ms, r.sent_capture_ms])
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


#: the receiver's transport feedback unbatched (``feedback_interval_ms=0``), against the
#: default 50 ms batches (NACKs and PLIs at once in both) of the pins above
PINNED_UNBATCHED = "07663456d7ee1af5e5609c1e535284ae698f62d7e8bb2b50d82e74dd7b4c192b"


@pytest.mark.parametrize("backend", ["python", "compiled"])
def test_unbatched_feedback_webrtc_rollout_matches_its_pin_on_both_backends(backend: str) -> None:
    if backend == "compiled":
        pytest.importorskip("numba")
    got = rollout_hash("lte", loss_rate=0.05, feedback_interval_ms=0.0, backend=backend)
    assert got == PINNED_UNBATCHED != PINNED["lte-loss5"]


@pytest.mark.parametrize("case", ["lte", "3g", "lte-loss5"])
def test_with_the_region_at_capture_the_previous_pins_hold(case: str) -> None:
    """``roi_at_decision`` off (and an encoder that meets every target) gives the pins from before
    it was the default: the sender's decision moved the frames' region and nothing else."""
    preset, kwargs = CASES[case]
    got = rollout_hash(preset, roi_at_decision=False, **kwargs, **IDEAL_ENCODER)
    assert got == PINNED_REGION_AT_CAPTURE[case] != PINNED_IDEAL_ENCODER[case]


@pytest.mark.parametrize("case", ["lte", "3g", "lte-loss5", "5g"])
def test_with_an_encoder_that_meets_every_target_the_previous_pins_hold(case: str) -> None:
    """The encoder's lag moves the rate each interval is sent and read at, and nothing else."""
    preset, kwargs = CASES[case]
    got = rollout_hash(preset, **kwargs, **IDEAL_ENCODER)
    assert got == PINNED_IDEAL_ENCODER[case] != PINNED[case]


@pytest.mark.parametrize("case", sorted(CASES))
def test_compiled_webrtc_rollout_matches_pinned_fingerprint(case: str) -> None:
    """The compiled transport (envs/_webrtc_kernels.py) gives the reference's pinned episodes."""
    pytest.importorskip("numba")
    preset, kwargs = CASES[case]
    assert rollout_hash(preset, backend="compiled", **kwargs) == PINNED[case]
