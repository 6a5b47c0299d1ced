"""The streamer's sender: video file in real time -> policy -> encoder -> RTP -> paced UDP.

One thread. Every capture tick it takes the next source frame, every control interval it turns the
receiver's feedback into a :class:`~artic_rl.sender.feedback.FeedbackReport`
(:class:`~artic_rl.runtime.feedback.FeedbackCollector`), builds the observation with the
simulator's :class:`~artic_rl.sender.observation.ObservationBuilder`, asks the agent, and applies
bitrate, frame rate and ROI level live to the project's encoder. Encoded frames are packetised
(RFC 6184) and paced at ``pacing_factor`` x the target bitrate by the simulator's own
:class:`~artic_rl.sender.pacer.Pacer` (whose catch-up credit absorbs this thread's late wake-ups).

A keyframe request (PLI) is honoured at the next captured frame, as the simulator's sender does;
with the ``webrtc`` receiver through the shared :class:`~artic_rl.sender.rtx.KeyframeGate` (one
request per 300 ms).

**Retransmission** (``receiver="webrtc"``): RFC 4588 RTX, not a resend on the media SSRC. The
simulator models a retransmission as the original packet plus ``rtx_overhead_bytes`` (2: the OSN)
on the same link and counts it as a transmission of its own in the transport feedback; RTX is that
packet on the wire (its own SSRC ``ssrc + 1``, payload type 97, its own sequence numbers, the
original sequence number in the payload's first two bytes), and it is what libwebrtc sends when RTX
is negotiated (always, in browsers). A resend on the media SSRC would repeat a sequence number the
receiver already counted, so the transport feedback could not tell the two transmissions apart.
The sender keeps the shared :class:`~artic_rl.sender.rtx.PacketHistory` of every media packet it
sent and answers a Generic NACK with :func:`~artic_rl.sender.rtx.answer_nack` (resend guard
``5 + RTT`` ms, the :class:`~artic_rl.sender.rtx.RtxLimiter` at the target bitrate); the
retransmissions go through the same pacer and link as media, ahead of it (libwebrtc's pacer sends
retransmissions before new media). RTCP (the DLRR that answers the receiver's RTT probe) is not
paced. The sender's RTT, for the resend guard and the history, is the simulator's: the one-way
delay of the newest packet the transport feedback reported plus the feedback path's delay (the
last RRTR's age on arrival; sender and receiver share one clock).
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from artic_rl.agents.base import Agent
from artic_rl.control.gcc import observation_estimator
from artic_rl.runtime import rtcp
from artic_rl.runtime.feedback import FeedbackCollector
from artic_rl.runtime.relay import Clock
from artic_rl.runtime.rtp import H264Packetizer, RtpPacket, SequenceUnwrapper, rtx_packet
from artic_rl.sender.actions import SenderAction
from artic_rl.sender.observation import ObservationBuilder
from artic_rl.sender.pacer import Pacer
from artic_rl.sender.rtx import (
    KeyframeGate,
    PacketHistory,
    RtxLimiter,
    WebRtcSenderConfig,
    answer_nack,
)
from artic_rl.video.playback import PINGPONG_MAX_FRAMES, played_index

MS_PER_S = 1000.0
MAX_PACER_PACKETS = 2000  # ~2.4 MB: beyond it the oldest unsent packets are dropped
PACKET_MEMORY = 10_000  # sent media packets kept for retransmission (libwebrtc's kMaxPacketAge)


def video_frames(
    path: str | Path,
    width: int,
    height: int,
    loop: bool = True,
    pingpong_max_frames: int = PINGPONG_MAX_FRAMES,
) -> Iterator[np.ndarray]:
    """yuv420p frames (``(height * 3 // 2, width)`` uint8) of a video file, resized, forever when
    ``loop``. A clip of at most ``pingpong_max_frames`` frames is held in memory and played forwards
    then backwards (:func:`artic_rl.video.playback.played_index`); a longer file restarts from its
    start.
    A ``/dev/...`` path is opened as a V4L2 camera. Raises ``FileNotFoundError`` / ``ValueError``
    for a missing or empty file."""
    if str(path).startswith("/dev/"):  # a camera (V4L2): live, never looped
        yield from _decode(path, width, height, fmt="v4l2")
        return
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such video file")
    head: list[np.ndarray] = []
    first_pass = _decode(path, width, height)
    for frame in first_pass:
        head.append(frame)
        yield frame
        if len(head) > pingpong_max_frames:
            break
    if not head:
        raise ValueError(f"{path}: no decodable video frames")
    if len(head) <= pingpong_max_frames:
        if not loop:
            return
        k, n = len(head), len(head)
        while True:
            yield head[played_index(k, n)]
            k += 1
    head.clear()
    yield from first_pass
    while loop:
        yield from _decode(path, width, height)


def _decode(
    path: str | Path, width: int, height: int, fmt: str | None = None
) -> Iterator[np.ndarray]:
    import av

    with av.open(str(path), format=fmt) as container:
        for frame in container.decode(video=0):
            yield frame.reformat(width=width, height=height, format="yuv420p").to_ndarray()


@dataclass
class SenderLog:
    """What the sender did, for the report (bounded by the run's length)."""

    frames_captured: int = 0
    frames_encoded: int = 0
    keyframes: int = 0
    reopens: int = 0  # encoder re-opens (each one an IDR the simulator never sends)
    packets_sent: int = 0
    bytes_sent: int = 0
    late_ticks: int = 0  # capture ticks handled more than one frame interval late
    busy_s: float = 0.0  # wall time spent working (not sleeping)
    feedback_errors: int = 0
    pacer_drops: int = 0
    keyframe_requests: int = 0  # PLIs received
    keyframe_requests_honoured: int = 0  # ... that made the next frame a keyframe (the gate)
    nacked_packets: int = 0  # sequence numbers NACKed (webrtc)
    rtx_packets: int = 0  # retransmissions sent
    rtx_bytes: int = 0
    decisions: list[dict[str, float]] = field(default_factory=list)
    observations: list[list[float]] = field(
        default_factory=list
    )  # the policy's input, per decision


class Sender:
    """Streams ``frames`` through ``agent``'s decisions to ``media_addr``; feedback on ``sock``.

    Args:
        agent: any agent (``predict``), ONNX policy or heuristic.
        encoder: the project's :class:`artic_rl.video.encoder.Encoder` (duck-typed: ``set_bitrate``,
            ``set_fps``, ``set_roi``, ``request_keyframe``, ``encode``).
        frames: source frames in capture order at ``capture_fps``.
        initial_action: the "previous action" the first decision (at time 0) sees; default: the
            simulator's reset state (the lowest bitrate tier, uniform, the full frame rate).
        region_of: maps the cloud's ROI box (frame fractions) to an encoder region, None = no box.
    """

    def __init__(
        self,
        agent: Agent,
        encoder: object,
        frames: Iterator[np.ndarray],
        media_addr: tuple[str, int],
        clock: Clock,
        interval_ms: float = 200.0,
        capture_fps: float = 30.0,
        pacing_factor: float = 2.5,
        initial_action: SenderAction | None = None,
        region_of: object = None,
        host: str = "127.0.0.1",
        ssrc: int = 0x4152_5443,
        receiver: str = "artic",
        sender_config: WebRtcSenderConfig | None = None,
    ) -> None:
        self.agent, self.encoder, self.frames = agent, encoder, frames
        self.media_addr, self.clock = media_addr, clock
        self.interval_ms, self.capture_fps, self.pacing_factor = (
            interval_ms,
            capture_fps,
            pacing_factor,
        )
        self.action = initial_action or SenderAction(agent.codec.bitrates_kbps[0], 0, capture_fps)
        self.region_of = region_of
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.setblocking(False)
        self.receiver = receiver
        self.webrtc = receiver == "webrtc"
        self.ssrc, self.rtx_ssrc = ssrc, (ssrc + 1) & 0xFFFFFFFF
        self.packetizer = H264Packetizer(ssrc, frame_descriptor=self.webrtc)
        self.collector = FeedbackCollector(interval_ms, rtx_ssrc=self.rtx_ssrc)
        self.builder = ObservationBuilder(interval_ms, observation_estimator())
        self.log = SenderLog()
        # (datagram, seq, ready_ms, packet) awaiting the pacer; retransmissions: (packet, ready_ms)
        self._queue: deque[tuple[bytes, int, float, RtpPacket]] = deque()
        self._rtx_queue: deque[tuple[RtpPacket, float]] = deque()
        self.pacer = Pacer()
        self._last_key_ms = 0.0
        self._frame_id = 0
        self._key_pending = False  # a keyframe request to honour at the next capture
        cfg = sender_config or WebRtcSenderConfig()
        self.history = PacketHistory(cfg)
        self.limiter = RtxLimiter(cfg)
        self.gate = KeyframeGate(cfg)
        self._unwrap = SequenceUnwrapper()
        self._packets: dict[int, RtpPacket] = {}  # extended sequence -> sent media packet
        self._rtx_seq = 0
        self._feedback_delay_ms = 0.0  # the last RRTR's age on arrival
        self._selector: selectors.BaseSelector | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()[:2]
        return str(host), int(port)

    def run(self, stop: threading.Event, duration_ms: float) -> None:
        """Stream until ``stop`` is set or ``duration_ms`` of capture time has passed."""
        frame_ms = MS_PER_S / self.capture_fps
        start = self.clock.now_ms()
        next_tick, next_decision = start, start + self.interval_ms
        self._last_key_ms = start  # the simulator counts from the session's start
        self._decide(start)  # the first decision at time 0, from the simulator's reset state
        while not stop.is_set() and next_tick - start < duration_ms:
            self._wait(min(next_tick, self._next_due()), stop)
            t0 = time.perf_counter()
            now = self.clock.now_ms()
            self._read_feedback()
            if now >= next_decision:
                self._decide(now)
                next_decision += self.interval_ms
            if now >= next_tick:
                if now - next_tick > frame_ms:
                    self.log.late_ticks += 1
                self._capture(next_tick, now)
                next_tick += frame_ms
            self._pace(self.clock.now_ms())
            self.log.busy_s += time.perf_counter() - t0
        if self._selector is not None:
            self._selector.close()
        self.sock.close()

    def _next_due(self) -> float:
        return self._next_send()[0]

    def _next_send(self) -> tuple[float, bool]:
        """When the pacer sends next, and whether a retransmission (first when both are due)."""
        r = self.pacer.next_ms(self._rtx_queue[0][1]) if self._rtx_queue else float("inf")
        m = self.pacer.next_ms(self._queue[0][2]) if self._queue else float("inf")
        return (r, True) if r <= m else (m, False)

    def rtt_ms(self) -> float:
        """The sender's RTT: the newest reported one-way delay plus the feedback path's delay."""
        owd = self.collector.last_owd_ms
        return (0.0 if owd is None else owd) + self._feedback_delay_ms

    def _wait(self, t_ms: float, stop: threading.Event) -> None:
        """Sleep until ``t_ms`` or until feedback arrives (answered at once, as RTCP is)."""
        delay_s = (t_ms - self.clock.now_ms()) / MS_PER_S
        if delay_s > 0 and not stop.is_set():
            if self._selector is None:
                self._selector = selectors.DefaultSelector()
                self._selector.register(self.sock, selectors.EVENT_READ)
            self._selector.select(min(delay_s, 0.05))

    def _read_feedback(self) -> None:
        while True:
            try:
                data = self.sock.recv(65_535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue
            try:
                messages = rtcp.decode(data)
            except rtcp.RtcpError:
                self.log.feedback_errors += 1
                continue
            self.collector.on_messages(messages)
            self._on_control(messages, self.clock.now_ms())

    def _on_control(self, messages: list[rtcp.Message], now: float) -> None:
        """Keyframe requests, NACKs and RTT probes, answered at once."""
        for msg in messages:
            if isinstance(msg, rtcp.PictureLossIndication):
                self.log.keyframe_requests += 1
                if not self.webrtc or self.gate.accept(now):
                    self._key_pending = True
                    self.log.keyframe_requests_honoured += 1
            elif isinstance(msg, rtcp.GenericNack) and self.webrtc:
                self._on_nack(msg.seqs, now)
            elif isinstance(msg, rtcp.ReceiverReferenceTime):
                self._feedback_delay_ms = max(now - msg.time_ms, 0.0)
                reply = rtcp.DelaySinceLastRr(msg.time_ms, self.clock.now_ms() - now)
                with contextlib.suppress(OSError):
                    self.sock.sendto(rtcp.encode([reply], self.ssrc, self.ssrc), self.media_addr)

    def _on_nack(self, seqs: tuple[int, ...], now: float) -> None:
        """Queue the retransmissions a NACK makes (shared history, resend guard, rate limit)."""
        ext = sorted({self._unwrap.peek(s) for s in seqs})
        self.log.nacked_packets += len(ext)
        answered = answer_nack(
            self.history, self.limiter, ext, now, self.rtt_ms(), self.action.rate_kbps
        )
        for seq, _ in answered:
            self._rtx_queue.append((self._packets[seq], now))

    def _decide(self, now: float) -> None:
        report = self.collector.report(now)
        obs = self.builder.update(report, self.action, now - self._last_key_ms)
        self.log.observations.append([float(v) for v in obs])
        self.agent.observe(report)
        action, _ = self.agent.predict(obs, deterministic=True)
        self._apply(self.agent.codec.decode(action), now)
        self.log.decisions.append(
            {
                "now_ms": now,
                "rate_kbps": self.action.rate_kbps,
                "roi_level": float(self.action.roi_level),
                "fps": self.action.fps,
                "sent_kbps": report.sent_bytes * 8.0 / self.interval_ms,
                "keyframe_request": float(report.keyframe_request),
            }
        )

    def _apply(self, action: SenderAction, now: float) -> None:
        self.action = action
        enc = self.encoder
        enc.set_bitrate(action.rate_kbps)  # type: ignore[attr-defined]
        enc.set_fps(min(action.fps, self.capture_fps))  # type: ignore[attr-defined]
        region = None
        cloud = self.collector.cloud
        if callable(self.region_of) and cloud.roi_known and cloud.roi_box is not None:
            region = self.region_of(cloud.roi_box)
        enc.set_roi(action.roi_level if region is not None else 0, region)  # type: ignore[attr-defined]

    def _capture(self, capture_ms: float, now: float) -> None:
        frame = next(self.frames)
        self.log.frames_captured += 1
        if self._key_pending:
            self.encoder.request_keyframe()  # type: ignore[attr-defined]
            self._key_pending = False
        out = self.encoder.encode(frame, capture_ms)  # type: ignore[attr-defined]
        if out is None or not out.data:
            return
        self.log.frames_encoded += 1
        self.log.reopens += int(out.record.reopened)
        if out.record.keyframe:
            self.log.keyframes += 1
            self._last_key_ms = capture_ms
        packets = self.packetizer.packetize(out.data, capture_ms)
        self.collector.on_frame_sent(self._frame_id, packets[0].timestamp, capture_ms)
        self._frame_id += 1
        self._queue.extend((p.pack(), p.sequence, now, p) for p in packets)
        while (
            len(self._queue) > MAX_PACER_PACKETS
        ):  # bounded: the receiver sees a loss, asks for a key
            self._queue.popleft()
            self.log.pacer_drops += 1

    def _pace(self, now: float) -> None:
        rate_kbps = self.pacing_factor * self.action.rate_kbps
        while True:
            due, rtx = self._next_send()
            if due > now:
                return
            if rtx:
                pkt, ready = self._rtx_queue.popleft()
                self._rtx_seq += 1
                data = rtx_packet(pkt, self._rtx_seq, self.rtx_ssrc).pack()
            else:
                data, seq, ready, pkt = self._queue.popleft()
            self.pacer.departure_ms(ready)
            with contextlib.suppress(OSError):
                self.sock.sendto(data, self.media_addr)
            send_ms = self.clock.now_ms()
            if rtx:
                self.collector.on_rtx_sent(self._rtx_seq & 0xFFFF, send_ms, len(data))
                self.log.rtx_packets += 1
                self.log.rtx_bytes += len(data)
            else:
                self.collector.on_packet_sent(seq, send_ms, len(data))
                if self.webrtc:
                    ext = self._unwrap.unwrap(seq)
                    self.history.put(ext, len(data), send_ms, self.rtt_ms())
                    self._packets[ext] = pkt
                    self._packets.pop(ext - PACKET_MEMORY, None)
            self.log.packets_sent += 1
            self.log.bytes_sent += len(data)
            self.pacer.sent(len(data), rate_kbps, send_ms)
