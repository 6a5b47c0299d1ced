"""Both ends of the feedback channel, pure and clock-injected.

Receiver: :class:`ReceiverFeedback` records packet arrivals and frame fates and turns them into
RTCP-style messages (:mod:`artic_rl.runtime.rtcp`) once per feedback interval.

Sender: :class:`FeedbackCollector` keeps what it sent (sequence -> send time and size, RTP timestamp
-> frame id and capture time, bounded), absorbs the decoded messages and, once per control interval,
yields the very :class:`artic_rl.sender.feedback.FeedbackReport` the simulator produces, so that
:class:`artic_rl.sender.observation.ObservationBuilder` and every agent see the same thing in both.

Retransmissions (RFC 4588 RTX, ``webrtc`` receiver) have their own SSRC and sequence numbers: the
receiver reports their arrivals in a second :class:`TransportFeedback` (its ``ssrc``), and the
collector numbers every transmission, media or RTX, in send order, as the simulator's reports do
(transport-wide sequence numbers, as transport-cc has).
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np

from artic_rl.runtime.rtcp import (
    MAX_TRANSPORT_COUNT,
    CloudFeedback,
    FrameFeedback,
    Message,
    PictureLossIndication,
    TransportFeedback,
)
from artic_rl.runtime.rtp import SequenceUnwrapper
from artic_rl.sender.feedback import FeedbackReport, FrameReports, PacketReports


class ReceiverFeedback:
    """Receiver side: arrivals and frame fates in, feedback messages out (bounded)."""

    def __init__(
        self, max_packets: int = MAX_TRANSPORT_COUNT, max_frames: int = 1024, ssrc: int = 0
    ) -> None:
        self.ssrc = ssrc  # the stream whose arrivals this reports (0: the datagram's media SSRC)
        self.max_packets = max_packets
        self.max_frames = max_frames
        self._unwrap = SequenceUnwrapper()
        self._arrivals: dict[int, float] = {}
        self._next: int | None = None  # first extended sequence number not yet reported
        self._frames: list[tuple[int, float]] = []
        self._pli = False
        self.cloud: CloudFeedback | None = None

    def on_packet(self, sequence: int, arrival_ms: float) -> None:
        """A packet with RTP sequence number ``sequence`` arrived (duplicates and late ones ignored)."""
        ext = self._unwrap.unwrap(sequence)
        if self._next is None:
            self._next = ext
        if ext >= self._next and ext not in self._arrivals:
            self._arrivals[ext] = arrival_ms
            if len(self._arrivals) > self.max_packets:  # bounded: report the oldest ones early
                del self._arrivals[min(self._arrivals)]

    def on_frame(self, timestamp: int, decodable_ms: float) -> None:
        """A frame's fate: when it became decodable (NaN: it arrived but could not be decoded)."""
        if len(self._frames) < self.max_frames:
            self._frames.append((timestamp, decodable_ms))

    def request_keyframe(self) -> None:
        self._pli = True

    def messages(self) -> list[Message]:
        """Everything learned since the last call, as feedback messages (drains the state)."""
        out: list[Message] = []
        if self._arrivals and self._next is not None:
            first = max(self._next, max(self._arrivals) - MAX_TRANSPORT_COUNT + 1)
            last = max(self._arrivals)
            arrivals = tuple(self._arrivals.get(s, math.nan) for s in range(first, last + 1))
            out.append(TransportFeedback(first & 0xFFFF, arrivals, self.ssrc))
            self._arrivals.clear()
            self._next = last + 1
        if self._frames:
            ts, t = zip(*self._frames, strict=True)
            out.append(FrameFeedback(tuple(ts), tuple(t)))
            self._frames.clear()
        if self._pli:
            out.append(PictureLossIndication())
            self._pli = False
        if self.cloud is not None:
            out.append(self.cloud)
        return out


