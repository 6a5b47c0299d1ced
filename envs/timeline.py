"""The simulated timeline of one episode: sender, link, receiver and the MLLM, in simulated ms.

Everything about a frame is known when it is sent (the link fixes each packet's departure at
enqueue time, FIFO), so the sender side runs once per control interval and the receiver's events
(decodable times, MLLM samples, answers) are looked up in sorted arrays as simulated time passes.

Two receivers (``receiver=``): ``artic``, loss-resilient (no retransmission; the freshest decodable
frame stands in for a lost one; a loss is noticed when a later packet reveals it or by the frame
timer, :mod:`artic_rl.receiver.loss`), and ``webrtc``, libwebrtc's receive side, which needs a
discrete-event loop within each interval (:mod:`artic_rl.envs.webrtc_transport`). The rules both
share with the streamer live in :mod:`artic_rl.receiver` and :mod:`artic_rl.sender.pacer`.

:class:`Timeline` is the readable reference; on the compiled backend :func:`make_timeline` gives
:class:`~artic_rl.envs.timeline_compiled.CompiledTimeline`, the same numbers with an interval's
sender, link and receiver in numba kernels.
"""

from __future__ import annotations

import math
import sys
from bisect import bisect_right
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING

import numpy as np

from artic_rl.envs.webrtc_compiled import make_transport
from artic_rl.mllm import AccuracyModel, Question
from artic_rl.net import MTU_BYTES, Link, Trace
from artic_rl.receiver import DecodeChain, DecodeLog, MllmSampler, QuestionBook
from artic_rl.receiver.config import ArticReceiverConfig, check_receiver
from artic_rl.receiver.loss import LossNotice
from artic_rl.receiver.reports import held_report_ms, report_tick_ms
from artic_rl.receiver.stats import frozen_ms
from artic_rl.sender.actions import SenderAction
from artic_rl.sender.feedback import (
    CONFIDENCE_TIERS_KBPS,
    FeedbackReport,
    FrameReports,
    PacketReports,
)
from artic_rl.sender.pacer import Pacer

if TYPE_CHECKING:
    from artic_rl.envs.video_chat import VideoChatEnv

MS_PER_S = 1000.0
PICTURE_MEMORY_SPAN = 3.0  # a picture's memory is looked for this many picture_memory_ms back
QUESTION_TAIL_MS = (
    2000.0  # no question in the last 2 s: an unanswered question is then a real failure
)


@dataclass(frozen=True)
class EpisodePlan:
    """What is fixed at reset from the seed alone, identical for every agent (paired evaluation)."""

    trace_index: int
    start_ms: float
    dynamics_seed: int
    question_ms: np.ndarray  # sorted times at which the user asks
    questions: tuple[Question, ...]
    roi_hit: np.ndarray  # bool: the cloud predicted the question's region correctly
    inference_ms: np.ndarray  # MLLM inference time per question
    confidence: np.ndarray  # (n_questions, len(CONFIDENCE_TIERS_KBPS)) readability confidence
    roi_lead_ms: np.ndarray  # how long before each question the cloud predicts its region


def plan_episode(
    np_random: np.random.Generator,
    *,
    n_traces: int,
    trace_index: int | None,
    period_ms: list[int],
    episode_ms: float,
    question_interval_s: float,
    roi_miss_rate: float,
    inference_ms: float,
    inference_jitter_ms: float,
    accuracy_model: AccuracyModel,
    roi_lead_ms: float | tuple[float, float] = 1500.0,
    start_ms: float | None = None,
    question_ms: list[float] | None = None,
) -> EpisodePlan:
    """Draw the episode's trace, offset and question schedule, always in the same order.

    ``roi_lead_ms`` is one lead for every question, or a range ``(low, high)``: each question's
    lead is then drawn uniformly from it (like the onset of speech before the question's words),
    after every other draw, so the rest of the plan is the same as with a fixed lead.
    """
    idx = int(np_random.integers(n_traces)) if trace_index is None else int(trace_index)
    offset = float(np_random.integers(period_ms[idx])) if start_ms is None else float(start_ms)
    dynamics_seed = int(np_random.integers(2**63 - 1))
    times: list[float] = []
    t = float(np_random.exponential(question_interval_s * MS_PER_S))
    while t < episode_ms - QUESTION_TAIL_MS:
        times.append(t)
        t += 500.0 + float(np_random.exponential(max(question_interval_s * MS_PER_S - 500.0, 1.0)))
    if question_ms is not None:
        times = sorted(float(x) for x in question_ms)
    questions = tuple(accuracy_model.sample_question(np_random) for _ in times)
    n = len(times)
    hit = np_random.random(n) >= roi_miss_rate
    infer = np.maximum(0.0, np_random.normal(inference_ms, inference_jitter_ms, n))
    tiers = np.asarray(CONFIDENCE_TIERS_KBPS)
    conf = np.array([accuracy_model.confidence_at(q, tiers) for q in questions]).reshape(
        n, len(tiers)
    )
    if isinstance(roi_lead_ms, int | float):
        lead = np.full(n, float(roi_lead_ms))
    else:
        low, high = roi_lead_ms
        lead = np_random.uniform(low, high, n)
    return EpisodePlan(
        idx, offset, dynamics_seed, np.asarray(times), questions, hit, infer, conf, lead
    )


