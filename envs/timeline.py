"""The simulated timeline of one episode: sender, link, receiver and the MLLM, in simulated ms.

Everything about a frame is known when it is sent (the link fixes each packet's departure at
enqueue time, FIFO), so the sender side runs once per control interval and the receiver's events
(decodable times, MLLM samples, answers) are looked up in sorted arrays as simulated time passes.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from artic_rl.mllm import AccuracyModel, Question
from artic_rl.net import MTU_BYTES, Link, Trace
from artic_rl.sender.actions import SenderAction
from artic_rl.sender.feedback import (
    CONFIDENCE_TIERS_KBPS,
    FeedbackReport,
    FrameReports,
    PacketReports,
)

if TYPE_CHECKING:
    from artic_rl.envs.video_chat import VideoChatEnv

MS_PER_S = 1000.0
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
    start_ms: float | None = None,
    question_ms: list[float] | None = None,
) -> EpisodePlan:
    """Draw the episode's trace, offset and question schedule, always in the same order."""
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
    return EpisodePlan(idx, offset, dynamics_seed, np.asarray(times), questions, hit, infer, conf)


@dataclass(frozen=True)
class SampleStats:
    """What the MLLM saw at its sampling instants within one interval."""

    mean_accuracy: float  # 0.0 when there was no sample with a current question
    stale_share: float  # share of samples that re-used the previous frame or had none


