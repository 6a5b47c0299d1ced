"""The ``webrtc`` receiver's transport in the simulator: pacer, link, NACK/RTX and the receiver.

A discrete-event loop in simulated ms. Media packets and retransmissions share one pacer
(:class:`~artic_rl.sender.pacer.Pacer`, retransmissions first, as libwebrtc's pacer sends
retransmissions before new media) and one :class:`~artic_rl.net.Link` (its queue, drops and random
loss apply to both). The receiver is the shared :class:`~artic_rl.receiver.webrtc.WebRtcReceiver`;
its NACKs and PLIs reach the sender ``feedback_delay_ms`` later; the sender answers a NACK from its
:class:`~artic_rl.sender.rtx.PacketHistory` (resend guard) under the
:class:`~artic_rl.sender.rtx.RtxLimiter` at the target bitrate, and a PLI through the
:class:`~artic_rl.sender.rtx.KeyframeGate`. Ties at one instant go: arrivals, sender feedback,
RTT report, pacer, receiver timers and decoding.

The link is handed the pacer's packets in batches: a packet sent at ``s`` leaves the bottleneck no
earlier than ``s`` and than the last packet already accepted (``link.drain_ms``, FIFO), and arrives
``link.delay_ms`` or more after leaving, so the batch is flushed when simulated time reaches that
bound for its first packet (the link's arrivals are the same for any batching of non-decreasing
send times).

The receiver's RTT is reported every ``rtt_report_ms``: the one-way delay of the last packet that
arrived plus the feedback delay (research note, section 3: RTCP's estimate on this path); the
sender's resend guard uses the same value.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass

from artic_rl.net import Link
from artic_rl.receiver.config import WebRtcReceiverConfig
from artic_rl.receiver.webrtc import MediaPacket, ShownFrame, WebRtcReceiver
from artic_rl.sender.pacer import Pacer
from artic_rl.sender.rtx import (
    KeyframeGate,
    PacketHistory,
    RtxLimiter,
    WebRtcSenderConfig,
    answer_nack,
)

PACKET_MEMORY = 10_000  # media packets kept for retransmission lookup (libwebrtc's kMaxPacketAge)


@dataclass(frozen=True)
class SentPacket:
    """One transmission (media or RTX) in send order, for the sender's transport feedback."""

    send_ms: float
    arrival_ms: float  # NaN: dropped or lost
    size_bytes: int
    rtx: bool