@dataclass(frozen=True)
class SampleStats:
    """What the MLLM saw at its sampling instants within one interval."""

    mean_accuracy: float  # 0.0 when there was no sample with a current question
    stale_share: float  # share of samples that re-used the previous frame or had none


def make_timeline(
    env: VideoChatEnv,
    plan: EpisodePlan,
    link: Link,
    trace: Trace,
    np_random: np.random.Generator,
    receiver: str = "artic",
) -> Timeline:
    """The timeline of the link's backend: compiled (:mod:`artic_rl.envs.timeline_compiled`) where
    it models the episode (a compiled link, a measured codec profile), else the reference."""
    if getattr(link, "backend", "python") == "compiled":
        from artic_rl.envs.timeline_compiled import CompiledTimeline, supports

        if supports(env, link, receiver):
            return CompiledTimeline(env, plan, link, trace, np_random, receiver)
    return Timeline(env, plan, link, trace, np_random, receiver)


class Timeline:
    """Sender, link, receiver and MLLM state of one episode (owned by :class:`VideoChatEnv`).

    Per-step work runs on Python lists and floats: an interval holds a handful of frames and a few
    dozen packets, where numpy's per-call overhead costs more than the arithmetic. Every number is
    computed with the same floating-point operations, in the same order, as the vectorised form
    written in the comments.
    """

    def __init__(
        self,
        env: VideoChatEnv,
        plan: EpisodePlan,
        link: Link,
        trace: Trace,
        np_random: np.random.Generator,
        receiver: str = "artic",
    ) -> None:
        self.env = env
        self.receiver = check_receiver(receiver)
        self.plan = plan
        self.link = link
        self.trace = trace
        self.rng = np_random
        self.now_ms = 0.0
        # per frame, indexed by frame id
        self.f_capture: list[float] = []
        self.f_key_ms: list[float] = []  # capture time of the keyframe each frame's chain began at
        self.f_decodable: list[float] = []  # NaN: never decodable
        self.f_rate: list[float] = []
        self.f_fps: list[float] = []
        self.f_roi: list[int] = []
        self.f_region: list[int] = []  # question whose region the ROI covered (-1: none / missed)
        self.n_frames = 0
        self.decoded = DecodeLog()  # decodable frames, in decoding order
        self.chain = DecodeChain()
        self.pacer = Pacer()
        self.book = QuestionBook(plan.question_ms.tolist(), plan.roi_lead_ms.tolist())
        self.region_ms, self.held_region = math.nan, -1  # set_decision
        self.sampler = MllmSampler(env.mllm_fps)
        self.next_frame_ms = 0.0
        self.last_frame_ms = -math.inf
        self.last_key_idx = -1
        self.last_key_ms = 0.0
        self.seq = 0
        self.pli: list[tuple[float, int]] = []  # (arrival at sender, lost frame index)
        self.pli_reports: list[float] = []  # PLI arrival times not yet reported in a FeedbackReport
        # packet feedback not yet reported, known_ms non-decreasing: seq, send_ms, arrival_ms, size
        self.pk_known: list[float] = []
        self.pk_seq: list[int] = []
        self.pk_send: list[float] = []
        self.pk_arrival: list[float] = []
        self.pk_size: list[int] = []
        # ... except any learned out of order (a link whose delay varies): known, seq, send, arr, size
        self.pk_late: list[tuple[float, int, float, float, int]] = []
        # losses no later packet has revealed yet (artic_rl.receiver.loss): frames and packets
        self.artic = ArticReceiverConfig()
        self.frame_loss = LossNotice()
        self.packet_loss = LossNotice()
        self.pk_waiting: dict[int, tuple[float, int]] = {}  # seq -> (send_ms, size)
        # the webrtc receiver's latency parts, per shown frame (artic: neither exists)
        self.rtx_wait_ms: list[float] = []
        self.hold_ms: list[float] = []
        self.transport = (
            make_transport(link, self.pacer, env.feedback_delay_ms)
            if receiver == "webrtc"
            else None
        )
        # frame reports not yet sent (known_ms, idx, capture, decodable_ms), known_ms non-decreasing,
        # and the few learned earlier than one queued before them
        self.fr_pending: list[tuple[float, int, float, float]] = []
        self.fr_late: list[tuple[float, int, float, float]] = []
        self._no_frames = FrameReports()  # immutable: one empty report serves every interval
        self.interval_loss = 0.0
        self.keyframe_requested = False
        self._cap_opps = np.asarray(trace.opportunities_ms, dtype=np.float64)
        self._cap_table = trace.opportunities_through
        self._question_ms: list[float] = self.book.asked_ms
        # when each answered question stopped awaiting its answer (never decreasing: in order)
        self._answered_ms: list[float] = []
        self._inference_ms: list[float] = plan.inference_ms.tolist()
        self._roi_hit: list[bool] = plan.roi_hit.tolist()
        # one row object per question, so the observation builder's per-question cache holds
        self._confidence: list[np.ndarray] = list(plan.confidence)
        self.probes, self._probe_question = self._plan_probes(env, plan, self.book)
        self._probe_inference = [env.inference_ms] * len(self._probe_question)

    @staticmethod
    def _plan_probes(
        env: VideoChatEnv, plan: EpisodePlan, book: QuestionBook
    ) -> tuple[QuestionBook | None, list[int]]:
        """Probe questions for a reward that pays questions' expected value (``expected_questions``).

        One probe per control interval at a uniform instant inside it (its own random stream, so
        nothing else in the episode changes), asking about the region the cloud holds then: what a
        question asked at a random moment would get. Answered like a question, with the mean
        inference time.
        """
        if not env.weights.expected_questions or not plan.questions:
            return None, []
        n = int(env.episode_ms // env.interval_ms)
        u = np.random.default_rng([plan.dynamics_seed, 1]).random(n)
        at = ((np.arange(n) + u) * env.interval_ms).tolist()
        return QuestionBook(at, 0.0), [max(book.region_at(t), 0) for t in at]

    # --- sender -------------------------------------------------------------------------------
    def _frame_times(self, fps: float, t0: float, t1: float) -> list[float]:
        """Capture instants in [t0, t1) of the frames the frame rate keeps (on the camera's grid)."""
        period = MS_PER_S / fps
        cap_period = MS_PER_S / self.env.capture_fps
        self.next_frame_ms = max(t0, min(self.next_frame_ms, self.last_frame_ms + period))
        times: list[float] = []
        while True:
            c = math.ceil(self.next_frame_ms / cap_period - 1e-9) * cap_period
            if c >= t1:
                return times
            times.append(c)
            self.last_frame_ms = c
            self.next_frame_ms = c + period

    def _keyframes(self, times: list[float]) -> list[bool] | None:
        """Which of the interval's frames are keyframes (first frame, or a due PLI); None: none."""
        first = self.n_frames
        key: list[bool] | None = None
        if first == 0:
            key = [False] * len(times)
            key[0] = True
            self.last_key_idx = 0
            self.last_key_ms = times[0]
        for i, c in enumerate(times if self.pli else ()):
            due = [p for p in self.pli if p[0] <= c]
            if any(lost >= self.last_key_idx for _, lost in due):
                if key is None:
                    key = [False] * len(times)
                key[i] = True
                self.last_key_idx = first + i
                self.last_key_ms = c
            self.pli = [p for p in self.pli if p[0] > c]
        return key

    def send_interval(self, act: SenderAction, t0: float, t1: float) -> int:
        """Encode, packetise, pace and send the interval's frames; returns the bytes put on the wire."""
        self.set_decision(t0)
        if self.transport is not None:
            return self._send_interval_webrtc(act, t0, t1)
        env = self.env
        times = self._frame_times(act.fps, t0, t1)
        self.interval_loss = 0.0
        n = len(times)
        if n == 0:
            return 0
        key = self._keyframes(times)
        sizes = env.profile.frame_sizes_bytes(
            act.rate_kbps,
            act.fps,
            act.roi_level,
            n,
            self.rng,
            keyframe=None if key is None else np.array(key, dtype=bool),
        )
        # packetise (full payloads, the remainder in the frame's last packet) and pace each frame
        # from the end of its encoding
        payload, header, encode_ms = env.payload_bytes, env.header_bytes, env.encode_ms
        full = payload + header
        rate = env.pacing_factor * act.rate_kbps
        pk_size: list[int] = []
        send: list[float] = []
        starts: list[int] = []
        pacer = self.pacer
        pacer.rebase()
        for c, size in zip(times, np.asarray(sizes, dtype=np.int64).tolist(), strict=True):
            size = max(size, 1)
            n_pk = -(-size // payload)
            starts.append(len(pk_size))
            frame_sizes = [full] * (n_pk - 1)
            frame_sizes.append(size - (n_pk - 1) * payload + header)
            send += pacer.pace(c + encode_ms, frame_sizes, rate)
            pk_size += frame_sizes
        arrival = self.link.send_list(send, pk_size)
        n_lost = sum(map(math.isnan, arrival))
        first_ms = min(arrival) if n_lost < len(arrival) else math.nan
        if first_ms == first_ms:  # a packet arrived: it reveals the losses still waiting
            for f, known in self.frame_loss.on_arrival(first_ms):
                self._notice_frame_loss(f, known)
        self._receive(times, key, arrival, starts, act, n_lost)
        self._queue_packet_reports(send, arrival, pk_size, n_lost, first_ms)
        return sum(pk_size)

    def _receive(
        self,
        times: list[float],
        key: list[bool] | None,
        arrival: list[float],
        starts: list[int],
        act: SenderAction,
        n_lost: int,
    ) -> None:
        """Receiver side for the interval's frames: completeness, reference chain, PLI, decodable times."""
        env = self.env
        fb_ms, every_ms = env.feedback_delay_ms, env.feedback_interval_ms
        ends = [*starts[1:], len(arrival)]
        for i, c in enumerate(times):
            f = self._add_frame(c, act, key is not None and key[i])
            # the frame's arrival: its packets' maximum, NaN when one is missing
            frame_arr = -math.inf
            first_lost = -1
            if not n_lost:
                frame_arr = max(arrival[starts[i] : ends[i]])
            else:
                for k in range(starts[i], ends[i]):
                    x = arrival[k]
                    if x != x:
                        first_lost = k
                        break
                    if x > frame_arr:
                        frame_arr = x
            complete = first_lost < 0
            dec = self.chain.decodable_ms(
                frame_arr, complete=complete, keyframe=key is not None and key[i]
            )
            self.f_decodable.append(dec)
            if dec == dec:
                self.decoded.add(f, dec, c)
                self._pend_frame((report_tick_ms(dec, every_ms) + fb_ms, f, c, dec))
                continue
            if complete:
                self._pend_frame((report_tick_ms(frame_arr, every_ms) + fb_ms, f, c, math.nan))
                continue
            # noticed when a later packet arrives, or by the frame timer if the frame had begun
            timer = frame_arr + self.artic.frame_timeout_ms if first_lost > starts[i] else math.inf
            after = [x for x in arrival[first_lost + 1 :] if x == x]
            if after:
                self._notice_frame_loss(f, min(min(after), timer))
            else:
                self.frame_loss.wait(f, timer)

    def _add_frame(self, c: float, act: SenderAction, key: bool) -> int:
        """Record a frame captured at ``c`` with the action's settings (``key``: a keyframe);
        returns its index."""
        f = self.n_frames
        self.n_frames += 1
        self.f_capture.append(c)
        self.f_key_ms.append(c if key or not f else self.f_key_ms[-1])
        self.f_rate.append(act.rate_kbps)
        self.f_fps.append(act.fps)
        self.f_roi.append(act.roi_level)
        region = self.book.region_at(c) if self.region_ms != self.region_ms else self.held_region
        self.f_region.append(region if region >= 0 and self._roi_hit[region] else -1)
        return f

    def set_decision(self, t_ms: float) -> None:
        """The sender decides at ``t_ms``: with ``roi_at_decision`` the interval's frames take the
        region the sender then holds, that of the newest feedback tick it has
        (:func:`held_report_ms`; none before the first), as the streamer's sender sets its
        encoder's ROI at each decision; otherwise (NaN) each frame takes the region the cloud
        holds at its capture."""
        env = self.env
        if not env.roi_at_decision:
            self.region_ms = math.nan
            return
        self.region_ms = held_report_ms(t_ms, env.feedback_interval_ms, env.feedback_delay_ms)
        self.held_region = self.book.region_at(self.region_ms) if self.region_ms >= 0.0 else -1

    def _send_interval_webrtc(self, act: SenderAction, t0: float, t1: float) -> int:
        """The interval with the ``webrtc`` receiver (:mod:`artic_rl.envs.webrtc_transport`)."""
        env = self.env
        tr = self.transport
        assert tr is not None
        fb_ms, every_ms = env.feedback_delay_ms, env.feedback_interval_ms
        # the keyframe requests the sender honours (one per 300 ms) make the next frame a keyframe
        self.pli += [(p, sys.maxsize) for p in tr.gate_keyframe_requests(t1)]
        times = self._frame_times(act.fps, t0, t1)
        self.interval_loss = 0.0
        sent_bytes = 0
        if times:
            key = self._keyframes(times)
            sizes = env.profile.frame_sizes_bytes(
                act.rate_kbps,
                act.fps,
                act.roi_level,
                len(times),
                self.rng,
                keyframe=None if key is None else np.array(key, dtype=bool),
            )
            payload, header = env.payload_bytes, env.header_bytes
            for i, (c, size) in enumerate(
                zip(times, np.asarray(sizes, dtype=np.int64).tolist(), strict=True)
            ):
                size = max(size, 1)
                n_pk = -(-size // payload)
                frame_sizes = [payload + header] * (n_pk - 1)
                frame_sizes.append(size - (n_pk - 1) * payload + header)
                f = self._add_frame(c, act, key is not None and key[i])
                self.f_decodable.append(math.nan)
                tr.enqueue_frame(f, c, key is not None and key[i], c + env.encode_ms, frame_sizes)
                sent_bytes += sum(frame_sizes)
        fates = tr.run_until_fates(t1, env.pacing_factor * act.rate_kbps, act.rate_kbps)
        for f, sink, rtx_wait_ms, hold_ms, decided_ms in fates:
            self.f_decodable[f] = sink
            if sink == sink:
                self.decoded.add(f, sink, self.f_capture[f])
                self.rtx_wait_ms.append(rtx_wait_ms)
                self.hold_ms.append(hold_ms)
            known_ms = report_tick_ms(decided_ms, every_ms) + fb_ms
            self._pend_frame((known_ms, f, self.f_capture[f], sink))
        self.pli_reports += [p + fb_ms for p in tr.plis_sent]  # a PLI leaves at once
        tr.plis_sent = []
        send, arrival, size_bytes, rtx_bytes = tr.take_sent()
        if send:
            n_lost = sum(map(math.isnan, arrival))
            first_ms = min(arrival) if n_lost < len(arrival) else math.nan
            self._queue_packet_reports(send, arrival, size_bytes, n_lost, first_ms)
            sent_bytes += rtx_bytes
        return sent_bytes

    def _notice_frame_loss(self, f: int, known_ms: float) -> None:
        """The receiver noticed at ``known_ms`` that frame ``f`` is lost: a PLI (at once) and a
        frame report (at the next feedback tick)."""
        env = self.env
        fb_ms = env.feedback_delay_ms
        if self.chain.request_keyframe(known_ms):
            self.pli.append((known_ms + fb_ms, f))
            self.pli_reports.append(known_ms + fb_ms)
        report_ms = report_tick_ms(known_ms, env.feedback_interval_ms) + fb_ms
        self._pend_frame((report_ms, f, self.f_capture[f], math.nan))

    def _pend_frame(self, report: tuple[float, int, float, float]) -> None:
        """Queue a frame report (known_ms, idx, capture, decodable), keeping fr_pending sorted."""
        if not self.fr_pending or self.fr_pending[-1][0] <= report[0]:
            self.fr_pending.append(report)
        else:  # learned before a frame queued earlier (a lost frame's fallback time, say)
            self.fr_late.append(report)

    def _queue_packet_reports(
        self, send: list[float], arrival: list[float], size: list[int], n_lost: int, first_ms: float
    ) -> None:
        """When the sender learns each packet's fate: its arrival, or the next arrival after it.

        A lost packet with no later arrival in its interval waits for the first arrival of a later
        one: ``first_ms``, this interval's first arrival, reveals those of the earlier intervals.
        Each is known at the receiver's next feedback tick at or after that arrival
        (:func:`~artic_rl.receiver.reports.report_tick_ms`), ``feedback_delay_ms`` on.
        """
        fb_ms, every_ms = self.env.feedback_delay_ms, self.env.feedback_interval_ms
        n = len(arrival)
        self.interval_loss = n_lost / n
        seq = list(range(self.seq, self.seq + n))
        self.seq += n
        rows: list[tuple[float, int, float, float, int]] = []
        if first_ms == first_ms:
            revealed_ms = report_tick_ms(first_ms, every_ms) + fb_ms
            for k, _ in self.packet_loss.on_arrival(first_ms):
                send_k, size_k = self.pk_waiting.pop(k)
                rows.append((revealed_ms, k, send_k, math.nan, size_k))
        if n_lost:
            known = [0.0] * n
            next_arr = math.inf  # minimum arrival after the packet (minimum.accumulate, reversed)
            for i in range(n - 1, -1, -1):
                x = arrival[i]
                if x == x:
                    if x < next_arr:
                        next_arr = x
                    known[i] = report_tick_ms(x, every_ms) + fb_ms
                else:
                    known[i] = report_tick_ms(next_arr, every_ms) + fb_ms
            j = n  # the packets with no later arrival (known = inf) are the interval's tail
            while j and known[j - 1] == math.inf:
                j -= 1
            for k in range(j, n):
                self.pk_waiting[seq[k]] = (send[k], size[k])
                self.packet_loss.wait(seq[k])
        else:
            known = [report_tick_ms(x, every_ms) + fb_ms for x in arrival]
            j = n
        if rows:
            known = [r[0] for r in rows] + known[:j]
            seq = [r[1] for r in rows] + seq[:j]
            send = [r[2] for r in rows] + send[:j]
            arrival = [r[3] for r in rows] + arrival[:j]
            size = [r[4] for r in rows] + size[:j]
            j = len(known)
        elif j < n:
            known, seq, send, arrival, size = known[:j], seq[:j], send[:j], arrival[:j], size[:j]
        if not j:
            return
        # the known times follow the FIFO arrivals, non-decreasing; if not (a link whose delay
        # varies), the interval's reports wait in a short side list, correct for any order
        if (not self.pk_known or self.pk_known[-1] <= known[0]) and known == sorted(known):
            self.pk_known += known
            self.pk_seq += seq
            self.pk_send += send
            self.pk_arrival += arrival
            self.pk_size += size
        else:
            self.pk_late += zip(known, seq, send, arrival, size, strict=True)

    def since_keyframe_ms(self, t_ms: float) -> float:
        return t_ms - self.last_key_ms

    # --- receiver / MLLM ----------------------------------------------------------------------
    def _accuracy(self, f: int, j: int, at_ms: float) -> float:
        """Accuracy of question ``j`` answered from frame ``f`` seen at ``at_ms``.

        A picture keeps part of what its chain's earlier frames coded: after the bitrate drops, a
        still scene reads better than the frame's own rate buys. Each earlier frame ``g`` of the
        chain sent at another bitrate (with the same frame rate, ROI level and region) lifts the
        answer ``exp(-t / picture_memory_ms)`` of the way from the frame's own reading to ``g``'s,
        ``t`` its capture before ``f``'s; the highest lift counts (``picture_memory_ms`` 0: none).
        A move of the ROI to another region carries no such memory here (see
        docs/results-fidelity.md, "The picture's memory")."""
        env = self.env
        q = self.plan.questions[j]
        rate, fps, roi, region, capture = self._frame_settings(f)
        age = self.picture_age_ms(f)
        staleness = at_ms - capture
        p = self._reading(q, j, rate, fps, roi, region, staleness, fps, age)
        memory = env.picture_memory_ms
        if memory <= 0.0:
            return p
        key = capture - age
        hit = roi > 0 and region == j
        best = p
        seen = {rate}
        for g in range(f - 1, -1, -1):
            g_rate, g_fps, g_roi, g_region, c = self._frame_settings(g)
            if capture - c > PICTURE_MEMORY_SPAN * memory:
                break
            if abs(c - self.picture_age_ms(g) - key) > 1e-6:  # an earlier chain
                break
            if g_rate in seen or (g_fps, g_roi, g_roi > 0 and g_region == j) != (fps, roi, hit):
                continue
            seen.add(g_rate)
            p_g = self._reading(q, j, g_rate, g_fps, g_roi, g_region, staleness, fps, age)
            if p_g > p:
                best = max(best, p + (p_g - p) * math.exp(-(capture - c) / memory))
        return best

    def _reading(
        self,
        q: Question,
        j: int,
        rate: float,
        fps: float,
        roi: int,
        region: int,
        staleness_ms: float,
        answer_fps: float,
        age_ms: float,
    ) -> float:
        """The accuracy model's reading of question ``j`` on a picture coded at these settings."""
        env = self.env
        eq = env.profile.equivalent_kbps(
            rate, fps, roi, q.roi_area, roi_hit=roi > 0 and region == j
        )
        return env.accuracy_model.p_correct(q, eq, staleness_ms, answer_fps, age_ms)

    def picture_age_ms(self, f: int) -> float:
        """How long frame ``f``'s picture has been refined: its capture since its chain's keyframe."""
        return self.f_capture[f] - self.f_key_ms[f]

    def _frame_settings(self, f: int) -> tuple[float, float, int, int, float]:
        """Frame ``f``'s rate, frame rate, ROI level, predicted region and capture time."""
        return self.f_rate[f], self.f_fps[f], self.f_roi[f], self.f_region[f], self.f_capture[f]

    def answer_questions(self, t1: float, final: bool) -> list[tuple[float, float]]:
        """Questions whose answer is ready by ``t1``: (accuracy, response latency ms) each, in order."""
        out: list[tuple[float, float]] = []
        question_ms, inference_ms = self._question_ms, self._inference_ms
        decoded = self.decoded
        done = self._answered_ms
        for j, k in self.book.answer(t1, decoded, inference_ms, final):
            qt = question_ms[j]
            if k < 0:
                done.append(t1)
                out.append((0.0, t1 - qt + inference_ms[j]))
                continue
            dec = decoded.decodable_ms[k]
            done.append(max(dec + inference_ms[j], done[-1] if done else -math.inf))
            out.append((self._accuracy(decoded.frame_id[k], j, dec), dec - qt + inference_ms[j]))
        return out

    def answer_probes(self, t1: float, final: bool) -> list[tuple[float, float]]:
        """Probe questions (:meth:`_plan_probes`) answered by ``t1``: (accuracy, latency ms) each."""
        if self.probes is None:
            return []
        out: list[tuple[float, float]] = []
        infer = self.env.inference_ms
        decoded = self.decoded
        asked = self.probes.asked_ms
        for p, k in self.probes.answer(t1, decoded, self._probe_inference, final):
            if k < 0:
                out.append((0.0, t1 - asked[p] + infer))
                continue
            dec = decoded.decodable_ms[k]
            j = self._probe_question[p]
            out.append((self._accuracy(decoded.frame_id[k], j, dec), dec - asked[p] + infer))
        return out

    def sample_mllm(self, t0: float, t1: float) -> SampleStats:
        """The MLLM's samples in [t0, t1): the freshest decodable frame stands in for a missing one."""
        acc: list[float] = []
        samples = self.sampler.due(t1, self.decoded)
        frame_id = self.decoded.frame_id
        for s in samples:
            if s.position >= 0:
                j = self.book.region_at(s.at_ms)
                if j >= 0:
                    acc.append(self._accuracy(frame_id[s.position], j, s.at_ms))
        n = len(samples)
        stale = sum(s.stale for s in samples)
        # np.mean's own summation order for more than one sample
        mean = (acc[0] if len(acc) == 1 else float(np.mean(acc))) if acc else 0.0
        return SampleStats(mean, stale / n if n else 0.0)

    def frame_delays_ms(self, t0: float, t1: float) -> list[float]:
        """Capture-to-decodable delays of the frames that became decodable in [t0, t1)."""
        return self.decoded.delays_ms(t0, t1)

    def frame_latencies_ms(self, end_ms: float) -> list[float]:
        """The Artic paper's frame latency of every frame sent so far, in capture order.

        A decodable frame counts from capture until it is decodable; a lost or undecodable one
        until the next frame after it becomes decodable (the MLLM sees the substitute until then),
        and every latency stops at ``end_ms`` (the link knows when queued packets will arrive, so a
        frame may be due to decode after the episode's end). Decodable times never decrease in frame
        order (a frame is decoded after its predecessors), so one backward pass finds each next one.
        """
        cap, dec = self.f_capture, self.f_decodable
        out = [0.0] * len(cap)
        nxt = end_ms
        for i in range(len(cap) - 1, -1, -1):
            d = dec[i]
            if d == d:
                nxt = d if d < end_ms else end_ms
            out[i] = max(nxt, cap[i]) - cap[i]
        return out

    def latency_breakdown_ms(self, end_ms: float) -> dict[str, float]:
        """Where the frame latency went, over the episode so far: the mean time a shown frame
        waited for retransmissions (its own or its reference's) and the mean jitter-buffer hold
        (both 0 for the artic receiver), and the total time frozen (libwebrtc's freeze rule on the
        shown frames, :func:`artic_rl.receiver.stats.frozen_ms`)."""
        shown = [d for d in self.decoded.decodable_ms if d < end_ms]
        n = len(self.rtx_wait_ms)
        return {
            "retransmission_wait": sum(self.rtx_wait_ms) / n if n else 0.0,
            "jitter_hold": sum(self.hold_ms) / n if n else 0.0,
            "frozen": frozen_ms(shown, end_ms),
        }

    # --- feedback -----------------------------------------------------------------------------
    def _due_packets(self, t_ms: float) -> PacketReports:
        """Packet feedback known by ``t_ms``, in sequence order; the rest stays pending."""
        known = self.pk_known
        nd = bisect_right(known, t_ms)  # non-decreasing: the known packets are a prefix
        seq, send = self.pk_seq[:nd], self.pk_send[:nd]
        arrival, size = self.pk_arrival[:nd], self.pk_size[:nd]
        if nd:
            del known[:nd], self.pk_seq[:nd], self.pk_send[:nd]
            del self.pk_arrival[:nd], self.pk_size[:nd]
        if self.pk_late:
            late = [p for p in self.pk_late if p[0] <= t_ms]
            if late:
                self.pk_late = [p for p in self.pk_late if p[0] > t_ms]
                rows = sorted([*zip(seq, send, arrival, size, strict=True), *(p[1:] for p in late)])
                seq, send, arrival, size = (list(col) for col in zip(*rows, strict=True))
        return PacketReports(
            seq=np.array(seq, dtype=np.int64),
            send_ms=np.array(send, dtype=np.float64),
            arrival_ms=np.array(arrival, dtype=np.float64),
            size_bytes=np.array(size, dtype=np.int64),
        )

    def feedback(self, t_ms: float, sent_bytes: int) -> FeedbackReport:
        """What the sender has learned by ``t_ms`` since the previous report."""
        packets = self._due_packets(t_ms)
        # a frame timer that fired by now: no packet arrived since (every later one arrives later)
        for f, known in self.frame_loss.expire(t_ms):
            self._notice_frame_loss(f, known)
        k = bisect_right(self.fr_pending, t_ms, key=itemgetter(0))
        ready = self.fr_pending[:k]
        del self.fr_pending[:k]
        if self.fr_late:
            late = [r for r in self.fr_late if r[0] <= t_ms]
            if late:
                self.fr_late = [r for r in self.fr_late if r[0] > t_ms]
                ready = sorted(ready + late, key=itemgetter(1))  # frame order
        if ready:
            _, ids, caps, decs = zip(*ready, strict=True)
            frames = FrameReports(
                frame_id=np.array(ids, dtype=np.int64),
                capture_ms=np.array(caps, dtype=np.float64),
                decodable_ms=np.array(decs, dtype=np.float64),
            )
        else:
            frames = self._no_frames
        kf = False
        if self.pli_reports:
            kf = any(p <= t_ms for p in self.pli_reports)
            self.pli_reports = [p for p in self.pli_reports if p > t_ms]
        return self._report(t_ms, sent_bytes, packets, frames, kf)

    def _report(
        self,
        t_ms: float,
        sent_bytes: int,
        packets: PacketReports,
        frames: FrameReports,
        keyframe_request: bool,
    ) -> FeedbackReport:
        """The report of :meth:`feedback` around its transport part: the cloud's question fields,
        as of the newest feedback tick the sender holds (:func:`held_report_ms`), as the streamer's
        receiver sends them in each batch: the region then, whether a question awaited its answer
        then, and its age then (the sender takes it as ``t_ms`` minus that age)."""
        env = self.env
        c = held_report_ms(t_ms, env.feedback_interval_ms, env.feedback_delay_ms)
        j, active, asked = -1, False, math.nan
        if c >= 0.0:
            j = self.book.region_at(c)
            q = self._question_ms
            n = bisect_right(self._answered_ms, c)  # questions answered by then
            active = n < len(q) and q[n] <= c
            if active:
                asked = t_ms - (c - q[n])
        return FeedbackReport(
            now_ms=t_ms,
            interval_ms=env.interval_ms,
            sent_bytes=sent_bytes,
            packets=packets,
            frames=frames,
            keyframe_request=keyframe_request,
            question_active=active,
            roi_known=j >= 0,
            roi_area=self.plan.questions[j].roi_area if j >= 0 else 0.0,
            confidence=self._confidence[j] if j >= 0 else None,
            question_asked_ms=asked,
            sent_capture_ms=self.last_frame_ms if self.n_frames else math.nan,
        )

    def capacity_kbps(self, t0: float, t1: float) -> float:
        """Link capacity over [t0, t1) of episode time (privileged: plots and the oracle only)."""
        opps = self._cap_opps
        table = self._cap_table
        period = float(self.trace.period_ms)
        start = self.plan.start_ms

        def count(x: float) -> float:
            x += start
            # opportunities are whole ms: those <= x are those <= floor(x), one table lookup
            phase = x % period
            through = (
                table.item(int(phase))
                if table is not None
                else np.searchsorted(opps, phase, side="right")
            )
            return (x // period) * opps.shape[0] + float(through)

        return (count(t1) - count(t0)) * MTU_BYTES * 8.0 / (t1 - t0)