class Timeline:
    """Sender, link, receiver and MLLM state of one episode (owned by :class:`VideoChatEnv`)."""

    def __init__(
        self,
        env: VideoChatEnv,
        plan: EpisodePlan,
        link: Link,
        trace: Trace,
        np_random: np.random.Generator,
    ) -> None:
        self.env = env
        self.plan = plan
        self.link = link
        self.trace = trace
        self.rng = np_random
        self.now_ms = 0.0
        cap = int(env.episode_ms / MS_PER_S * env.capture_fps) + 64
        self.f_capture = np.zeros(cap)
        self.f_decodable = np.full(cap, np.nan)
        self.f_rate = np.zeros(cap)
        self.f_fps = np.zeros(cap)
        self.f_roi = np.zeros(cap, dtype=np.int64)
        self.f_region = np.full(cap, -1, dtype=np.int64)
        self.n_frames = 0
        self.d_idx = np.zeros(cap, dtype=np.int64)  # decodable frames, in decoding order
        self.d_ms = np.zeros(cap)
        self.d_capture = np.zeros(cap)
        self.n_dec = 0
        self.chain_ok = False
        self.last_dec_ms = -math.inf
        self.pacer_free_ms = 0.0
        self.next_frame_ms = 0.0
        self.last_frame_ms = -math.inf
        self.last_key_idx = -1
        self.last_key_ms = 0.0
        self.seq = 0
        self.pli: list[tuple[float, int]] = []  # (arrival at sender, lost frame index)
        self.pli_reports: list[float] = []  # PLI arrival times not yet reported in a FeedbackReport
        self.pk_pending = np.zeros((5, 0))  # rows: known_ms, seq, send_ms, arrival_ms, size
        self.fr_pending: list[
            tuple[float, int, float, float]
        ] = []  # known_ms, idx, capture, decodable
        self.answered = 0
        self.next_sample_ms = 0.0
        self.last_sample_frame = -1
        self.interval_loss = 0.0
        self.keyframe_requested = False
        self._cap_opps = np.asarray(trace.opportunities_ms, dtype=np.float64)
        self._region_start = (plan.question_ms - env.roi_lead_ms).tolist()

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

    def _region_at(self, t_ms: float) -> int:
        """Index of the question whose predicted region the sender holds at ``t_ms`` (-1: none)."""
        return bisect_right(self._region_start, t_ms) - 1

    def send_interval(self, act: SenderAction, t0: float, t1: float) -> int:
        """Encode, packetise, pace and send the interval's frames; returns the bytes put on the wire."""
        env = self.env
        times = self._frame_times(act.fps, t0, t1)
        self.interval_loss = 0.0
        n = len(times)
        if n == 0:
            return 0
        first = self.n_frames
        key = np.zeros(n, dtype=bool)
        if first == 0:
            key[0] = True
            self.last_key_idx = 0
            self.last_key_ms = times[0]
        for i, c in enumerate(times if self.pli else ()):
            due = [p for p in self.pli if p[0] <= c]
            if any(lost >= self.last_key_idx for _, lost in due):
                key[i] = True
                self.last_key_idx = first + i
                self.last_key_ms = c
            self.pli = [p for p in self.pli if p[0] > c]
        sizes = env.profile.frame_sizes_bytes(
            act.rate_kbps, act.fps, act.roi_level, n, self.rng, keyframe=key
        )
        sizes = np.maximum(np.asarray(sizes, dtype=np.int64), 1)
        n_pk = -(-sizes // env.payload_bytes)
        frame_of = np.repeat(np.arange(n), n_pk)
        starts = np.concatenate(([0], np.cumsum(n_pk)[:-1]))
        last = starts + n_pk - 1
        pk_size = np.full(frame_of.shape[0], env.payload_bytes + env.header_bytes, dtype=np.int64)
        pk_size[last] = sizes - (n_pk - 1) * env.payload_bytes + env.header_bytes
        ready = np.asarray(times)[frame_of] + env.encode_ms
        ready[0] = max(ready[0], self.pacer_free_ms)
        tx = pk_size * 8.0 / (env.pacing_factor * act.rate_kbps)
        before = np.concatenate(([0.0], np.cumsum(tx)[:-1]))
        send = before + np.maximum.accumulate(ready - before)
        self.pacer_free_ms = float(send[-1] + tx[-1])
        arrival = self.link.send(send, pk_size)
        self._receive(times, key, arrival, starts, act, first)
        self._queue_packet_reports(send, arrival, pk_size, t1)
        return int(pk_size.sum())

    def _receive(
        self,
        times: list[float],
        key: np.ndarray,
        arrival: np.ndarray,
        starts: np.ndarray,
        act: SenderAction,
        first: int,
    ) -> None:
        """Receiver side for the interval's frames: completeness, reference chain, PLI, decodable times."""
        env = self.env
        frame_arr = np.maximum.reduceat(arrival, starts)
        ends = np.append(starts[1:], arrival.shape[0])
        arr_inf = np.where(np.isnan(arrival), np.inf, arrival)
        for i, c in enumerate(times):
            f = first + i
            self.f_capture[f] = c
            self.f_rate[f] = act.rate_kbps
            self.f_fps[f] = act.fps
            self.f_roi[f] = act.roi_level
            region = self._region_at(c)
            self.f_region[f] = region if region >= 0 and self.plan.roi_hit[region] else -1
            complete = not math.isnan(frame_arr[i])
            if complete and (key[i] or self.chain_ok):
                dec = max(float(frame_arr[i]), self.last_dec_ms)
                self.chain_ok = True
                self.last_dec_ms = dec
                self.f_decodable[f] = dec
                k = self.n_dec
                self.d_idx[k], self.d_ms[k], self.d_capture[k] = f, dec, c
                self.n_dec += 1
                self.fr_pending.append((dec + env.feedback_delay_ms, f, c, dec))
                continue
            self.chain_ok = False
            if complete:
                known = float(frame_arr[i])
            else:
                # the receiver notices the gap when the next packet after the first lost one arrives
                first_lost = int(starts[i] + np.argmax(np.isinf(arr_inf[starts[i] : ends[i]])))
                after = arr_inf[first_lost + 1 :]
                after = after[np.isfinite(after)]
                known = float(after.min()) if after.size else self.now_ms + 2 * env.interval_ms
                self.pli.append((known + env.feedback_delay_ms, f))
                self.pli_reports.append(known + env.feedback_delay_ms)
            self.fr_pending.append((known + env.feedback_delay_ms, f, c, math.nan))
        self.n_frames = first + len(times)

    def _queue_packet_reports(
        self, send: np.ndarray, arrival: np.ndarray, size: np.ndarray, t1: float
    ) -> None:
        env = self.env
        lost = np.isnan(arrival)
        self.interval_loss = float(lost.mean())
        arr_inf = np.where(lost, np.inf, arrival)
        next_arr = np.minimum.accumulate(arr_inf[::-1])[::-1]
        fallback = t1 + 2 * env.interval_ms
        known = (
            np.where(lost, np.where(np.isinf(next_arr), fallback, next_arr), arrival)
            + env.feedback_delay_ms
        )
        seq = np.arange(self.seq, self.seq + send.shape[0], dtype=np.float64)
        self.seq += send.shape[0]
        self.pk_pending = np.concatenate(
            (self.pk_pending, np.stack((known, seq, send, arrival, size))), axis=1
        )

    def since_keyframe_ms(self, t_ms: float) -> float:
        return t_ms - self.last_key_ms

    # --- receiver / MLLM ----------------------------------------------------------------------
    def _accuracy(self, f: int, j: int, at_ms: float) -> float:
        """Accuracy of question ``j`` answered from frame ``f`` seen at ``at_ms``."""
        env = self.env
        q = self.plan.questions[j]
        hit = bool(self.f_roi[f] > 0 and self.f_region[f] == j)
        eq = env.profile.equivalent_kbps(
            self.f_rate[f], self.f_fps[f], int(self.f_roi[f]), q.roi_area, roi_hit=hit
        )
        return env.accuracy_model.p_correct(q, eq, at_ms - self.f_capture[f], self.f_fps[f])

    def answer_questions(self, t1: float, final: bool) -> list[tuple[float, float]]:
        """Questions whose answer is ready by ``t1``: (accuracy, response latency ms) each, in order."""
        plan = self.plan
        out: list[tuple[float, float]] = []
        caps = self.d_capture[: self.n_dec]
        while self.answered < len(plan.questions) and plan.question_ms[self.answered] < t1:
            j = self.answered
            qt = float(plan.question_ms[j])
            k = int(np.searchsorted(caps, qt, side="left"))
            ready = k < self.n_dec and self.d_ms[k] + plan.inference_ms[j] <= t1
            if not ready:
                if final:
                    out.append((0.0, t1 - qt + float(plan.inference_ms[j])))
                    self.answered += 1
                    continue
                break
            dec = float(self.d_ms[k])
            out.append(
                (self._accuracy(int(self.d_idx[k]), j, dec), dec - qt + float(plan.inference_ms[j]))
            )
            self.answered += 1
        return out

    def sample_mllm(self, t0: float, t1: float) -> SampleStats:
        """The MLLM's samples in [t0, t1): the freshest decodable frame stands in for a missing one."""
        period = MS_PER_S / self.env.mllm_fps
        acc: list[float] = []
        stale = 0
        n = 0
        while self.next_sample_ms < t1:
            s = self.next_sample_ms
            self.next_sample_ms += period
            n += 1
            k = int(np.searchsorted(self.d_ms[: self.n_dec], s, side="right")) - 1
            if k < 0:
                stale += 1
                continue
            f = int(self.d_idx[k])
            if f == self.last_sample_frame:
                stale += 1
            self.last_sample_frame = f
            j = self._region_at(s)
            if j >= 0:
                acc.append(self._accuracy(f, j, s))
        return SampleStats(float(np.mean(acc)) if acc else 0.0, stale / n if n else 0.0)

    def frame_delays_ms(self, t0: float, t1: float) -> list[float]:
        """Capture-to-decodable delays of the frames that became decodable in [t0, t1)."""
        d = self.d_ms[: self.n_dec]
        lo, hi = np.searchsorted(d, t0, side="left"), np.searchsorted(d, t1, side="left")
        return (d[lo:hi] - self.d_capture[lo:hi]).tolist()

    # --- feedback -----------------------------------------------------------------------------
    def feedback(self, t_ms: float, sent_bytes: int) -> FeedbackReport:
        """What the sender has learned by ``t_ms`` since the previous report."""
        env = self.env
        due = self.pk_pending[0] <= t_ms
        rep = self.pk_pending[:, due]
        self.pk_pending = self.pk_pending[:, ~due]
        packets = PacketReports(
            seq=rep[1].astype(np.int64),
            send_ms=rep[2],
            arrival_ms=rep[3],
            size_bytes=rep[4].astype(np.int64),
        )
        ready = [r for r in self.fr_pending if r[0] <= t_ms]
        if ready:
            self.fr_pending = (
                self.fr_pending[len(ready) :]
                if ready == self.fr_pending[: len(ready)]
                else [r for r in self.fr_pending if r[0] > t_ms]
            )
            _, ids, caps, decs = zip(*ready, strict=True)
            frames = FrameReports(
                frame_id=np.array(ids, dtype=np.int64),
                capture_ms=np.array(caps, dtype=np.float64),
                decodable_ms=np.array(decs, dtype=np.float64),
            )
        else:
            frames = FrameReports()
        kf = False
        if self.pli_reports:
            kf = any(p <= t_ms for p in self.pli_reports)
            self.pli_reports = [p for p in self.pli_reports if p > t_ms]
        j = self._region_at(t_ms - env.feedback_delay_ms)
        active = (
            self.answered < len(self.plan.questions)
            and self.plan.question_ms[self.answered] <= t_ms
        )
        return FeedbackReport(
            now_ms=t_ms,
            interval_ms=env.interval_ms,
            sent_bytes=sent_bytes,
            packets=packets,
            frames=frames,
            keyframe_request=kf,
            question_active=bool(active),
            roi_known=j >= 0,
            roi_area=self.plan.questions[j].roi_area if j >= 0 else 0.0,
            confidence=self.plan.confidence[j] if j >= 0 else None,
        )

    def capacity_kbps(self, t0: float, t1: float) -> float:
        """Link capacity over [t0, t1) of episode time (privileged: plots and the oracle only)."""
        opps = self._cap_opps
        period = float(self.trace.period_ms)
        start = self.plan.start_ms

        def count(x: float) -> float:
            x += start
            return (x // period) * opps.shape[0] + float(
                np.searchsorted(opps, x % period, side="right")
            )

        return (count(t1) - count(t0)) * MTU_BYTES * 8.0 / (t1 - t0)
