"""Bounded frame reassembly for the receiver: RTP packets in, complete H.264 access units out.

Pure and clock-injected (``now_ms`` arguments). Frames leave in sequence order; a complete frame
that is not the next one in sequence (or is the first one) waits ``reorder_wait_ms`` for the missing packets, then the
older incomplete frames are given up (no retransmission: a later frame is worth more than a late
one). Memory is bounded by ``max_frames`` and ``max_bytes`` (the oldest pending frames are evicted)
and incomplete frames older than ``max_age_ms`` expire. Malformed, foreign, duplicated, late and
oversized packets are counted in :class:`AssemblerStats` and dropped; nothing a peer sends can
raise out of :meth:`FrameAssembler.push`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from artic_rl.runtime.rtp import (
    H264_PAYLOAD_TYPE,
    RtpError,
    RtpPacket,
    SequenceUnwrapper,
    depacketize_h264,
    is_keyframe,
    join_annexb,
)


@dataclass(frozen=True)
class AssembledFrame:
    """One complete access unit. ``follows_previous``: no frame was lost since the last one out."""

    timestamp: int  # RTP timestamp (90 kHz)
    first_seq: int  # extended sequence numbers
    last_seq: int
    annexb: bytes
    keyframe: bool
    follows_previous: bool
    first_arrival_ms: float
    complete_ms: float  # when its last packet arrived
    packets: int


@dataclass
class AssemblerStats:
    """Counters of what the assembler saw and dropped."""

    packets: int = 0
    malformed: int = 0
    foreign: int = 0  # wrong SSRC or payload type
    duplicates: int = 0
    late: int = 0  # belonged to a frame already emitted or given up
    oversized: int = 0  # frame longer than max_packets_per_frame
    frames_out: int = 0
    frames_given_up: int = 0  # incomplete frames skipped, expired or evicted
    frames_broken: int = 0  # complete but not a valid RFC 6184 payload


@dataclass
class _Pending:
    first_seq: int
    timestamp: int
    first_arrival_ms: float
    packets: dict[int, RtpPacket] = field(default_factory=dict)
    size_bytes: int = 0
    marker_seq: int | None = None
    complete_ms: float | None = None

    def is_complete(self) -> bool:
        if self.marker_seq is None:
            return False
        return len(self.packets) == self.marker_seq - self.first_seq + 1


class FrameAssembler:
    """Reassembles frames from RTP datagrams of one stream (the first SSRC seen, unless given)."""

    def __init__(
        self,
        ssrc: int | None = None,
        payload_type: int = H264_PAYLOAD_TYPE,
        max_frames: int = 32,
        max_bytes: int = 4 << 20,
        max_packets_per_frame: int = 2048,
        reorder_wait_ms: float = 20.0,
        max_age_ms: float = 5000.0,
    ) -> None:
        self.ssrc = ssrc
        self.payload_type = payload_type
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self.max_packets_per_frame = max_packets_per_frame
        self.reorder_wait_ms = reorder_wait_ms
        self.max_age_ms = max_age_ms
        self.stats = AssemblerStats()
        self._unwrap = SequenceUnwrapper()
        self._pending: dict[int, _Pending] = {}
        self._bytes = 0
        self._last_out: int | None = None  # last extended sequence number emitted or given up
        self._gap = False  # a frame was lost since the last one out

    @property
    def pending_frames(self) -> int:
        return len(self._pending)

    @property
    def pending_bytes(self) -> int:
        return self._bytes

    def push(self, datagram: bytes, now_ms: float) -> list[AssembledFrame]:
        """Absorb one datagram; returns the frames that became ready (possibly none)."""
        self.stats.packets += 1
        try:
            pkt = RtpPacket.parse(datagram)
        except RtpError:
            self.stats.malformed += 1
            return self.poll(now_ms)
        return self.push_packet(pkt, now_ms)

    def push_packet(self, pkt: RtpPacket, now_ms: float) -> list[AssembledFrame]:
        """Like :meth:`push` for a packet already parsed (not counted again in ``stats.packets``)."""
        self._add(pkt, now_ms)
        return self.poll(now_ms)

    def poll(self, now_ms: float) -> list[AssembledFrame]:
        """Frames ready at ``now_ms`` (in sequence order); expires stale incomplete frames."""
        out: list[AssembledFrame] = []
        while self._pending:
            key = min(self._pending)
            frame = self._pending[key]
            in_order = self._last_out is not None and key == self._last_out + 1
            if frame.is_complete() and (in_order or self._waited(frame, now_ms)):
                self._emit(key, now_ms, out)
                continue
            ready = [
                k
                for k, f in self._pending.items()
                if f.complete_ms is not None and self._waited(f, now_ms)
            ]
            if ready:
                self._give_up_before(min(ready))
                continue
            if now_ms - frame.first_arrival_ms > self.max_age_ms:
                self._give_up(key)
                continue
            break
        return out

    def _waited(self, frame: _Pending, now_ms: float) -> bool:
        return frame.complete_ms is not None and now_ms - frame.complete_ms >= self.reorder_wait_ms

    def _add(self, pkt: RtpPacket, now_ms: float) -> None:
        if self.ssrc is None:
            self.ssrc = pkt.ssrc
        if pkt.ssrc != self.ssrc or pkt.payload_type != self.payload_type:
            self.stats.foreign += 1
            return
        if pkt.frame_start_seq is None or not pkt.payload:
            self.stats.malformed += 1
            return
        offset = (pkt.sequence - pkt.frame_start_seq) & 0xFFFF
        if offset >= self.max_packets_per_frame:
            self.stats.oversized += 1
            return
        ext = self._unwrap.unwrap(pkt.sequence)
        first = ext - offset
        if self._last_out is not None and first <= self._last_out:
            self.stats.late += 1
            return
        frame = self._pending.get(first)
        if frame is None:
            frame = self._pending[first] = _Pending(first, pkt.timestamp, now_ms)
        if pkt.timestamp != frame.timestamp:
            self.stats.malformed += 1
            return
        if ext in frame.packets or (frame.marker_seq is not None and ext > frame.marker_seq):
            self.stats.duplicates += ext in frame.packets
            self.stats.malformed += ext not in frame.packets
            return
        if pkt.marker:
            if any(s > ext for s in frame.packets):
                self.stats.malformed += 1
                return
            frame.marker_seq = ext
        frame.packets[ext] = pkt
        frame.size_bytes += len(pkt.payload)
        self._bytes += len(pkt.payload)
        if frame.is_complete():
            frame.complete_ms = now_ms
        self._enforce_bounds()

    def _enforce_bounds(self) -> None:
        while self._pending and (
            len(self._pending) > self.max_frames or self._bytes > self.max_bytes
        ):
            self._give_up(min(self._pending))

    def _emit(self, key: int, now_ms: float, out: list[AssembledFrame]) -> None:
        frame = self._drop(key)
        follows = not self._gap and (self._last_out is None or key == self._last_out + 1)
        self._last_out = max(key if self._last_out is None else self._last_out, max(frame.packets))
        try:
            nals = depacketize_h264(frame.packets[s].payload for s in sorted(frame.packets))
        except RtpError:
            self.stats.frames_broken += 1
            self._gap = True
            return
        self._gap = False
        self.stats.frames_out += 1
        out.append(
            AssembledFrame(
                timestamp=frame.timestamp,
                first_seq=key,
                last_seq=max(frame.packets),
                annexb=join_annexb(nals),
                keyframe=is_keyframe(nals),
                follows_previous=follows,
                first_arrival_ms=frame.first_arrival_ms,
                complete_ms=frame.complete_ms if frame.complete_ms is not None else now_ms,
                packets=len(frame.packets),
            )
        )

    def _give_up_before(self, key: int) -> None:
        for k in sorted(k for k in self._pending if k < key):
            self._give_up(k)

    def _give_up(self, key: int) -> None:
        frame = self._drop(key)
        self.stats.frames_given_up += 1
        self._gap = True
        last = max(frame.packets, default=key)
        self._last_out = last if self._last_out is None else max(self._last_out, last)

    def _drop(self, key: int) -> _Pending:
        frame = self._pending.pop(key)
        self._bytes -= frame.size_bytes
        return frame
