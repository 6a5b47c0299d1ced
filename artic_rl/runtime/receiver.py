"""The streamer's receiver (the cloud side): UDP -> RTP reassembly -> PyAV decode -> MLLM judge.

Loss-resilient, as in Artic: nothing is retransmitted; a frame whose packets did not all arrive in
time is skipped, and the freshest decodable frame stands in for it. A frame whose reference chain is
broken (a frame before it was lost) is not decoded; the receiver asks for a keyframe (PLI, repeated
every ``pli_interval_ms`` while the chain stays broken). Questions are answered with the first
decodable frame captured at or after they were asked by a judge running on its own thread; the
cloud predicts each question's region ``roi_lead_ms`` ahead and tells the sender. These rules are
the simulator's own classes (:mod:`artic_rl.receiver`): :class:`DecodeChain`, :class:`QuestionBook`,
:class:`MllmSampler`.
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
from artic_rl.receiver.config import ArticReceiverConfig
from artic_rl.receiver.questions import UNANSWERED
from artic_rl.runtime import rtcp
from artic_rl.runtime.feedback import ReceiverFeedback
from artic_rl.runtime.jitter import AssembledFrame, FrameAssembler
from artic_rl.runtime.relay import Clock
from artic_rl.runtime.rtp import RTP_TICKS_PER_MS, RtpError, RtpPacket

MS_PER_S = 1000.0


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
        now = self.clock.now_ms()
        next_fb = now + self.feedback_interval_ms
        self.sampler = MllmSampler(self.mllm_fps, start_ms=now + MS_PER_S / self.mllm_fps)
        try:
            while not stop.is_set():
                timeout = max(min(next_fb, self.sampler.next_ms) - self.clock.now_ms(), 0.0)
                if sel.select(timeout=min(timeout, 20.0) / MS_PER_S):
                    self._receive_all()
                now = self.clock.now_ms()
                self._handle(self.assembler.poll(now), now)
                if now >= next_fb:
                    self._send_feedback(now)
                    next_fb += self.feedback_interval_ms
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
        self.assembler.stats.packets += 1
        try:
            pkt = RtpPacket.parse(data)
        except RtpError:
            self.assembler.stats.malformed += 1
            self.log.malformed += 1
            return
        self.feedback.on_packet(pkt.sequence, now)
        self._handle(self.assembler.push_packet(pkt, now), now)

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
                    self.feedback.request_keyframe()
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
        with contextlib.suppress(OSError):
            self.sock.sendto(rtcp.encode(self.feedback.messages()), self.feedback_addr)

    def _cloud_state(self, now: float) -> rtcp.CloudFeedback:
        """As the simulator's cloud: the region (and, with ``confidence_of``, the readability
        confidence at the tiers) of the latest question whose region became known ``roi_lead_ms``
        before it was asked, kept until the next one's; active while a question awaits its answer."""
        active = self.book.active(now)
        j = self.book.region_at(now)
        if j < 0 or self.questions[j].box is None:
            return rtcp.CloudFeedback(question_active=active)
        q = self.questions[j]
        box = q.box
        assert box is not None
        return rtcp.CloudFeedback(
            question_active=active,
            roi_known=True,
            roi_area=(box[2] - box[0]) * (box[3] - box[1]),
            roi_box=box,
            confidence=self.confidence_of(q) if self.confidence_of is not None else None,
        )
