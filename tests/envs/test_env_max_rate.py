"""``max_rate_kbps``: the default is today's environment, a higher ceiling adds tiers, lets GCC
climb past 4 Mbps and puts the bytes on the wire; a bad value names the key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from artic_rl.agents.registry import build_agent
from artic_rl.envs.video_chat import VideoChatEnv
from artic_rl.evaluation.rollout import run_episode
from artic_rl.net import Trace
from artic_rl.sender.actions import ActionCodec
from artic_rl.video import CodecProfile
from artic_rl.video.extended import ExtendedProfile

ROOT = Path(__file__).resolve().parents[2]
GCC = {"_target_": "artic_rl.agents.gcc.GccAgent"}


def fast_link_env(max_rate_kbps: float, episode_s: float) -> VideoChatEnv:
    """A constant 96 Mbps uplink (8 packets every ms), far above any ceiling here, and an encoder
    that meets every target at once: the ceiling, not x264's lag after each of GCC's rises (which
    slows its climb on a link it cannot fill), is what these tests measure."""
    trace = Trace(name="96mbps", opportunities_ms=np.ones(8, dtype=np.int64), period_ms=1)
    return VideoChatEnv(
        traces=[trace],
        max_rate_kbps=max_rate_kbps,
        episode_s=episode_s,
        encoder_rise_deficit=0.0,
        encoder_drop_overshoot=0.0,
    )


def test_the_default_ceiling_is_todays_environment() -> None:
    kwargs = {"preset": "5g", "traces_root": str(ROOT / "traces"), "split": "test"}
    default, explicit = VideoChatEnv(**kwargs), VideoChatEnv(**kwargs, max_rate_kbps=4000)
    for env in (default, explicit):
        assert env.codec == ActionCodec()
        assert env.action_space.nvec.tolist() == [20, 4, 6]
        assert isinstance(env.profile, CodecProfile)  # the measured profile, not extended
    runs = [
        run_episode(env, build_agent(GCC, 200.0, env.codec), 1_000_000)
        for env in (default, explicit)
    ]
    assert runs[0].bitrate_kbps == runs[1].bitrate_kbps
    assert runs[0].accuracy == runs[1].accuracy
    assert runs[0].frame_latency_ms == runs[1].frame_latency_ms


def test_gcc_climbs_past_4_mbps_only_under_a_higher_ceiling() -> None:
    """From 300 kbps GCC reaches 4 Mbps after about 40 s on a link it cannot fill; with the
    32 Mbps ceiling it keeps climbing and sends from the new tiers."""
    sent: dict[int, float] = {}
    for ceiling in (4000, 32000):
        env = fast_link_env(ceiling, episode_s=80.0)
        agent = build_agent(GCC, 200.0, env.codec)
        result = run_episode(env, agent, 0)
        assert agent.gcc.target_kbps <= ceiling
        sent[ceiling] = max(result.bitrate_kbps[-50:])  # the last 10 s, bytes on the wire
        if ceiling == 4000:
            assert agent.gcc.target_kbps == 4000.0
        else:
            assert agent.gcc.target_kbps > 16_000.0
    assert sent[4000] < 5000.0  # 4 Mbps frames, rate-control noise on top
    assert sent[32000] > 3 * sent[4000]


def test_frame_sizes_continue_in_proportion_above_the_profile() -> None:
    profile = CodecProfile.default()
    extended = ExtendedProfile(profile)
    assert extended.top_kbps == 4000.0
    key = np.array([True] + [False] * 9)
    for kbps in (300.0, 2234.0, 4000.0):
        same = [
            p.frame_sizes_bytes(kbps, 30.0, 3, 10, np.random.default_rng(5), key)
            for p in (profile, extended)
        ]
        assert same[0].tolist() == same[1].tolist()
    top = profile.frame_sizes_bytes(4000.0, 10.0, 0, 10, np.random.default_rng(5), key)
    above = extended.frame_sizes_bytes(20_000.0, 10.0, 0, 10, np.random.default_rng(5), key)
    assert above.tolist() == np.rint(top * 5.0).astype(np.int64).tolist()
    # the measured profile alone clamps: 4 Mbps frames at a 20 Mbps target
    clamped = profile.frame_sizes_bytes(20_000.0, 10.0, 0, 10, np.random.default_rng(5), key)
    assert clamped.tolist() == top.tolist()
    assert extended.mean_frame_bytes(8000.0, 30.0, 0) == pytest.approx(
        2 * profile.mean_frame_bytes(4000.0, 30.0, 0)
    )
    assert extended.equivalent_kbps(8000.0, 30.0, 0, 0.05) == 8000.0  # uniform 30 fps: itself


def test_an_extended_env_refuses_an_agent_on_the_default_codec() -> None:
    env = fast_link_env(32000, episode_s=1.0)
    assert env.action_space.nvec.tolist() == [30, 4, 6]
    assert isinstance(env.profile, ExtendedProfile)
    with pytest.raises(ValueError, match="acts on 20 bitrate tiers up to 4000 kbps"):
        run_episode(env, build_agent(GCC, 200.0), 0)


@pytest.mark.parametrize("bad", [3000, "abc"])
def test_a_bad_ceiling_names_the_key(bad: object) -> None:
    with pytest.raises(ValueError, match="max_rate_kbps must be a number >= 4000"):
        fast_link_env(bad, episode_s=1.0)  # type: ignore[arg-type]
