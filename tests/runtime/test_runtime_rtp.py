"""RTP header and RFC 6184 payload: golden bytes, round trips, validation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from artic_rl.runtime.rtp import (
    H264Packetizer,
    RtpError,
    RtpPacket,
    SequenceUnwrapper,
    depacketize_h264,
    h264_payloads,
    is_keyframe,
    join_annexb,
)


def test_header_golden_bytes() -> None:
    pkt = RtpPacket(payload_type=96, sequence=0x1234, timestamp=0xDEADBEEF, ssrc=7, payload=b"\x65")
    # V=2 P=0 X=0 CC=0 | M=0 PT=96 | seq | ts | ssrc | payload
    assert pkt.pack() == bytes.fromhex("80 60 1234 deadbeef 00000007 65")
    marked = RtpPacket(96, 1, 2, 3, b"\x41", marker=True, frame_start_seq=0xFFFE)
    data = marked.pack()
    # X=1, M=1; extension: 0xBEDE, 1 word, id=1 len-1=1, 0xFFFE, one padding byte
    assert data[:2] == bytes([0x90, 0xE0])
    assert data[12:20] == bytes.fromhex("bede 0001 11 fffe 00")
    assert RtpPacket.parse(data) == marked


@given(
    st.integers(0, 127),
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 0xFFFFFFFF),
    st.binary(max_size=1200),
    st.booleans(),
    st.one_of(st.none(), st.integers(0, 0xFFFF)),
    st.lists(st.integers(0, 0xFFFFFFFF), max_size=15),
    st.integers(0, 255),
)
def test_header_round_trip(pt, seq, ts, ssrc, payload, marker, start, csrc, padding) -> None:
    pkt = RtpPacket(pt, seq, ts, ssrc, payload, marker, start, tuple(csrc), padding)
    if len(pkt.pack()) > 1500:
        return
    assert RtpPacket.parse(pkt.pack()) == pkt


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x80\x60\x00",  # shorter than a header
        bytes.fromhex("40 60 0001 00000000 00000001 65"),  # version 1
        bytes.fromhex("8f 60 0001 00000000 00000001"),  # 15 CSRCs announced, none present
        bytes.fromhex("90 60 0001 00000000 00000001 bede 0004"),  # extension past the end
        bytes.fromhex("a0 60 0001 00000000 00000001 65 09"),  # padding longer than the packet
        bytes.fromhex("a0 60 0001 00000000 00000001 65 00"),  # padding count zero
        bytes(1501),
    ],
)
def test_parse_rejects_malformed(data: bytes) -> None:
    with pytest.raises(RtpError):
        RtpPacket.parse(data)


def test_fu_a_fragmentation_golden() -> None:
    nal = bytes([0x65]) + bytes(range(1, 11))  # IDR, NRI=3, 10 body bytes
    payloads = h264_payloads([nal], max_payload_bytes=6)  # 4 body bytes per fragment
    assert payloads == [
        bytes([0x7C, 0x85, 1, 2, 3, 4]),  # FU indicator NRI|28, header S|type 5
        bytes([0x7C, 0x05, 5, 6, 7, 8]),
        bytes([0x7C, 0x45, 9, 10]),  # E bit
    ]
    assert depacketize_h264(payloads) == [nal]
    assert is_keyframe([nal]) and not is_keyframe([b"\x41\x00"])


@given(st.lists(st.binary(min_size=1, max_size=5000), min_size=1, max_size=6), st.integers(3, 1400))
@settings(max_examples=200)
def test_payload_round_trip(bodies: list[bytes], budget: int) -> None:
    nals = [bytes([0x41 if i else 0x65]) + b + b"\x01" for i, b in enumerate(bodies)]
    assert depacketize_h264(h264_payloads(nals, budget)) == nals


def test_stap_a_and_bad_payloads() -> None:
    stap = bytes([0x18, 0x00, 0x02, 0x67, 0x42, 0x00, 0x01, 0x68])
    assert depacketize_h264([stap]) == [b"\x67\x42", b"\x68"]
    for bad in (
        [b""],
        [b"\xe5\x00"],  # forbidden bit
        [bytes([0x7C, 0x05, 1])],  # FU-A without start
        [bytes([0x7C, 0x85, 1])],  # FU-A without end
        [bytes([0x7C, 0x85, 1]), bytes([0x7C, 0x41, 2])],  # type changes
        [bytes([0x18, 0x00, 0x09, 0x67])],  # STAP-A unit past the end
        [b"\x1f\x00"],  # unsupported type 31
    ):
        with pytest.raises(RtpError):
            depacketize_h264(bad)


def test_packetizer_marks_frames_and_wraps_sequence() -> None:
    pz = H264Packetizer(ssrc=5, max_payload_bytes=100, first_sequence=0xFFFE)
    au = join_annexb([b"\x67" + b"\x11" * 10, b"\x68\x22", b"\x65" + b"\x33" * 250])
    pkts = pz.packetize(au, capture_ms=1000.0)
    assert [p.sequence for p in pkts] == [0xFFFE, 0xFFFF, 0, 1, 2]
    assert [p.marker for p in pkts] == [False] * 4 + [True]
    assert {p.frame_start_seq for p in pkts} == {0xFFFE}
    assert {p.timestamp for p in pkts} == {90_000}
    assert pz.next_sequence == 3
    assert join_annexb(depacketize_h264(p.payload for p in pkts)) == au


def test_sequence_unwrapper() -> None:
    u = SequenceUnwrapper()
    assert [u.unwrap(s) for s in (65534, 65535, 0, 65535, 1, 2)] == [
        65534,
        65535,
        65536,
        65535,
        65537,
        65538,
    ]