class FeedbackCollector:
    """Sender side: its own send history plus decoded feedback -> one :class:`FeedbackReport` per interval."""

    def __init__(self, interval_ms: float, max_history: int = 30_000, rtx_ssrc: int = -1) -> None:
        self.interval_ms = interval_ms
        self.max_history = max_history
        self.rtx_ssrc = rtx_ssrc  # transport feedback about this SSRC is about retransmissions
        self._unwrap = SequenceUnwrapper()
        self._rtx_unwrap = SequenceUnwrapper()
        # sequence -> (send time, size, transmission number in send order)
        self._sent: OrderedDict[int, tuple[float, int, int]] = OrderedDict()
        self._rtx_sent: OrderedDict[int, tuple[float, int, int]] = OrderedDict()
        self._n = 0
        self.last_owd_ms: float | None = None  # one-way delay of the newest packet reported
        self._frames: OrderedDict[int, tuple[int, float]] = OrderedDict()  # ts -> id, capture
        self._sent_bytes = 0
        self._packets: list[tuple[int, float, float, int]] = []
        self._frame_rows: list[tuple[int, float, float]] = []
        self._pli = False
        self._cloud = CloudFeedback()
        self._newest_capture_ms = math.nan  # the newest frame handed to the pacer

    @property
    def cloud(self) -> CloudFeedback:
        """The latest cloud message (region, confidence)."""
        return self._cloud

    def on_packet_sent(self, sequence: int, send_ms: float, size_bytes: int) -> None:
        ext = self._unwrap.unwrap(sequence)
        if not self._sent and not self._n:
            self._n = ext  # transmissions are numbered from the first media sequence number
        self._sent[ext] = (send_ms, size_bytes, self._n)
        self._n += 1
        self._sent_bytes += size_bytes
        while len(self._sent) > self.max_history:
            self._sent.popitem(last=False)

    def on_rtx_sent(self, rtx_sequence: int, send_ms: float, size_bytes: int) -> None:
        """A retransmission (RTX sequence number) left."""
        self._rtx_sent[self._rtx_unwrap.unwrap(rtx_sequence)] = (send_ms, size_bytes, self._n)
        self._n += 1
        self._sent_bytes += size_bytes
        while len(self._rtx_sent) > self.max_history:
            self._rtx_sent.popitem(last=False)

    def on_frame_sent(self, frame_id: int, timestamp: int, capture_ms: float) -> None:
        self._frames[timestamp] = (frame_id, capture_ms)
        self._newest_capture_ms = capture_ms
        while len(self._frames) > self.max_history:
            self._frames.popitem(last=False)

    def on_messages(self, messages: list[Message]) -> None:
        for msg in messages:
            if isinstance(msg, TransportFeedback):
                self._on_transport(msg)
            elif isinstance(msg, FrameFeedback):
                self._on_frames(msg)
            elif isinstance(msg, PictureLossIndication):
                self._pli = True
            elif isinstance(msg, CloudFeedback):
                self._cloud = msg

    def _on_transport(self, msg: TransportFeedback) -> None:
        rtx = msg.ssrc == self.rtx_ssrc
        table = self._rtx_sent if rtx else self._sent
        base = (self._rtx_unwrap if rtx else self._unwrap).peek(msg.base_seq)
        newest = -1
        for k, arrival in enumerate(msg.arrival_ms):
            sent = table.pop(base + k, None)
            if sent is not None:
                self._packets.append((sent[2], sent[0], arrival, sent[1]))
                if arrival == arrival and sent[2] > newest:
                    newest, self.last_owd_ms = sent[2], arrival - sent[0]

    def _on_frames(self, msg: FrameFeedback) -> None:
        for ts, t in zip(msg.timestamps, msg.decodable_ms, strict=True):
            if ts not in self._frames:
                continue
            # frames sent before this one and never reported were lost: never decodable
            while self._frames:
                older_ts, (fid, capture) = next(iter(self._frames.items()))
                self._frames.popitem(last=False)
                if older_ts == ts:
                    self._frame_rows.append((fid, capture, t))
                    break
                self._frame_rows.append((fid, capture, math.nan))

    def report(self, now_ms: float) -> FeedbackReport:
        """The interval's report ending at ``now_ms``; drains the state."""
        rows = sorted(self._packets)
        packets = PacketReports(
            seq=np.array([r[0] for r in rows], dtype=np.int64),
            send_ms=np.array([r[1] for r in rows], dtype=np.float64),
            arrival_ms=np.array([r[2] for r in rows], dtype=np.float64),
            size_bytes=np.array([r[3] for r in rows], dtype=np.int64),
        )
        frames = FrameReports(
            frame_id=np.array([r[0] for r in self._frame_rows], dtype=np.int64),
            capture_ms=np.array([r[1] for r in self._frame_rows], dtype=np.float64),
            decodable_ms=np.array([r[2] for r in self._frame_rows], dtype=np.float64),
        )
        cloud = self._cloud
        report = FeedbackReport(
            now_ms=now_ms,
            interval_ms=self.interval_ms,
            sent_bytes=self._sent_bytes,
            packets=packets,
            frames=frames,
            keyframe_request=self._pli,
            question_active=cloud.question_active,
            roi_known=cloud.roi_known,
            roi_area=cloud.roi_area if cloud.roi_known else 0.0,
            confidence=None if cloud.confidence is None else np.asarray(cloud.confidence),
            # as of the cloud's message: the question is younger by the feedback path's delay
            question_asked_ms=(
                now_ms - cloud.question_age_ms
                if cloud.question_active and cloud.question_age_ms is not None
                else math.nan
            ),
            sent_capture_ms=self._newest_capture_ms,
        )
        self._packets, self._frame_rows, self._sent_bytes, self._pli = [], [], 0, False
        return report
