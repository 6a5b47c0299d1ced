"""The streamer's receiver (the cloud side): UDP -> RTP reassembly -> PyAV decode -> MLLM judge.

Loss-resilient, as in Artic: nothing is retransmitted; a frame whose packets did not all arrive in
time is skipped, and the freshest decodable frame stands in for it. A frame whose reference chain is
broken (a frame before it was lost) is not decoded; the receiver asks for a keyframe (PLI, sent at once in
its own datagram, repeated every ``pli_interval_ms`` while the chain stays broken). Questions are answered with the first
decodable frame captured at or after they were asked by a judge running on its own thread; the
cloud predicts each question's region ``roi_lead_ms`` ahead and tells the sender. These rules are
the simulator's own classes (:mod:`artic_rl.receiver`): :class:`DecodeChain`, :class:`QuestionBook`,
:class:`MllmSampler`.

With ``receiver="webrtc"`` the receiver is libwebrtc's as deployed, decided by the simulator's own
:class:`~artic_rl.receiver.webrtc.WebRtcReceiver` (through
:class:`~artic_rl.runtime.webrtc_rx.WebRtcFrames`): a gap revealed by a later packet is NACKed at
once (RTCP Generic NACK, RFC 4585), retried on the 20 ms task spaced by the RTT, up to the retry
limit; RFC 4588 retransmissions fill the gaps; frames are decoded in order when the jitter buffer
and render timing release them, shown at their sink time or dropped by the renderer when more
than 500 ms late; no frame for 3 s (200 ms while a keyframe is needed) sends a PLI. NACKs and PLIs
leave at once, each in its own datagram; the rest of the feedback every ``feedback_interval_ms``.
The RTT comes from RFC 3611 RRTR/DLRR (one probe per ``rtt_report_ms``). A shown frame is
"decodable" (frame feedback, questions, MLLM samples) at its sink time.
"""

from __future__ import annotations

import contextlib
import math
import queue
import selectors
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from artic_rl.receiver import DecodeChain, DecodeLog, MllmSampler, QuestionBook
from artic_rl.receiver.config import ArticReceiverConfig, WebRtcReceiverConfig, check_receiver
from artic_rl.receiver.questions import UNANSWERED
from artic_rl.receiver.reports import report_tick_ms
from artic_rl.receiver.stats import frozen_ms
from artic_rl.runtime import rtcp
from artic_rl.runtime.feedback import ReceiverFeedback
from artic_rl.runtime.jitter import AssembledFrame, FrameAssembler
from artic_rl.runtime.relay import Clock
from artic_rl.runtime.rtp import RTP_TICKS_PER_MS, RTX_PAYLOAD_TYPE, RtpError, RtpPacket
from artic_rl.runtime.webrtc_rx import FrameFate, WebRtcFrames

MS_PER_S = 1000.0
RTCP_TYPES = range(192, 224)  # RFC 5761 section 4: a second byte in 192..223 is RTCP, not RTP


@dataclass(frozen=True)
class StreamQuestion:
    """A question asked at ``asked_ms`` (session time) with its reference answer and region."""

    question: str
    answer: str
    asked_ms: float
    box: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1 frame fractions


@dataclass
class QuestionResult:
    question: str
    answer: str
    reference: str
    correct: bool
    asked_ms: float
    frame_capture_ms: float
    network_ms: float  # from the question until the answering frame was decodable
    judge_ms: float
    latency_ms: float  # network + judge: the response latency
    roi_area: float = 0.0  # area fraction of the question's region (0: none)


@dataclass
class ReceiverLog:
    """What the receiver saw, for the report."""

    frames_decoded: int = 0
    frames_undecodable: int = 0  # arrived complete but the reference chain was broken
    decode_errors: int = 0
    malformed: int = 0
    plis: int = 0
    samples: int = 0
    stale_samples: int = 0  # MLLM samples with no frame yet or the frame already sampled
    frame_delay_ms: list[float] = field(default_factory=list)
    decoded_at_ms: list[float] = field(default_factory=list)
    results: list[QuestionResult] = field(default_factory=list)
    # webrtc receiver only
    nacked_packets: int = 0  # sequence numbers in the NACKs sent (first tries and retries)
    nacks: int = 0  # NACK datagrams sent
    rtx_received: int = 0
    frames_recovered: int = 0  # shown frames that waited for a retransmission of their own
    frames_dropped_late: int = 0  # decoded but dropped by the renderer (> 500 ms late)
    rtt_ms: list[float] = field(default_factory=list)
    rtx_wait_ms: list[float] = field(default_factory=list)  # per shown frame
    hold_ms: list[float] = field(default_factory=list)  # per shown frame


