"""``Trace.scaled``: capacity multiplied by thinning or replicating delivery opportunities exactly."""

from __future__ import annotations

import numpy as np
import pytest

from artic_rl.net import Trace

# five opportunities at 1, 2, 2, 5, 9 ms, repeating every 10 ms
BASE = Trace("base", np.array([1, 2, 2, 5, 9]), 10)


@pytest.mark.parametrize(
    ("factor", "expected"),
    [
        # opportunity i (from 1) becomes floor(f*i) - floor(f*(i-1)) opportunities:
        # f = 0.5: floor(0.5 * [0..5]) = 0 0 1 1 2 2 -> copies 0 1 0 1 0 -> the 2nd and 4th
        (0.5, [2, 5]),
        # f = 0.4: floor(0.4 * [0..5]) = 0 0 0 1 1 2 -> copies 0 0 1 0 1 -> the 3rd and 5th
        (0.4, [2, 9]),
        # f = 2: every opportunity twice
        (2.0, [1, 1, 2, 2, 2, 2, 5, 5, 9, 9]),
        # f = 1.5: floor(1.5 * [0..5]) = 0 1 3 4 6 7 -> copies 1 2 1 2 1
        (1.5, [1, 2, 2, 2, 5, 5, 9]),
        # f = 3: three of each
        (3.0, [1, 1, 1, 2, 2, 2, 2, 2, 2, 5, 5, 5, 9, 9, 9]),
    ],
)
def test_scaled_by_hand(factor: float, expected: list[int]) -> None:
    out = BASE.scaled(factor)
    assert out.opportunities_ms.tolist() == expected
    assert out.period_ms == BASE.period_ms
    assert out.name == BASE.name
    assert out.meta["capacity_scale"] == repr(factor)


def test_scaled_capacity_and_outages() -> None:
    # 1 opportunity per ms on (0, 100], an outage on (100, 200], 1 per ms on (200, 300]
    opps = np.concatenate([np.arange(1, 101), np.arange(201, 301)])
    trace = Trace("t", opps, 300)
    for factor in (0.1, 0.3, 0.29, 0.7, 2.5):
        out = trace.scaled(factor)
        n = out.opportunities_ms.size
        # the cumulative count is floor(f * n) at every timestamp, whatever the rounding of f * i
        assert n == int(np.floor(factor * opps.size + 1e-9))
        assert out.mean_mbps == pytest.approx(trace.mean_mbps * n / opps.size)
        for t in (50, 100, 150, 250, 300):
            before = int(np.sum(opps <= t))
            assert int(np.sum(out.opportunities_ms <= t)) == int(np.floor(factor * before + 1e-9))
        # the outage stays an outage; no timestamp is invented
        assert not np.any((out.opportunities_ms > 100) & (out.opportunities_ms <= 200))
        assert set(out.opportunities_ms.tolist()) <= set(opps.tolist())
    # 0.1 keeps every tenth: 10, 20, ..., 100, 210, ..., 300
    assert trace.scaled(0.1).opportunities_ms.tolist() == [
        *range(10, 101, 10),
        *range(210, 301, 10),
    ]


def test_scaled_keeps_segments_and_composes_meta() -> None:
    trace = Trace(
        "seg",
        np.array([1, 2, 3, 4]),
        8,
        segment_end_ms=np.array([4.0, 8.0]),
        segment_loss=np.array([0.0, 0.1]),
        segment_rtt_ms=np.array([40.0, 80.0]),
    )
    out = trace.scaled(0.5).scaled(4.0)
    assert out.segment_loss is not None and out.segment_loss.tolist() == [0.0, 0.1]
    assert out.segment_rtt_ms is not None and out.segment_rtt_ms.tolist() == [40.0, 80.0]
    assert out.opportunities_ms.tolist() == [2, 2, 2, 2, 4, 4, 4, 4]
    assert float(out.meta["capacity_scale"]) == pytest.approx(2.0)
    assert trace.meta == {}  # pure: the original is untouched
    assert trace.opportunities_ms.tolist() == [1, 2, 3, 4]


def test_scaled_one_is_identity_and_bad_factors_raise() -> None:
    assert BASE.scaled(1.0) is BASE
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="capacity scale must be > 0"):
            BASE.scaled(bad)
    with pytest.raises(ValueError, match="leaves no delivery opportunity"):
        BASE.scaled(0.1)  # floor(0.1 * 5) = 0


def test_env_capacity_scale() -> None:
    from artic_rl.envs.video_chat import VideoChatEnv

    trace = Trace("t", np.arange(1, 10_001), 10_000)  # 12 Mbps for 10 s
    env = VideoChatEnv(traces=[trace], capacity_scale=0.25)
    assert env.traces[0].mean_mbps == pytest.approx(trace.mean_mbps * 0.25)
    assert VideoChatEnv(traces=[trace]).traces[0] is trace
    for bad in (0.0, -0.5, float("nan")):
        with pytest.raises(ValueError, match="capacity_scale must be > 0"):
            VideoChatEnv(traces=[trace], capacity_scale=bad)
