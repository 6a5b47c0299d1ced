"""Frame reassembly: exact behaviour on small cases, and a fuzz that feeds it tens of thousands of
truncated, duplicated, reordered, oversized and garbage packets."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from artic_rl.runtime.jitter import FrameAssembler
from artic_rl.runtime.rtp import H264Packetizer, RtpPacket, join_annexb


def _frames(
    n: int, rng: np.random.Generator, ssrc: int = 9
) -> tuple[list[bytes], list[list[bytes]]]:
    """``n`` fake access units (first one IDR) and their RTP datagrams."""
    pz = H264Packetizer(
        ssrc=ssrc, max_payload_bytes=200, first_sequence=int(rng.integers(0, 65536))
    )
    aus, dgrams = [], []
    for i in range(n):
        size = int(rng.integers(1, 900))
        body = rng.integers(1, 256, size=size, dtype=np.uint8).tobytes()
        au = join_annexb([bytes([0x65 if i == 0 else 0x41]) + body])
        aus.append(au)
        dgrams.append([p.pack() for p in pz.packetize(au, capture_ms=33.0 * i)])
    return aus, dgrams


def test_in_order_stream_comes_out_whole() -> None:
    aus, dgrams = _frames(50, np.random.default_rng(1))
    fa = FrameAssembler()
    out = [f for i, d in enumerate(dgrams) for p in d for f in fa.push(p, now_ms=33.0 * i)]
    out += fa.poll(33.0 * 50)
    assert [f.annexb for f in out] == aus
    assert all(f.follows_previous for f in out)
    assert out[0].keyframe and not out[1].keyframe
    assert fa.pending_frames == 0 and fa.pending_bytes == 0


def test_lost_packet_gives_up_frame_after_reorder_wait() -> None:
    aus, dgrams = _frames(3, np.random.default_rng(2))
    while len(dgrams[1]) < 2:
        aus, dgrams = _frames(3, np.random.default_rng(int(len(aus[1])) + 3))
    fa = FrameAssembler(reorder_wait_ms=20.0)
    assert [f.annexb for p in dgrams[0] for f in fa.push(p, 0.0)] == []  # the first frame waits
    assert [f.annexb for f in fa.poll(20.0)] == [aus[0]]
    for p in dgrams[1][1:]:  # first packet of frame 1 lost
        assert fa.push(p, 30.0) == []
    for p in dgrams[2]:
        assert fa.push(p, 35.0) == []  # complete but waits for frame 1
    assert fa.poll(54.9) == []
    out = fa.poll(55.0)
    assert [f.annexb for f in out] == [aus[2]] and not out[0].follows_previous
    assert fa.stats.frames_given_up == 1
    assert fa.push(dgrams[1][0], 40.0) == [] and fa.stats.late == 1


def test_reordered_packets_within_wait_keep_the_chain() -> None:
    aus, dgrams = _frames(2, np.random.default_rng(3))
    fa = FrameAssembler(reorder_wait_ms=20.0)
    out = [f for p in reversed(dgrams[0] + dgrams[1]) for f in fa.push(p, 0.0)] + fa.poll(20.0)
    assert [f.annexb for f in out] == aus and all(f.follows_previous for f in out)


def test_bounds_evict_oldest() -> None:
    _, dgrams = _frames(40, np.random.default_rng(4))
    fa = FrameAssembler(max_frames=4, max_bytes=1500)
    for d in dgrams:
        for p in d[:-1]:  # never complete
            fa.push(p, 0.0)
            assert fa.pending_frames <= 4 and fa.pending_bytes <= 1500
    assert fa.stats.frames_given_up > 0


def _mangle(dgrams: list[bytes], rng: np.random.Generator) -> list[bytes]:
    """Drop, duplicate, reorder, truncate, oversize, and insert garbage and forged headers."""
    out: list[bytes] = []
    for d in dgrams:
        r = rng.random()
        if r < 0.1:
            continue
        if r < 0.2:
            out += [d, d]
        elif r < 0.25:
            out.append(d[: int(rng.integers(0, len(d)))])
        elif r < 0.28:
            out.append(d + bytes(int(rng.integers(1, 3000))))
        elif r < 0.33:
            out.append(
                rng.integers(0, 256, size=int(rng.integers(0, 1600)), dtype=np.uint8).tobytes()
            )
        elif r < 0.36:
            forged = RtpPacket(
                96,
                int(rng.integers(0, 65536)),
                int(rng.integers(0, 2**32)),
                9,
                rng.integers(0, 256, size=int(rng.integers(0, 300)), dtype=np.uint8).tobytes(),
                marker=bool(rng.random() < 0.5),
                frame_start_seq=int(rng.integers(0, 65536)),
            )
            out.append(forged.pack())
        else:
            out.append(d)
    idx = np.arange(len(out), dtype=np.float64) + rng.normal(0.0, 3.0, size=len(out))
    return [out[i] for i in np.argsort(idx, kind="stable")]


def _feed_and_check(
    fa: FrameAssembler, dgrams: list[bytes], max_frames: int, max_bytes: int
) -> int:
    last_first = -(2**63)
    n_out = 0
    for k, d in enumerate(dgrams):
        for f in fa.push(d, now_ms=float(k)):
            assert f.first_seq > last_first and f.last_seq >= f.first_seq
            last_first = f.first_seq
            n_out += 1
        assert fa.pending_frames <= max_frames and 0 <= fa.pending_bytes <= max_bytes
    return n_out


@given(st.integers(0, 2**32 - 1))
@settings(max_examples=200, deadline=None)
def test_fuzz_never_crashes_and_stays_bounded(seed: int) -> None:
    rng = np.random.default_rng(seed)
    _, frames = _frames(40, rng)
    dgrams = _mangle([p for d in frames for p in d], rng)
    fa = FrameAssembler(max_frames=8, max_bytes=20_000)
    _feed_and_check(fa, dgrams, 8, 20_000)
    assert fa.stats.packets == len(dgrams)


def test_fuzz_fifty_thousand_packets() -> None:
    rng = np.random.default_rng(20260101)
    _, frames = _frames(18000, rng)
    dgrams = _mangle([p for d in frames for p in d], rng)
    assert len(dgrams) > 50_000
    fa = FrameAssembler(max_frames=16, max_bytes=64_000)
    n_out = _feed_and_check(fa, dgrams, 16, 64_000)
    s = fa.stats
    assert n_out > 500 and s.malformed > 0 and s.duplicates > 0 and s.frames_given_up > 0