def _tick_after(now_ms: float, interval_ms: float) -> float:
    """The first report tick after ``now_ms`` (:func:`~artic_rl.receiver.reports.report_tick_ms`)."""
    tick = report_tick_ms(now_ms, interval_ms)
    return tick + interval_ms if tick <= now_ms else tick


class Receiver:
    """Receives on ``address``; feedback goes to ``feedback_addr`` every ``feedback_interval_ms``."""

    def __init__(
        self,
        clock: Clock,
        feedback_addr: tuple[str, int],
        judge: Any = None,
        grader: Any = None,
        questions: tuple[StreamQuestion, ...] = (),
        feedback_interval_ms: float = 50.0,
        mllm_fps: float = 2.0,
        roi_lead_ms: float = 1500.0,
        pli_interval_ms: float = 300.0,
        host: str = "127.0.0.1",
        confidence_of: Callable[[StreamQuestion], tuple[float, ...] | None] | None = None,
        receiver: str = "artic",
        webrtc_config: WebRtcReceiverConfig | None = None,
    ) -> None:
        self.clock, self.feedback_addr = clock, feedback_addr
        self.judge, self.grader = judge, grader
        self.questions = sorted(questions, key=lambda q: q.asked_ms)
        self.feedback_interval_ms, self.mllm_fps = feedback_interval_ms, mllm_fps
        self.roi_lead_ms, self.pli_interval_ms = roi_lead_ms, pli_interval_ms
        self.confidence_of = confidence_of
        self.book = QuestionBook([q.asked_ms for q in self.questions], roi_lead_ms)
        self.chain = DecodeChain(pli_interval_ms)
        self.decoded = DecodeLog()
        self.sampler = MllmSampler(mllm_fps)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.setblocking(False)
        # an unfinished frame is given up by the artic receiver's frame timer, as in the simulator
        self.assembler = FrameAssembler(max_age_ms=ArticReceiverConfig().frame_timeout_ms)
        self.feedback = ReceiverFeedback()
        self.receiver = check_receiver(receiver)
        self.webrtc = WebRtcFrames(webrtc_config) if receiver == "webrtc" else None
        self.rtx_feedback = ReceiverFeedback(max_frames=0)  # the RTX stream's arrivals
        self._next_rrtr_ms = 0.0
        self.log = ReceiverLog()
        self._decoder: Any = None
        self._jobs: queue.Queue[tuple[StreamQuestion, np.ndarray, float, float] | None] = (
            queue.Queue(8)
        )

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()[:2]
        return str(host), int(port)

    def run(self, stop: threading.Event) -> None:
        """Receive, decode, answer and send feedback until ``stop`` is set."""
        worker = threading.Thread(target=self._judge_loop, name="judge", daemon=True)
        worker.start()
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ)
        # on the session clock, as in the simulator: reports at the multiples of the interval
        # (report_tick_ms), MLLM samples from session time 0
        every = self.feedback_interval_ms
        next_fb = _tick_after(self.clock.now_ms(), every)
        self.sampler = MllmSampler(self.mllm_fps)
        try:
            while not stop.is_set():
                due = min(next_fb, self.sampler.next_ms)
                if self.webrtc is not None:
                    due = min(due, self.webrtc.next_event_ms())
                timeout = max(due - self.clock.now_ms(), 0.0)
                if sel.select(timeout=min(timeout, 20.0) / MS_PER_S):
                    self._receive_all()
                now = self.clock.now_ms()
                if self.webrtc is not None:
                    self._webrtc_step(now)
                else:
                    self._handle(self.assembler.poll(now), now)
                if now >= next_fb:
                    self._send_feedback(now)
                    next_fb = _tick_after(now, every)
                self._sample(now)
        finally:
            sel.close()
            self.sock.close()
            self._jobs.put(None)
            worker.join(timeout=30.0)
            self._unanswered(self.clock.now_ms())

    def _receive_all(self) -> None:
        while True:
            try:
                data = self.sock.recv(65_535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue
            self.push(data, self.clock.now_ms())

    def push(self, data: bytes, now: float) -> None:
        """One datagram in (never raises on what a peer sends)."""
        if len(data) > 1 and data[1] in RTCP_TYPES:
            self._on_rtcp(data, now)
            return
        self.assembler.stats.packets += 1
        try:
            pkt = RtpPacket.parse(data)
        except RtpError:
            self.assembler.stats.malformed += 1
            self.log.malformed += 1
            return
        if self.webrtc is None:
            self.feedback.on_packet(pkt.sequence, now)
            self._handle(self.assembler.push_packet(pkt, now), now)
            return
        if pkt.payload_type == RTX_PAYLOAD_TYPE:
            self.rtx_feedback.ssrc = pkt.ssrc
            self.rtx_feedback.on_packet(pkt.sequence, now)
        else:
            self.feedback.on_packet(pkt.sequence, now)
        if not self.webrtc.on_rtp(pkt, now):
            self.log.malformed += 1
        self._webrtc_step(now)

    def _on_rtcp(self, data: bytes, now: float) -> None:
        """RTCP on the media path: the sender's DLRR closes an RTT probe."""
        try:
            messages = rtcp.decode(data)
        except rtcp.RtcpError:
            self.log.malformed += 1
            return
        for msg in messages:
            if isinstance(msg, rtcp.DelaySinceLastRr) and self.webrtc is not None:
                rtt = max(msg.rtt_ms(now), 0.0)
                self.log.rtt_ms.append(rtt)
                self.webrtc.on_rtt(now, rtt)

    def _webrtc_step(self, now: float) -> None:
        """Run the shared model to ``now``; send its NACKs and PLIs at once; handle the frames."""
        assert self.webrtc is not None
        self.webrtc.advance(now)
        seqs = self.webrtc.take_nacks()
        plis = self.webrtc.take_plis()
        messages: list[rtcp.Message] = []
        if seqs:
            messages.append(rtcp.GenericNack(tuple(seqs)))
            self.log.nacks += 1
            self.log.nacked_packets += len(seqs)
        if plis:
            messages.append(rtcp.PictureLossIndication())
            self.log.plis += plis
        if messages:
            self._send(messages)
        self.log.rtx_received = self.webrtc.rtx_received
        self._handle_fates(self.webrtc.take_fates())

    def _handle_fates(self, fates: list[FrameFate]) -> None:
        """Frames the model released (decoded here, in order), showed, dropped or skipped."""
        for fate in fates:
            shown = fate.shown
            decoded = self._decode(fate.annexb) if fate.annexb is not None else None
            sink = shown.sink_ms
            ok = decoded is not None and not math.isnan(sink)
            if fate.timestamp is not None:
                self.feedback.on_frame(fate.timestamp, sink if ok else math.nan)
            if not ok:
                self.log.frames_undecodable += 1
                self.log.frames_dropped_late += int(
                    decoded is not None and not math.isnan(shown.render_ms)
                )
                continue
            assert fate.timestamp is not None
            capture_ms = fate.timestamp / RTP_TICKS_PER_MS
            self.log.frames_decoded += 1
            self.log.frames_recovered += int(shown.nacked)
            self.log.rtx_wait_ms.append(shown.retransmission_wait_ms)
            self.log.hold_ms.append(shown.hold_ms)
            self.log.frame_delay_ms.append(sink - capture_ms)
            self.log.decoded_at_ms.append(sink)
            self.decoded.add(self.log.frames_decoded - 1, sink, capture_ms)
            self._answer_with(capture_ms, decoded, sink)

    def latency_breakdown_ms(self, end_ms: float) -> dict[str, float]:
        """The simulator's breakdown (``Timeline.latency_breakdown_ms``): mean retransmission
        wait and jitter-buffer hold per shown frame, total time frozen."""
        n = len(self.log.rtx_wait_ms)
        return {
            "retransmission_wait": sum(self.log.rtx_wait_ms) / n if n else 0.0,
            "jitter_hold": sum(self.log.hold_ms) / n if n else 0.0,
            "frozen": frozen_ms([t for t in self.log.decoded_at_ms if t < end_ms], end_ms),
        }

    def _handle(self, frames: list[AssembledFrame], now: float) -> None:
        for frame in frames:
            capture_ms = frame.timestamp / RTP_TICKS_PER_MS
            if not frame.follows_previous:
                self.chain.break_chain()
            dec_ms = self.chain.decodable_ms(now, complete=True, keyframe=frame.keyframe)
            decoded = self._decode(frame.annexb) if dec_ms == dec_ms else None
            if decoded is None:
                self.chain.break_chain()
                self.log.frames_undecodable += 1
                self.feedback.on_frame(frame.timestamp, math.nan)
                if self.chain.request_keyframe(now):
                    # at once, in its own datagram (RFC 4585 early feedback), as the simulator's
                    # receiver does and the webrtc path here: not held to the next report
                    self._send([rtcp.PictureLossIndication()])
                    self.log.plis += 1
                continue
            self.log.frames_decoded += 1
            self.log.frame_delay_ms.append(dec_ms - capture_ms)
            self.log.decoded_at_ms.append(dec_ms)
            self.feedback.on_frame(frame.timestamp, dec_ms)
            self.decoded.add(self.log.frames_decoded - 1, dec_ms, capture_ms)
            self._answer_with(capture_ms, decoded, dec_ms)

    def _decode(self, annexb: bytes) -> Any:
        import av

        if self._decoder is None:
            self._decoder = av.CodecContext.create("h264", "r")
            self._decoder.thread_count = 1
        try:
            out = self._decoder.decode(av.Packet(annexb))
        except (av.error.FFmpegError, ValueError):
            self.log.decode_errors += 1
            return None
        return out[-1] if out else None

    def _answer_with(self, capture_ms: float, frame: Any, now: float) -> None:
        """Hand the questions this frame answers to the judge (it is the freshest decodable frame:
        a question an earlier frame could answer was handed over with that frame)."""
        for j, _ in self.book.answer(now, self.decoded):
            q = self.questions[j]
            try:
                self._jobs.put_nowait(
                    (q, frame.to_ndarray(format="rgb24"), capture_ms, now - q.asked_ms)
                )
            except queue.Full:  # judge far behind: the question counts as unanswered
                self._record(q, "", capture_ms, now - q.asked_ms, 0.0)

    def _judge_loop(self) -> None:
        from artic_rl.mllm.judges import Box

        while (job := self._jobs.get()) is not None:
            q, rgb, capture_ms, network_ms = job
            if self.judge is None:
                self._record(q, "", capture_ms, network_ms, 0.0)
                continue
            box = None if q.box is None else Box(*q.box)
            ans = self.judge.answer([rgb], q.question, box)
            self._record(q, ans.text, capture_ms, network_ms, ans.latency_ms)

    def _record(
        self, q: StreamQuestion, text: str, capture_ms: float, network_ms: float, judge_ms: float
    ) -> None:
        correct = (
            bool(text) and self.grader is not None and self.grader.grade(q.question, text, q.answer)
        )
        area = 0.0 if q.box is None else (q.box[2] - q.box[0]) * (q.box[3] - q.box[1])
        self.log.results.append(
            QuestionResult(
                q.question,
                text,
                q.answer,
                correct,
                q.asked_ms,
                capture_ms,
                network_ms,
                judge_ms,
                network_ms + judge_ms,
                area,
            )
        )

    def _unanswered(self, now: float) -> None:
        for j, k in self.book.answer(now, self.decoded, final=True):
            if k == UNANSWERED:
                self._record(self.questions[j], "", math.nan, now - self.questions[j].asked_ms, 0.0)

    def _sample(self, now: float) -> None:
        for sample in self.sampler.due(now, self.decoded):
            self.log.samples += 1
            self.log.stale_samples += sample.stale

    def _send_feedback(self, now: float) -> None:
        self.feedback.cloud = self._cloud_state(now)
        messages = self.feedback.messages()
        if self.webrtc is not None:
            messages += self.rtx_feedback.messages()
            if now >= self._next_rrtr_ms:  # an RTT probe per video RTCP report interval
                messages.append(rtcp.ReceiverReferenceTime(now))
                self._next_rrtr_ms = now + self.webrtc.model.config.rtt_report_ms
        self._send(messages)

    def _send(self, messages: list[rtcp.Message]) -> None:
        with contextlib.suppress(OSError):
            self.sock.sendto(rtcp.encode(messages), self.feedback_addr)

    def _cloud_state(self, now: float) -> rtcp.CloudFeedback:
        """As the simulator's cloud: the region (and, with ``confidence_of``, the readability
        confidence at the tiers) of the latest question whose region became known ``roi_lead_ms``
        before it was asked, kept until the next one's; active while a question awaits its answer."""
        active = self.book.active(now)
        age = now - self.book.asked_ms[self.book.answered] if active else None
        j = self.book.region_at(now)
        if j < 0 or self.questions[j].box is None:
            return rtcp.CloudFeedback(question_active=active, question_age_ms=age)
        q = self.questions[j]
        box = q.box
        assert box is not None
        return rtcp.CloudFeedback(
            question_active=active,
            roi_known=True,
            roi_area=(box[2] - box[0]) * (box[3] - box[1]),
            roi_box=box,
            confidence=self.confidence_of(q) if self.confidence_of is not None else None,
            question_age_ms=age,
        )
