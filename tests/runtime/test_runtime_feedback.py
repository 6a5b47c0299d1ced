"""Feedback wire format and its mapping onto the simulator's FeedbackReport / ObservationBuilder."""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from artic_rl.control.gcc import observation_estimator
from artic_rl.runtime import rtcp
from artic_rl.runtime.feedback import FeedbackCollector, ReceiverFeedback
from artic_rl.runtime.rtcp import (
    CloudFeedback,
    FrameFeedback,
    PictureLossIndication,
    RtcpError,
    TransportFeedback,
)
from artic_rl.sender.actions import SenderAction
from artic_rl.sender.observation import OBS_DIM, ObservationBuilder


def test_pli_golden_bytes() -> None:
    # RFC 4585 6.3.1: V=2 FMT=1, PT=206, length 2, sender SSRC, media SSRC
    assert rtcp.encode([PictureLossIndication()], 1, 2) == bytes.fromhex(
        "81ce0002 00000001 00000002"
    )


def test_transport_feedback_golden_bytes() -> None:
    msg = TransportFeedback(base_seq=10, arrival_ms=(100.0, math.nan, 100.5))
    data = rtcp.encode([msg])
    # header (7 words: length 6), SSRCs, base 10, count 3, ref 400 ticks, deltas 0, lost, +2, pad
    assert data == bytes.fromhex("8fcd0006 00000000 00000000 000a0003 00000190 0000 8000 0002 0000")
    (back,) = rtcp.decode(data)
    assert isinstance(back, TransportFeedback) and back.base_seq == 10
    assert (
        back.arrival_ms[0] == 100.0
        and math.isnan(back.arrival_ms[1])
        and back.arrival_ms[2] == 100.5
    )


@given(
    st.integers(0, 0xFFFF),
    st.lists(st.one_of(st.just(math.nan), st.floats(0.0, 1e6)), min_size=1, max_size=5000),
)
def test_transport_round_trip_within_quantum(base: int, arrivals: list[float]) -> None:
    msgs = rtcp.decode(rtcp.encode([TransportFeedback(base, tuple(arrivals))]))
    got: list[float] = []
    for k, m in enumerate(msgs):
        assert isinstance(m, TransportFeedback)
        assert m.base_seq == (base + len(got)) & 0xFFFF, k
        got += m.arrival_ms
    assert len(got) == len(arrivals)
    for a, b in zip(arrivals, got, strict=True):
        assert (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 0.125


def test_compound_round_trip() -> None:
    cloud = CloudFeedback(True, True, 0.25, (0.1, 0.2, 0.6, 0.7), (0.4, 0.8, 0.9, 1.0, 1.0, 1.0))
    msgs = [
        FrameFeedback((1, 2**32 - 1), (33.25, math.nan)),
        PictureLossIndication(),
        cloud,
    ]
    frames, pli, back = rtcp.decode(rtcp.encode(msgs, 5, 6))
    assert isinstance(frames, FrameFeedback) and frames.timestamps == (1, 2**32 - 1)
    assert frames.decodable_ms[0] == 33.25 and math.isnan(frames.decodable_ms[1])
    assert isinstance(pli, PictureLossIndication)
    assert isinstance(back, CloudFeedback) and back.question_active and back.roi_known
    assert back.roi_box is not None and np.allclose(back.roi_box, cloud.roi_box, atol=1e-4)
    assert back.confidence is not None and np.allclose(
        back.confidence, cloud.confidence, atol=0.002
    )
    assert rtcp.decode(rtcp.encode([CloudFeedback()])) == [CloudFeedback(roi_area=0.0)]


def test_cloud_feedback_carries_the_question_age_in_ms() -> None:
    msg = CloudFeedback(question_active=True, question_age_ms=437.4)
    (back,) = rtcp.decode(rtcp.encode([msg]))
    assert isinstance(back, CloudFeedback) and back.question_age_ms == 437.0
    conf = CloudFeedback(True, True, 0.2, None, (0.5, 0.7, 0.9, 1.0, 1.0, 1.0), 90.0)
    (back,) = rtcp.decode(rtcp.encode([conf]))
    assert isinstance(back, CloudFeedback) and back.question_age_ms == 90.0
    assert back.confidence is not None and len(back.confidence) == 6


@pytest.mark.parametrize(
    "data",
    [
        b"\x81\xce\x00",
        bytes.fromhex("41ce0002 00000001 00000002"),  # version 1
        bytes.fromhex("81ce0009 00000001 00000002"),  # length past the end
        bytes.fromhex("8fcd0003 00000000 00000000 000a0009"),  # 9 deltas announced, none there
        bytes.fromhex("81c90002 00000001 00000002"),  # unknown PT
    ],
)
def test_decode_rejects_malformed(data: bytes) -> None:
    with pytest.raises(RtcpError):
        rtcp.decode(data)


@given(st.binary(max_size=300))
def test_decode_garbage_raises_only_rtcp_error(data: bytes) -> None:
    with contextlib.suppress(RtcpError):
        rtcp.decode(data)


def test_receiver_to_sender_report_matches_hand_computed_observation() -> None:
    """Packets 0..4 sent 10 ms apart (1000 bytes); 2 lost; one-way delay 30, 30, -, 40, 50 ms."""
    collector = FeedbackCollector(interval_ms=200.0)
    receiver = ReceiverFeedback()
    for k in range(5):
        collector.on_packet_sent(65534 + k & 0xFFFF, 10.0 * k, 1000)
    collector.on_frame_sent(0, 0, 0.0)
    collector.on_frame_sent(1, 2970, 33.0)
    collector.on_frame_sent(2, 5940, 66.0)
    for k, owd in ((0, 30.0), (1, 30.0), (3, 40.0), (4, 50.0)):
        receiver.on_packet(65534 + k & 0xFFFF, 10.0 * k + owd)
    receiver.on_frame(5940, 120.0)  # frames 0 and 1 never reported: lost
    receiver.request_keyframe()
    receiver.cloud = CloudFeedback(True, True, 0.2, None, (0.5, 0.7, 0.9, 1.0, 1.0, 1.0))
    collector.on_messages(rtcp.decode(rtcp.encode(receiver.messages())))
    report = collector.report(now_ms=200.0)
    assert report.sent_bytes == 5000 and report.keyframe_request and report.question_active
    assert report.packets.seq.tolist() == [65534, 65535, 65536, 65537, 65538]
    assert np.isnan(report.packets.arrival_ms[2])
    assert report.frames.frame_id.tolist() == [0, 1, 2]
    assert np.isnan(report.frames.decodable_ms[:2]).all() and report.frames.decodable_ms[2] == 120.0
    obs = ObservationBuilder(200.0, observation_estimator()).update(
        report, SenderAction(400.0, 1, 10.0), 500.0
    )
    assert obs.shape == (OBS_DIM,)
    assert obs[7] == pytest.approx(0.2)  # loss
    assert obs[1] == pytest.approx(math.log(4000 * 8 / 200 / 100) / math.log(40), abs=1e-6)
    assert obs[3] == pytest.approx(0.054)  # frame 2: 120 - 66 ms
    assert obs[5] == pytest.approx(0.020)  # last one-way delay 50 - min 30
    assert obs[6] == pytest.approx(0.160)  # 200 - send time of the last acked packet (40)
    assert obs[16] == 1.0 and obs[12] == 1.0 and obs[11] == pytest.approx(0.2, abs=1e-4)
    empty = collector.report(now_ms=400.0)
    assert len(empty.packets) == 0 and empty.sent_bytes == 0 and not empty.keyframe_request
