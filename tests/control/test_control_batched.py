"""The per-report fast paths give what their one-at-a-time forms give (worked out by hand)."""

from __future__ import annotations

import math

import numpy as np

from artic_rl.control.delay_based import GroupDelta, InterArrival
from artic_rl.sender.feedback import Delivered, PacketReports

# (arrival_ms, send_ms) in arrival order: group A sent at 0 and 2, B at 10 (then one sent at 8.5,
# before B's first: ignored), C at 20 (one sent at 15: ignored) joined by the one sent at 27 (the
# burst rule: 7 ms later but arriving 3 ms after, a negative gradient), then D at 40
PACKETS = [(10.0, 0.0), (12.0, 2.0), (21.0, 10.0), (23.0, 8.5), (33.0, 20.0), (34.0, 15.0),
           (36.0, 27.0), (60.0, 40.0)]  # fmt: skip


def test_packets_in_one_call_match_packet_by_packet() -> None:
    one = InterArrival()
    expected = [d for a, s in PACKETS if (d := one.packet(s, a)) is not None]
    batched = InterArrival()
    assert batched.packets(PACKETS) == expected
    # (last send, last arrival): A = (2, 12), B = (10, 21), C = (27, 36)
    assert expected == [GroupDelta(8.0, 9.0, 21.0), GroupDelta(17.0, 15.0, 36.0)]
    # the state carries over: the next packet completes D = (40, 60) after C
    assert (
        batched.packets([(70.0, 50.0)])
        == [one.packet(50.0, 70.0)]
        == [GroupDelta(13.0, 24.0, 60.0)]
    )


def test_delivered_lists_the_received_packets_once() -> None:
    reports = PacketReports(
        seq=np.arange(4, dtype=np.int64),
        send_ms=np.array([0.0, 1.0, 2.0, 3.0]),
        arrival_ms=np.array([10.0, math.nan, 13.5, 12.0]),
        size_bytes=np.array([1200, 1200, 700, 80], dtype=np.int64),
    )
    got = reports.delivered
    assert got == Delivered([10.0, 13.5, 12.0], [0.0, 2.0, 3.0], [1200, 700, 80], [10.0, 11.5, 9.0])
    assert reports.delivered is got  # worked out once per report
    assert PacketReports().delivered == Delivered([], [], [], [])
