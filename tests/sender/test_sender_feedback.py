"""``PacketReports`` / ``FrameReports`` / ``FeedbackReport`` helpers on small hand-built reports."""

from __future__ import annotations

import math

import numpy as np
import pytest

from artic_rl.sender.feedback import Delivered, FeedbackReport, FrameReports, PacketReports

NAN = math.nan


def four_packets() -> PacketReports:
    """seq 7..10 sent at 0, 10, 20, 30 ms (300, 1200, 1200, 500 B); seq 8 lost; delays 25, -, 31, 42."""
    return PacketReports(
        seq=np.array([7, 8, 9, 10]),
        send_ms=np.array([0.0, 10.0, 20.0, 30.0]),
        arrival_ms=np.array([25.0, NAN, 51.0, 72.0]),
        size_bytes=np.array([300, 1200, 1200, 500]),
    )


def test_len_and_lost_mask() -> None:
    pk = four_packets()
    assert len(pk) == 4
    assert pk.lost.tolist() == [False, True, False, False]


def test_delivered_drops_the_lost_packet_and_computes_one_way_delays() -> None:
    d = four_packets().delivered
    assert isinstance(d, Delivered)
    assert d.arrival_ms == [25.0, 51.0, 72.0]
    assert d.send_ms == [0.0, 20.0, 30.0]
    assert d.size_bytes == [300, 1200, 500]  # 2000 B of the 3200 sent
    assert d.owd_ms == [25.0, 31.0, 42.0]  # 25 - 0, 51 - 20, 72 - 30
    assert all(type(x) is float for x in d.owd_ms)  # plain Python lists, not numpy scalars
    assert all(type(x) is int for x in d.size_bytes)


def test_delivered_without_losses_keeps_every_packet() -> None:
    pk = PacketReports(
        seq=np.array([0, 1]),
        send_ms=np.array([5.0, 6.5]),
        arrival_ms=np.array([20.0, 20.25]),
        size_bytes=np.array([1240, 100]),
    )
    assert pk.delivered == Delivered([20.0, 20.25], [5.0, 6.5], [1240, 100], [15.0, 13.75])


def test_delivered_is_worked_out_once() -> None:
    pk = four_packets()
    assert pk.delivered is pk.delivered


def test_all_lost_and_empty_reports() -> None:
    lost = PacketReports(
        seq=np.array([0, 1]),
        send_ms=np.array([0.0, 1.0]),
        arrival_ms=np.array([NAN, NAN]),
        size_bytes=np.array([10, 10]),
    )
    assert lost.lost.tolist() == [True, True]
    assert lost.delivered == Delivered([], [], [], [])
    empty = PacketReports()
    assert len(empty) == 0
    assert empty.delivered == Delivered([], [], [], [])
    assert len(FrameReports()) == 0


def test_frame_reports_len() -> None:
    fr = FrameReports(np.array([3, 4, 5]), np.array([0.0, 33.0, 66.0]), np.array([41, NAN, 99.0]))
    assert len(fr) == 3


def test_report_defaults() -> None:
    rep = FeedbackReport(now_ms=200.0, interval_ms=200.0, sent_bytes=0)
    assert len(rep.packets) == 0 and len(rep.frames) == 0
    assert not (rep.keyframe_request or rep.question_active or rep.roi_known)
    assert rep.roi_area == 0.0 and rep.confidence is None


def test_reports_compare_by_content_with_nan_equal_to_nan() -> None:
    a = FeedbackReport(200.0, 200.0, 3200, four_packets(), confidence=np.array([0.5, 1.0]))
    b = FeedbackReport(200.0, 200.0, 3200, four_packets(), confidence=np.array([0.5, 1.0]))
    assert a == b  # separate arrays, same content; the lost packet's NaN equals NaN
    assert a != FeedbackReport(200.0, 200.0, 3200, four_packets(), confidence=np.array([0.5, 0.9]))
    assert a != FeedbackReport(200.0, 200.0, 3200, four_packets())  # array vs None
    assert a != FeedbackReport(200.0, 200.0, 3201, four_packets(), confidence=a.confidence)
    shorter = PacketReports(
        seq=np.array([7]),
        send_ms=np.array([0.0]),
        arrival_ms=np.array([25.0]),
        size_bytes=np.array([300]),
    )
    assert four_packets() != shorter  # shapes differ
    assert four_packets() != "a report"  # other types: not equal
    with pytest.raises(TypeError):
        hash(a)  # reports hold arrays: unhashable