class WebRtcTransport:
    """Sender, link and WebRTC receiver of one episode."""

    def __init__(
        self,
        link: Link,
        pacer: Pacer,
        feedback_delay_ms: float,
        receiver_config: WebRtcReceiverConfig | None = None,
        sender_config: WebRtcSenderConfig | None = None,
    ) -> None:
        self.link, self.pacer, self.feedback_ms = link, pacer, feedback_delay_ms
        self.rx = WebRtcReceiver(receiver_config)
        self.history = PacketHistory(sender_config)
        self.limiter = RtxLimiter(sender_config)
        self.gate = KeyframeGate(sender_config)
        self._media: deque[tuple[float, MediaPacket]] = deque()  # (ready, packet)
        self._rtx: deque[tuple[float, MediaPacket, int]] = deque()  # (ready, packet, size)
        self._in_flight: list[tuple[float, int, MediaPacket, float]] = []  # (arr, n, pkt, send)
        self._nack_at_sender: list[tuple[float, int, list[int]]] = []
        self._unsent: list[tuple[float, int, MediaPacket, bool]] = []  # (send, size, pkt, rtx)
        self._drain_ms = 0.0  # the link's drain time after the last flush
        self._packets: dict[int, MediaPacket] = {}
        self._n = 0
        self._seq = 0
        self._next_rtt_ms = 0.0
        self._last_owd_ms: float | None = None
        # outboxes for the timeline
        self.sent: list[SentPacket] = []
        self.plis_sent: list[float] = []  # when the receiver sent each PLI
        self.plis_at_sender: list[float] = []  # when each reached the sender (not yet gated)

    def enqueue_frame(
        self, frame_id: int, capture_ms: float, keyframe: bool, ready_ms: float, sizes: list[int]
    ) -> None:
        """A frame's packets, ready for the pacer at ``ready_ms``."""
        first = self._seq
        last = first + len(sizes) - 1
        for size in sizes:
            pkt = MediaPacket(self._seq, frame_id, first, last, capture_ms, keyframe, size)
            self._media.append((ready_ms, pkt))
            self._packets[self._seq] = pkt
            self._packets.pop(self._seq - PACKET_MEMORY, None)
            self._seq += 1

    def gate_keyframe_requests(self, until_ms: float) -> list[float]:
        """The PLIs that reached the sender before ``until_ms`` and that it honours."""
        due = [t for t in self.plis_at_sender if t < until_ms]
        self.plis_at_sender = [t for t in self.plis_at_sender if t >= until_ms]
        return [t for t in sorted(due) if self.gate.accept(t)]

    def run_until(self, t_ms: float, pacing_kbps: float, target_kbps: float) -> list[ShownFrame]:
        """Run every event before ``t_ms``; returns the frames whose fate became known."""
        rx = self.rx
        while True:
            arr = self._in_flight[0][0] if self._in_flight else math.inf
            fbk = self._nack_at_sender[0][0] if self._nack_at_sender else math.inf
            send, rtx = self._next_send()
            flush = self._flush_ms()
            t = min(flush, arr, fbk, self._next_rtt_ms, send, rx.next_event_ms())
            if t >= t_ms:
                break
            if flush == t:
                self._flush()
            elif arr == t:
                _, _, pkt, sent = heapq.heappop(self._in_flight)
                self._last_owd_ms = t - sent
                rx.on_packet(t, pkt)
            elif fbk == t:
                _, _, seqs = heapq.heappop(self._nack_at_sender)
                rtt = self._rtt_ms()
                for seq, size in answer_nack(self.history, self.limiter, seqs, t, rtt, target_kbps):
                    self._rtx.append((t, self._packets[seq], size))
            elif self._next_rtt_ms == t:
                if self._last_owd_ms is not None:
                    rx.on_rtt(t, self._rtt_ms())
                self._next_rtt_ms += rx.config.rtt_report_ms
            elif send == t:
                # a burst: the pacer's next packets, up to the next other event
                other = min(arr, fbk, self._next_rtt_ms, rx.next_event_ms(), t_ms)
                while True:
                    self._send(send, rtx, pacing_kbps)
                    send, rtx = self._next_send()
                    if send >= min(other, self._flush_ms()):
                        break
                continue
            else:
                rx.advance(t)
            if rx.nacks or rx.plis:
                self._drain(rx)
        self._flush()
        shown, rx.shown = rx.shown, []
        return shown

    def _flush_ms(self) -> float:
        """The earliest time the first packet not yet handed to the link can arrive."""
        if not self._unsent:
            return math.inf
        return max(self._unsent[0][0], self._drain_ms) + self.link.delay_ms

    def _flush(self) -> None:
        """Hand the packets sent so far to the link; their arrivals become events."""
        if not self._unsent:
            return
        unsent, self._unsent = self._unsent, []
        arrivals = self.link.send_list([u[0] for u in unsent], [u[1] for u in unsent])
        self._drain_ms = self.link.drain_ms
        for (t, size, pkt, rtx), arrival in zip(unsent, arrivals, strict=True):
            self.sent.append(SentPacket(t, arrival, size, rtx))
            if arrival == arrival:
                self._n += 1
                heapq.heappush(self._in_flight, (arrival, self._n, pkt, t))

    def _rtt_ms(self) -> float:
        owd = self._last_owd_ms if self._last_owd_ms is not None else 0.0
        return owd + self.feedback_ms

    def _next_send(self) -> tuple[float, bool]:
        """When the pacer sends next, and whether a retransmission (sent first when ready)."""
        r = self.pacer.next_ms(self._rtx[0][0]) if self._rtx else math.inf
        m = self.pacer.next_ms(self._media[0][0]) if self._media else math.inf
        return (r, True) if r <= m else (m, False)

    def _send(self, t: float, rtx: bool, pacing_kbps: float) -> None:
        if rtx:
            ready, pkt, size = self._rtx.popleft()
        else:
            ready, pkt = self._media.popleft()
            size = pkt.size_bytes
            self.history.put(pkt.seq, size, t, self._rtt_ms())
        self.pacer.departure_ms(ready)
        self.pacer.sent(size, pacing_kbps, t)
        self._unsent.append((t, size, pkt, rtx))

    def _drain(self, rx: WebRtcReceiver) -> None:
        for sent, seqs in rx.nacks:
            self._n += 1
            heapq.heappush(self._nack_at_sender, (sent + self.feedback_ms, self._n, seqs))
        for sent in rx.plis:
            self.plis_sent.append(sent)
            self.plis_at_sender.append(sent + self.feedback_ms)
        rx.nacks, rx.plis = [], []
