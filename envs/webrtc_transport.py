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

This is the reference; the compiled backend runs the same loop as one numba kernel
(:mod:`~artic_rl.envs.webrtc_compiled`, the same numbers bit for bit).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from typing import NamedTuple

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


class SentPacket(NamedTuple):
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
        media, packets = self._media, self._packets
        for seq, size in enumerate(sizes, first):
            pkt = MediaPacket(seq, frame_id, first, last, capture_ms, keyframe, size)
            media.append((ready_ms, pkt))
            packets[seq] = pkt
            packets.pop(seq - PACKET_MEMORY, None)
        self._seq = last + 1

    def take_sent(self) -> tuple[list[float], list[float], list[int], int]:
        """The transmissions since the last call, in send order: send times, arrivals (NaN:
        dropped or lost) and sizes, and the bytes of the retransmissions among them."""
        sent, self.sent = self.sent, []
        return (
            [p.send_ms for p in sent],
            [p.arrival_ms for p in sent],
            [p.size_bytes for p in sent],
            sum(p.size_bytes for p in sent if p.rtx),
        )

    def gate_keyframe_requests(self, until_ms: float) -> list[float]:
        """The PLIs that reached the sender before ``until_ms`` and that it honours."""
        due = [t for t in self.plis_at_sender if t < until_ms]
        self.plis_at_sender = [t for t in self.plis_at_sender if t >= until_ms]
        return [t for t in sorted(due) if self.gate.accept(t)]

    def run_until(self, t_ms: float, pacing_kbps: float, target_kbps: float) -> list[ShownFrame]:
        """Run every event before ``t_ms``; returns the frames whose fate became known.

        Each source's next event time is kept and recomputed only when an event changes it: the
        pacer's after a send or a NACK's retransmissions, the link's flush after a send or a flush,
        the receiver's after it handles a packet or a timer.
        """
        rx, in_flight, at_sender = self.rx, self._in_flight, self._nack_at_sender
        inf = math.inf
        send, rtx = self._next_send()
        flush = self._flush_ms()
        rx_next = rx.next_event_ms()
        while True:
            arr = in_flight[0][0] if in_flight else inf
            fbk = at_sender[0][0] if at_sender else inf
            rtt_at = self._next_rtt_ms
            t = min(flush, arr, fbk, rtt_at, send, rx_next)
            if t >= t_ms:
                break
            if flush == t:
                self._flush()
                flush = inf
                continue
            if arr == t:  # arrivals back to back while each is the next event
                while True:
                    _, _, pkt, sent = heapq.heappop(in_flight)
                    self._last_owd_ms = t - sent
                    rx.on_packet(t, pkt)
                    if rx.nacks or rx.plis:
                        self._drain(rx)
                        fbk = at_sender[0][0] if at_sender else inf
                    rx_next = rx.next_event_ms()
                    if not in_flight:
                        break
                    t = in_flight[0][0]
                    if t >= flush or t >= t_ms or t > min(fbk, rtt_at, send, rx_next):
                        break
                continue
            if fbk == t:
                _, _, seqs = heapq.heappop(at_sender)
                rtt = self._rtt_ms()
                answer = answer_nack(self.history, self.limiter, seqs, t, rtt, target_kbps)
                if answer:
                    packets = self._packets
                    self._rtx.extend((t, packets[seq], size) for seq, size in answer)
                    send, rtx = self._next_send()
                continue
            if rtt_at == t:
                if self._last_owd_ms is not None:
                    rx.on_rtt(t, self._rtt_ms())
                self._next_rtt_ms += rx.config.rtt_report_ms
                continue
            if send == t:
                if flush == inf:  # the burst's first packet will be the first not handed over
                    flush = max(send, self._drain_ms) + self.link.delay_ms
                # the sender sees the receiver's timers only through their NACKs, F ms later
                until = min(arr, fbk, rx_next + self.feedback_ms, t_ms, flush)
                send, rtx = self._burst(send, rtx, until, pacing_kbps)
                continue
            rx.advance(t)
            rx_next = rx.next_event_ms()
            if rx.nacks or rx.plis:
                self._drain(rx)
        self._flush()
        shown, rx.shown = rx.shown, []
        return shown

    def run_until_fates(
        self, t_ms: float, pacing_kbps: float, target_kbps: float
    ) -> list[tuple[int, float, float, float, float]]:
        """:meth:`run_until`, each frame as (frame_id, sink_ms, retransmission_wait_ms, hold_ms,
        decided_ms): what the timeline records."""
        return [
            (s.frame_id, s.sink_ms, s.retransmission_wait_ms, s.hold_ms, s.decided_ms)
            for s in self.run_until(t_ms, pacing_kbps, target_kbps)
        ]

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
        out, in_flight, n = self.sent, self._in_flight, self._n
        for (t, size, pkt, rtx), arrival in zip(unsent, arrivals, strict=True):
            out.append(SentPacket(t, arrival, size, rtx))
            if arrival == arrival:
                n += 1
                heapq.heappush(in_flight, (arrival, n, pkt, t))
        self._n = n

    def _rtt_ms(self) -> float:
        owd = self._last_owd_ms if self._last_owd_ms is not None else 0.0
        return owd + self.feedback_ms

    def _next_send(self) -> tuple[float, bool]:
        """When the pacer sends next, and whether a retransmission (sent first when ready)."""
        r = self.pacer.next_ms(self._rtx[0][0]) if self._rtx else math.inf
        m = self.pacer.next_ms(self._media[0][0]) if self._media else math.inf
        return (r, True) if r <= m else (m, False)

    def _burst(
        self, send: float, rtx: bool, until_ms: float, pacing_kbps: float
    ) -> tuple[float, bool]:
        """The pacer's packets from ``send`` (the next one, a retransmission if ``rtx``) while
        they leave before ``until_ms``; returns the next send after them.

        ``until_ms`` is the next event that can change what the sender does: an arrival (the RTT
        the history uses), a NACK at the sender, a flush, the interval's end, or a receiver timer
        ``feedback_delay_ms`` on (the earliest its NACK reaches the sender).
        """
        pacer, media, resends, unsent = self.pacer, self._media, self._rtx, self._unsent
        put, rtt_ms = self.history.put, self._rtt_ms()  # no arrival before until_ms
        while True:
            if rtx:
                ready, pkt, size = resends.popleft()
            else:
                ready, pkt = media.popleft()
                size = pkt.size_bytes
                put(pkt.seq, size, send, rtt_ms)
            pacer.departure_ms(ready)
            pacer.sent(size, pacing_kbps, send)
            unsent.append((send, size, pkt, rtx))
            if resends:
                send, rtx = self._next_send()
            elif media:  # no retransmission waiting: the next media packet (as _next_send)
                send, rtx = pacer.next_ms(media[0][0]), False
            else:
                return math.inf, False
            if send >= until_ms:
                return send, rtx

    def _drain(self, rx: WebRtcReceiver) -> None:
        for sent, seqs in rx.nacks:
            self._n += 1
            heapq.heappush(self._nack_at_sender, (sent + self.feedback_ms, self._n, seqs))
        for sent in rx.plis:
            self.plis_sent.append(sent)
            self.plis_at_sender.append(sent + self.feedback_ms)
        rx.nacks, rx.plis = [], []
