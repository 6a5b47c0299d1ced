"""The sender's answer to a WebRTC receiver: packet history and retransmission, keyframe gate.

After libwebrtc's ``modules/rtp_rtcp/source/rtp_packet_history.cc`` and ``rtp_sender.cc``
(``OnReceivedNack``), the RTX rate limiter of ``rtp_transport_controller_send.cc`` and
``video/encoder_rtcp_feedback.cc`` (commits: ../shared/research/webrtc-receiver.md, section 1).
Pure and clock-injected; constants in :class:`WebRtcSenderConfig`.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

BITS_PER_BYTE = 8.0


@dataclass(frozen=True)
class WebRtcSenderConfig:
    """The sender's answer to NACK and PLI (modules/rtp_rtcp/source/rtp_sender.cc and friends)."""

    rtx_guard_base_ms: float = 5.0  # OnReceivedNack: a resend waits 5 + avg RTT since the last one
    rtx_window_ms: float = 500.0  # RTX rate limiter window (rtp_transport_controller_send.cc)
    history_min_ms: float = 1000.0  # rtp_packet_history.{h,cc}: a packet is kept >= 1 s
    history_rtt_factor: float = 3.0  # ... and >= 3 RTT
    history_min_packets: int = 600  # culled only above this many packets
    history_max_factor: float = 3.0  # always culled after 3x that time
    history_max_packets: int = 9600  # hard cap
    keyframe_gap_ms: float = 300.0  # video/encoder_rtcp_feedback.cc: one request per 300 ms
    rtx_overhead_bytes: int = 2  # RFC 4588 OSN field added to the resent payload


class PacketHistory:
    """Sent media packets kept for retransmission: ``seq -> (size, sent_ms, last resend)``.

    A packet is kept at least ``max(1 s, 3 RTT)``; older ones are culled once more than 600 are
    stored, and always after three times that age (or beyond the hard cap). Culling goes from the
    oldest stored packet (the first put) and stops at the first one kept.
    """

    def __init__(self, config: WebRtcSenderConfig | None = None) -> None:
        self.config = config or WebRtcSenderConfig()
        self._packets: dict[int, list[float]] = {}  # seq -> [size, sent, resent]
        self._order: deque[int] = deque()  # the stored sequence numbers, oldest first

    def __len__(self) -> int:
        return len(self._packets)

    def put(self, seq: int, size_bytes: int, sent_ms: float, rtt_ms: float) -> None:
        entry = self._packets.get(seq)
        if entry is None:
            self._packets[seq] = [float(size_bytes), sent_ms, -math.inf]
            self._order.append(seq)
        else:  # stored again: its place in the culling order is kept
            entry[:] = [float(size_bytes), sent_ms, -math.inf]
        self._cull(sent_ms, rtt_ms)

    def _cull(self, now_ms: float, rtt_ms: float) -> None:
        cfg = self.config
        keep_ms = max(cfg.history_min_ms, cfg.history_rtt_factor * rtt_ms)
        max_age_ms = cfg.history_max_factor * keep_ms
        packets, order = self._packets, self._order
        while order:
            n = len(packets)
            age = now_ms - packets[order[0]][1]
            if (
                n > cfg.history_max_packets
                or age > max_age_ms
                or (n > cfg.history_min_packets and age > keep_ms)
            ):
                del packets[order.popleft()]
            else:
                return

    def resend(self, seq: int, now_ms: float, avg_rtt_ms: float) -> int | None:
        """The size of ``seq``'s retransmission, or None: not stored, or resent less than
        ``5 + avg_rtt_ms`` ago (the resend guard). Marks it resent."""
        entry = self._packets.get(seq)
        if entry is None:
            return None
        if now_ms - entry[2] < self.config.rtx_guard_base_ms + avg_rtt_ms:
            return None
        entry[2] = now_ms
        return int(entry[0]) + self.config.rtx_overhead_bytes


class RtxLimiter:
    """Retransmissions within any ``rtx_window_ms`` stay under the target bitrate."""

    def __init__(self, config: WebRtcSenderConfig | None = None) -> None:
        self.config = config or WebRtcSenderConfig()
        self._sent: deque[tuple[float, int]] = deque()
        self._bytes = 0

    def allow(self, now_ms: float, size_bytes: int, rate_kbps: float) -> bool:
        """Whether a retransmission of ``size_bytes`` may go now (counted if so)."""
        window = self.config.rtx_window_ms
        while self._sent and now_ms - self._sent[0][0] >= window:
            self._bytes -= self._sent.popleft()[1]
        if (self._bytes + size_bytes) * BITS_PER_BYTE > rate_kbps * window:
            return False
        self._sent.append((now_ms, size_bytes))
        self._bytes += size_bytes
        return True


def answer_nack(
    history: PacketHistory,
    limiter: RtxLimiter,
    seqs: list[int],
    now_ms: float,
    avg_rtt_ms: float,
    rate_kbps: float,
) -> list[tuple[int, int]]:
    """The retransmissions (seq, size) a NACK for ``seqs`` makes; a refusal by the rate limiter
    aborts the rest of the NACK, as in libwebrtc."""
    out: list[tuple[int, int]] = []
    for seq in seqs:
        size = history.resend(seq, now_ms, avg_rtt_ms)
        if size is None:
            continue
        if not limiter.allow(now_ms, size, rate_kbps):
            break
        out.append((seq, size))
    return out


class KeyframeGate:
    """The encoder honours one keyframe request per ``keyframe_gap_ms``."""

    def __init__(self, config: WebRtcSenderConfig | None = None) -> None:
        self.config = config or WebRtcSenderConfig()
        self._last_ms = -math.inf

    def accept(self, now_ms: float) -> bool:
        if now_ms - self._last_ms < self.config.keyframe_gap_ms:
            return False
        self._last_ms = now_ms
        return True
