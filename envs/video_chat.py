"""``artic/VideoChat-v0``: live video from a phone to a cloud MLLM over a trace-driven uplink."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from artic_rl.backend import resolve_backend
from artic_rl.control.gcc import observation_estimator
from artic_rl.envs.timeline import EpisodePlan, Timeline, make_timeline, plan_episode
from artic_rl.mllm import AccuracyModel, load_accuracy_model
from artic_rl.net import Link, Trace, load_trace_groups
from artic_rl.net.formats import pooled
from artic_rl.net.rescale import checked_scale, extra_factors
from artic_rl.net.synth import SPLIT_STREAMS
from artic_rl.receiver.config import check_receiver
from artic_rl.sender.actions import MAX_RATE_KBPS, ActionCodec, SenderAction
from artic_rl.sender.observation import ObservationBuilder, observation_space
from artic_rl.video import CodecProfile
from artic_rl.video.extended import ExtendedProfile

MS_PER_S = 1000.0


@dataclass(frozen=True)
class RewardWeights:
    """Weights of the reward terms (``conf/reward/*.yaml``); the unweighted terms travel in ``info``."""

    question: float = 1.0  # per answered question: its accuracy (probability of a correct answer)
    latency_per_s: float = 1.0  # per answered question: per second of response latency over budget
    latency_cap_s: float = 2.0  # a question's latency penalty stops growing after this many s
    sample: float = 0.1  # per control interval: mean accuracy of what the MLLM sampled
    frame_delay_per_s: float = 0.5  # per interval: per second of mean frame delay over frame budget
    frame_delay_cap_s: float = 2.0  # an interval's frame-delay penalty stops growing after this
    bits_per_mbps: float = (
        0.005  # per interval: per Mbps sent (frame delay already prices queueing)
    )
    latency_budget_ms: float | None = None  # latency counted above this; None: the env's budget
    expected_questions: bool = (
        False  # pay probe questions' expected value instead of the asked ones
    )


def _folders(value: str | Path | list[str] | tuple[str, ...] | None, key: str) -> list[Path]:
    """A ``traces_dir``-like argument as a list of folders: one folder, or a list of them."""
    if value is None:
        return []
    if isinstance(value, str | Path):
        return [Path(value)]
    folders = [Path(str(v)) for v in value]
    if not folders:
        raise ValueError(f"{key}: an empty list of folders (null: none)")
    return folders


def _extra_scale(value: float | str | None, extras: bool) -> float | str | None:
    """``extra_scale`` checked (:func:`checked_scale`): None, a number > 0 or ``"match"``, and
    only with extra folders."""
    try:
        scale = checked_scale(value)
    except ValueError as err:
        raise ValueError(f"extra_scale {err}") from None
    if scale is not None and not extras:
        raise ValueError("extra_scale: give extra_traces_dir, the folders it scales")
    return scale


def _lead(value: Any) -> float | tuple[float, float]:
    """``roi_lead_ms``: one lead in ms, or a range ``[low, high]`` (0 <= low <= high)."""
    if isinstance(value, int | float):
        lead = float(value)
        ok = lead >= 0.0
        out: float | tuple[float, float] = lead
    else:
        low, high = (float(x) for x in value)
        ok = 0.0 <= low <= high
        out = (low, high)
    if not ok:
        raise ValueError(f"roi_lead_ms must be >= 0 ms or a range [low, high], got {value!r}")
    return out


def encoder_lag(
    kbps: float,
    last: tuple[float, float] | None,
    dt_s: float,
    *,
    rise_deficit: float,
    rise_s: float,
    drop_overshoot: float,
    drop_s: float,
) -> float:
    """The share of the target ``kbps`` the encoder falls short of at the start of an interval
    (negative: it overshoots), as the streamer's x264 meets a new bitrate
    (``scripts/encoder_undershoot.py --step``): after a rise it sends up to ``rise_deficit`` less,
    never less than the previous target, the shortfall fading with time constant ``rise_s``; after
    a drop from a bitrate it had met it sends up to ``drop_overshoot`` more, fading in ``drop_s``;
    a drop while it is still short keeps the shortfall. ``last``: the previous interval's target
    and lag (None: the encoder opens at this target), ``dt_s`` before this one."""
    if last is None:
        return 0.0
    prev, lag = last
    lag *= math.exp(-dt_s / (rise_s if lag > 0.0 else drop_s))
    if kbps > prev * (1.0 + 1e-9):
        return max(lag, min(rise_deficit, 1.0 - prev / kbps))
    if kbps < prev * (1.0 - 1e-9) and lag <= 0.0:
        return min(lag, -drop_overshoot)
    return lag


class VideoChatEnv(gym.Env[np.ndarray, np.ndarray]):
    """A phone streams live video to a cloud MLLM that answers the user's questions.

    **Description.** Every step is one control interval (``interval_ms``, default 200 ms of simulated
    time). The sender captures at ``capture_fps`` and encodes the frames the chosen frame rate keeps,
    with sizes drawn from a real codec profile (:class:`artic_rl.video.CodecProfile`) at the rate the
    encoder meets, which follows a new bitrate as the streamer's x264 does (:func:`encoder_lag`:
    ``encoder_rise_deficit`` short for ``encoder_rise_s`` after a rise, ``encoder_drop_overshoot``
    over for ``encoder_drop_s`` after a drop; each interval sized, paced and read at its mean); it packetises
    them (``payload_bytes`` + ``header_bytes`` per RTP packet), paces them at ``pacing_factor`` times that
    rate (the streamer's pacer: times the target) and sends them through a trace-driven bottleneck with Mahimahi mm-link semantics
    (:class:`artic_rl.net.Link`: drop-tail queue, one-way ``delay_ms``, optional random loss). The
    receiver decodes a frame once all its packets are in and its reference chain is intact; a lost
    frame breaks prediction until the keyframe the receiver asks for (PLI, ``feedback_delay_ms``
    back) arrives. With ``receiver="artic"`` (Artic's loss-resilient receiver) nothing is
    retransmitted: the MLLM samples the freshest decodable frame at ``mllm_fps`` and a missing frame
    is substituted by the previous one. With ``receiver="webrtc"`` (WebRTC as deployed) lost
    packets are NACKed and retransmitted, frames decode in order and wait in libwebrtc's jitter
    buffer, and a freeze asks for a keyframe (:mod:`artic_rl.receiver`).

    Questions arrive as a Poisson process (mean gap ``question_interval_s``) with parameters drawn
    from the accuracy model (category, region area, single or multi-frame, saturation curve). The
    cloud predicts each question's region ``roi_lead_ms`` ahead (Artic's zero-overhead ROI; a range
    ``[low, high]`` draws each question's lead uniformly, so that no fixed countdown to the question
    exists) and misses with probability ``roi_miss_rate``; frames encoded with an ROI level > 0 around the right region
    give it a higher *equivalent bitrate*. An interval's frames take the region the sender holds at
    its decision (the newest feedback tick it has), as the streamer's sender sets its encoder's ROI
    (``roi_at_decision``; off: the region the cloud holds at each frame's capture). After a bitrate drop a still picture keeps part of what
    its chain's earlier frames coded, fading as ``exp(-t / picture_memory_ms)`` (1,125 ms, measured
    on the chat clip by scripts/picture_memory.py; 0: a frame reads at its own settings only). A
    question is answered with the first decodable frame captured at or after it: its **accuracy** is the accuracy model's probability of a correct answer
    at that frame's equivalent bitrate, and its **response latency** is the time from the question
    until that frame is decodable (capture wait + transmission + decoding order) plus the MLLM's
    inference time (normal, ``inference_ms`` +- ``inference_jitter_ms``).

    **Action space.** ``MultiDiscrete([20, 4, 6])`` (:class:`artic_rl.sender.actions.ActionCodec`):
    target bitrate (20 tiers log-spaced 100 kbps..4 Mbps), ROI level (0 uniform .. 3 strongest),
    frame rate (1, 2, 5, 10, 15, 30 fps). ``max_rate_kbps`` above 4000 continues the bitrate tiers
    with the same spacing up to that ceiling (32000: ``MultiDiscrete([30, 4, 6])``, up to
    27,877 kbps; :meth:`~artic_rl.sender.actions.ActionCodec.up_to`), the first 20 unchanged.

    **Observation space.** ``Box(39,)`` float32, only what a real sender knows, delayed by the feedback
    path; the table with index, feature, unit and bounds is in
    :mod:`artic_rl.sender.observation` (one implementation shared with the runtime streamer).

    **Reward.** Per step, with the weights of :class:`RewardWeights`::

        r = w_q * sum_answered(accuracy)
            - w_lat * sum_answered(min(max(0, latency_ms - latency_budget_ms) / 1000, latency_cap_s))
            + w_s * mean_samples(accuracy of the sampled frame for the current question)
            - w_d * min(max(0, mean frame delay - frame_delay_budget_ms) / 1000, frame_delay_cap_s)
            - w_b * bitrate_kbps / 1000

    Accuracy saturating with bitrate and the latency budget follow the Artic paper (accuracy
    saturates; conversation wants ~300 ms end to end, most of it inference). A question's latency
    penalty stops growing after ``latency_cap_s``: beyond a few seconds the turn is lost anyway, and
    the uplink's outages (tens of seconds, which no sender can shorten) would otherwise dominate the
    return's variance. An interval's frame-delay penalty is capped the same way
    (``frame_delay_cap_s``): uncapped, the burst of seconds-old frames released when an outage ends
    cost a sender more than losing them, so the term rewarded streams whose frames overflow the
    queue in outages (few large frames) rather than streams that keep queueing low.

    ``conf/reward/default.yaml`` holds these weights. ``conf/reward/pareto.yaml`` is the objective
    "correct answers as fast as possible": ``r = sum_answered(accuracy - latency_ms / 1000)`` (no
    budget, no cap, no sample, frame-delay or bits term). Every episode asks the same questions of
    every agent (the schedule depends on the seed only), so its mean return is the question count
    times (mean accuracy - mean latency in s): an agent that is at least as accurate and at least as
    fast as another never scores lower (``artic_rl.evaluation.paired.pareto_disagreements`` checks
    an evaluation table for that). Its exchange rate: 100 ms of response latency = 10 points.

    ``info`` carries every unweighted component: ``accuracy`` and ``latency_ms`` (lists, one per
    question answered in this step; latency uncapped), ``sample_accuracy``, ``frame_delay_ms``
    (list, one per frame that became decodable), ``bitrate_kbps``, ``loss``, ``stale_frames``,
    ``reward_terms`` (the five weighted terms, which sum to the reward), with
    ``expected_questions`` ``probe_latency_ms`` and ``probe_accuracy`` (the probe questions
    answered in this step), on the last step
    ``episode_frame_latency_ms`` (the Artic paper's latency metric, one entry per frame sent:
    capture until decodable, a lost or undecodable frame until the next frame after it is
    decodable; :meth:`~artic_rl.envs.timeline.Timeline.frame_latencies_ms`) and
    ``episode_latency_breakdown_ms`` (retransmission wait, jitter hold, time frozen;
    :meth:`~artic_rl.envs.timeline.Timeline.latency_breakdown_ms`), plus ``feedback`` (the
    :class:`~artic_rl.sender.feedback.FeedbackReport` every agent may read), ``capacity_kbps``
    (this interval, for plots) and ``capacity_kbps_next`` (privileged: oracle only).

    **Starting state.** A trace drawn from the preset's split and a random start offset into it; the
    question schedule, region predictions and inference times are drawn at reset from the reset seed
    before anything else, so every agent run with the same seed meets the same trace and questions.

    **Episode end.** Never terminated; truncated after ``episode_s``. Questions still unanswered then
    count with accuracy 0 and their latency so far.

    **Arguments.** See ``__init__`` and ``conf/env/*.yaml``. ``profile`` and ``accuracy`` also take
    objects (a ``CodecProfile``-like and an ``AccuracyModel``), which tests use for hand-checked timelines.
    ``max_rate_kbps`` (>= 4000, default 4000) is the senders' rate ceiling: the top of the
    bitrate tiers and the ceiling of GCC (the agents' and the observation's estimate,
    :attr:`~artic_rl.sender.actions.ActionCodec.max_rate_kbps`); agents must act through this
    environment's ``codec``. Above 4000 the codec profile, measured up to 4 Mbps, is continued
    in proportion to the target (:class:`artic_rl.video.extended.ExtendedProfile`).
    ``capacity_scale`` (> 0, default 1) multiplies every trace's capacity
    (:meth:`artic_rl.net.Trace.scaled`: delivery opportunities thinned or replicated exactly,
    outages kept where they are), to move a trace set into another capacity regime (the 5G
    mmWave runs into the paper's 5-50 Mbps and below).
    ``feedback_interval_ms`` (>= 0, default 50) batches the receiver's feedback as the streamer's
    receiver does (``conf/stream.yaml``, 50 ms): every packet and frame report is known at the
    receiver's next feedback tick at or after its event (the ticks at multiples of the interval
    from the episode's start, an event on a tick in that tick;
    :func:`artic_rl.receiver.reports.report_tick_ms`), then ``feedback_delay_ms`` later; the
    cloud's question fields (region, pending question, its age) are those of the newest tick
    that has arrived (:func:`~artic_rl.receiver.reports.held_report_ms`). NACKs, PLIs and the
    ``webrtc`` transport's retransmissions are not batched. 0: each report
    ``feedback_delay_ms`` after its event.
    ``backend`` picks the implementation of the hot rules (GCC and the observation, the timeline's
    interval and feedback (:mod:`artic_rl.envs.timeline_compiled`), the link, the ``webrtc``
    receiver's transport event loop):
    ``"python"`` (the readable reference) or ``"compiled"`` (numba kernels, bit for bit equal);
    ``None`` reads ``$ARTIC_BACKEND`` (:mod:`artic_rl.backend`).
    ``receiver`` picks the receive stack: ``"artic"`` (loss-resilient, no retransmission) or
    ``"webrtc"`` (libwebrtc's NACK, jitter buffer and freeze recovery; :mod:`artic_rl.receiver`).
    ``traces_dir`` takes one folder or a list of folders, their traces pooled in the order given
    (:func:`artic_rl.net.load_trace_groups`: a name that two folders share is prefixed with the
    folder, ``static/lte/away_p1-run1``). ``extra_traces_dir`` (training only: ``split`` must be
    ``"train"``) adds the traces of one or more folders to those (the preset's split, or
    ``traces_dir``); ``extra_share`` (in [0, 1], with extras only) is the probability that an
    episode draws its trace from the extras, uniformly among them (the rest uniformly among the
    others; :attr:`trace_probabilities`); None draws every trace alike. ``extra_scale`` (with
    extras only) multiplies the extras' capacity on top of ``capacity_scale``: a number > 0 (each
    extra alike), or ``"match"``: each extra trace rescaled to a target mean taken from the other
    traces' means as scaled (:func:`artic_rl.net.rescale.quantile_means_mbps`: the extras ranked
    by their own means get that distribution's quantiles in order), so the extras bring their
    variability (outages, fades, autocorrelation) into the other traces' capacity regime. Each
    trace is scaled once (:meth:`~artic_rl.net.Trace.scaled` by the product of its factors) and
    deterministically; None keeps the extras as recorded (``capacity_scale`` only).
    ``reset(options=...)`` takes ``trace_index``, ``start_ms`` and ``question_ms`` (a list of question
    times) to pin an episode; each replaces the corresponding draw, the other draws stay the same.

    **Version history.** v0: initial version.
    """

    metadata = {"render_modes": []}  # noqa: RUF012

    def __init__(
        self,
        preset: str = "lte",
        traces_dir: str | list[str] | None = None,
        split: str = "train",
        traces: list[Trace] | None = None,
        traces_root: str | None = None,
        extra_traces_dir: str | list[str] | None = None,
        extra_share: float | None = None,
        extra_scale: float | str | None = None,
        interval_ms: float = 200.0,
        episode_s: float = 60.0,
        delay_ms: float = 20.0,
        feedback_delay_ms: float = 20.0,
        feedback_interval_ms: float = 50.0,
        queue_packets: int | None = 30,
        loss_rate: float = 0.0,
        capacity_scale: float = 1.0,
        max_rate_kbps: float = MAX_RATE_KBPS,
        capture_fps: float = 30.0,
        encode_ms: float = 5.0,
        payload_bytes: int = 1200,
        header_bytes: int = 40,
        pacing_factor: float = 2.5,
        mllm_fps: float = 2.0,
        question_interval_s: float = 4.0,
        roi_lead_ms: float | tuple[float, float] | list[float] = 1500.0,
        roi_miss_rate: float = 0.1,
        roi_at_decision: bool = True,
        picture_memory_ms: float = 1125.0,
        encoder_rise_deficit: float = 0.15,
        encoder_rise_s: float = 5.0,
        encoder_drop_overshoot: float = 0.3,
        encoder_drop_s: float = 0.5,
        inference_ms: float = 250.0,
        inference_jitter_ms: float = 50.0,
        latency_budget_ms: float = 300.0,
        frame_delay_budget_ms: float = 150.0,
        accuracy: str | AccuracyModel = "artic",
        profile: str | CodecProfile | None = None,
        reward: RewardWeights | dict[str, Any] | None = None,
        receiver: str = "artic",
        backend: str | None = None,
    ) -> None:
        """Build the environment; every variant of the system is an argument here (see class docstring)."""
        self.receiver = check_receiver(receiver)  # before any work: an unknown name is one line
        self.backend = resolve_backend(backend)  # python (the reference) or compiled (numba)
        self.codec = ActionCodec.up_to(max_rate_kbps)  # ValueError naming the key when bad
        self.capacity_scale = float(capacity_scale)
        if not np.isfinite(self.capacity_scale) or self.capacity_scale <= 0.0:
            raise ValueError(f"capacity_scale must be > 0, got {capacity_scale!r}")
        self.preset = preset
        extra_dirs = _folders(extra_traces_dir, "extra_traces_dir")
        self.extra_scale = _extra_scale(extra_scale, bool(extra_dirs))
        if extra_dirs and split != "train":
            raise ValueError(
                f"extra_traces_dir: extra traces are training traces; split must be 'train', "
                f"got {split!r}"
            )
        if traces is None:
            groups = self._load_traces(preset, traces_dir, traces_root, split, extra_dirs)
        else:
            given = [("traces", list(traces))]
            groups = given + (load_trace_groups(extra_dirs) if extra_dirs else [])
        n_extra = sum(len(g) for _, g in groups[len(groups) - len(extra_dirs) :])
        self.traces = pooled(groups)
        if len(self.traces) == n_extra:
            raise ValueError(
                f"no traces for preset {preset!r} (traces_dir={traces_dir!r}, split={split!r})"
            )
        self.traces = self._scaled(self.traces, n_extra)
        self.trace_probabilities = self._trace_probabilities(n_extra, extra_share)
        self.interval_ms = float(interval_ms)
        self.episode_ms = float(episode_s) * MS_PER_S
        self.delay_ms = float(delay_ms)
        self.queue_packets = queue_packets
        self.loss_rate = float(loss_rate)
        self.feedback_delay_ms = float(feedback_delay_ms)
        self.feedback_interval_ms = float(feedback_interval_ms)
        if not np.isfinite(self.feedback_interval_ms) or self.feedback_interval_ms < 0.0:
            raise ValueError(
                f"feedback_interval_ms must be >= 0 (0: no batching), got {feedback_interval_ms!r}"
            )
        self.capture_fps = float(capture_fps)
        self.encode_ms = float(encode_ms)
        self.payload_bytes = int(payload_bytes)
        self.header_bytes = int(header_bytes)
        self.pacing_factor = float(pacing_factor)
        self.mllm_fps = float(mllm_fps)
        self.question_interval_s = float(question_interval_s)
        self.roi_lead_ms = _lead(roi_lead_ms)
        self.roi_miss_rate = float(roi_miss_rate)
        self.roi_at_decision = bool(roi_at_decision)
        if not picture_memory_ms >= 0.0:
            raise ValueError(f"picture_memory_ms must be >= 0 ms, got {picture_memory_ms!r}")
        self.picture_memory_ms = float(picture_memory_ms)
        if not 0.0 <= encoder_rise_deficit < 1.0:
            raise ValueError(
                f"encoder_rise_deficit must be in [0, 1), got {encoder_rise_deficit!r}"
            )
        if not encoder_drop_overshoot >= 0.0:
            raise ValueError(f"encoder_drop_overshoot must be >= 0, got {encoder_drop_overshoot!r}")
        if not (encoder_rise_s > 0.0 and encoder_drop_s > 0.0):
            raise ValueError(
                f"encoder_rise_s and encoder_drop_s must be > 0 s, got {encoder_rise_s!r} and "
                f"{encoder_drop_s!r}"
            )
        self.encoder_rise_deficit, self.encoder_rise_s = (
            float(encoder_rise_deficit),
            float(encoder_rise_s),
        )
        self.encoder_drop_overshoot = float(encoder_drop_overshoot)
        self.encoder_drop_s = float(encoder_drop_s)
        self._encoder: tuple[float, float] | None = None  # (last target, the encoder's lag then)
        self.inference_ms = float(inference_ms)
        self.inference_jitter_ms = float(inference_jitter_ms)
        self.latency_budget_ms = float(latency_budget_ms)
        self.frame_delay_budget_ms = float(frame_delay_budget_ms)
        self.weights = (
            reward if isinstance(reward, RewardWeights) else RewardWeights(**(reward or {}))
        )
        self.accuracy_model: AccuracyModel = (
            load_accuracy_model(accuracy) if isinstance(accuracy, str) else accuracy
        )
        measured = (
            CodecProfile.default()
            if profile is None
            else CodecProfile.load(profile)
            if isinstance(profile, str)
            else profile
        )
        self.profile: CodecProfile | ExtendedProfile = measured
        if self.codec.max_rate_kbps > MAX_RATE_KBPS:  # tiers above the profiled grid
            self.profile = ExtendedProfile(measured)
        self.action_space = self.codec.space()
        self.observation_space = observation_space()
        estimator = observation_estimator(self.backend, self.codec.max_rate_kbps)
        self._obs_builder = ObservationBuilder(
            self.interval_ms, estimator, self.mllm_fps, backend=self.backend
        )
        self._timeline: Timeline | None = None
        self._plan: EpisodePlan | None = None

    @staticmethod
    def _load_traces(
        preset: str,
        traces_dir: str | list[str] | None,
        traces_root: str | None,
        split: str,
        extra_dirs: list[Path],
    ) -> list[tuple[str, list[Trace]]]:
        """Each folder's label and traces: ``traces_dir`` (one folder or several), else
        ``traces_root/<preset>/<split>``, then the ``extra_dirs``; names unique across all.

        ``preset`` may join several presets with ``+`` (``lte+3g``): their traces are pooled, so an
        episode draws its network from any of them (training across presets). The environment never
        invents traces: a missing folder is an error (``artic-rl traces generate`` makes them).
        """
        if traces_dir is not None:
            return load_trace_groups([*_folders(traces_dir, "traces_dir"), *extra_dirs])
        if traces_root is None:
            raise ValueError(
                "no traces: give traces_dir (a folder of traces), traces_root (a folder of "
                "<preset>/<split>/, such as the repository's traces/) or traces"
            )
        if split not in SPLIT_STREAMS:
            raise ValueError(f"split must be one of {sorted(SPLIT_STREAMS)}, got {split!r}")
        parts = [p.strip() for p in preset.split("+")]
        if not all(parts):
            raise ValueError(f"preset {preset!r}: an empty name between '+'")
        folders = [Path(traces_root) / p / split for p in parts]
        for folder in folders:
            if not folder.is_dir():
                raise FileNotFoundError(
                    f"{folder}: no traces for preset {folder.parent.name!r}, split {split!r}"
                )
        return load_trace_groups([*folders, *extra_dirs])

    def _scaled(self, traces: list[Trace], n_extra: int) -> list[Trace]:
        """``traces`` with every capacity times ``capacity_scale`` and the extras' (the last
        ``n_extra``) also times their ``extra_scale`` factor (:func:`extra_factors`, against the
        other traces' means as scaled), each trace scaled once by the product."""
        n_base = len(traces) - n_extra
        scale = self.capacity_scale
        base = [t.scaled(scale) for t in traces[:n_base]]
        extras = traces[n_base:]
        factors = extra_factors(
            [scale * t.mean_mbps for t in extras], [t.mean_mbps for t in base], self.extra_scale
        )
        return base + [t.scaled(scale * float(k)) for t, k in zip(extras, factors, strict=True)]

    def _trace_probabilities(self, n_extra: int, extra_share: float | None) -> np.ndarray | None:
        """Each trace's probability of being drawn at reset: the last ``n_extra`` traces (the
        extras) share ``extra_share``, the others the rest; None: uniform (no extra_share)."""
        if extra_share is None:
            return None
        share = float(extra_share)
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"extra_share must be in [0, 1], got {extra_share!r}")
        if n_extra == 0:
            raise ValueError("extra_share: give extra_traces_dir, the folders it weights")
        n_base = len(self.traces) - n_extra
        return np.concatenate(
            [np.full(n_base, (1.0 - share) / n_base), np.full(n_extra, share / n_extra)]
        )

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        options = options or {}
        plan = plan_episode(
            self.np_random,
            n_traces=len(self.traces),
            trace_index=self._draw_trace(options.get("trace_index")),
            period_ms=[t.period_ms for t in self.traces],
            episode_ms=self.episode_ms,
            question_interval_s=self.question_interval_s,
            roi_miss_rate=self.roi_miss_rate,
            inference_ms=self.inference_ms,
            inference_jitter_ms=self.inference_jitter_ms,
            accuracy_model=self.accuracy_model,
            roi_lead_ms=self.roi_lead_ms,
            start_ms=options.get("start_ms"),
            question_ms=options.get("question_ms"),
        )
        self._plan = plan
        dynamics_rng = np.random.default_rng(plan.dynamics_seed)
        trace = self.traces[plan.trace_index]
        link = Link(
            trace,
            delay_ms=self.delay_ms,
            queue_packets=self.queue_packets,
            loss=self.loss_rate if self.loss_rate > 0.0 else None,
            start_ms=plan.start_ms,
            np_random=dynamics_rng,
            backend=self.backend,
        )
        self._timeline = make_timeline(
            env=self,
            plan=plan,
            link=link,
            trace=trace,
            np_random=dynamics_rng,
            receiver=self.receiver,
        )
        self._obs_builder.reset()
        self._last_action = SenderAction(
            rate_kbps=self.codec.bitrates_kbps[0], roi_level=0, fps=30.0
        )
        self._encoder = None  # the encoder opens at the first target
        report = self._timeline.feedback(0.0, 0)
        obs = self._obs_builder.update(report, self._last_action, 0.0)
        info = {"feedback": report, "trace": trace.name, "start_ms": plan.start_ms}
        info["capacity_kbps_next"] = self._next_capacity(0.0)
        return obs, info

    def _draw_trace(self, trace_index: int | None) -> int | None:
        """The episode's trace by :attr:`trace_probabilities` (one draw of ``np_random``), unless
        pinned by ``trace_index``; None: :func:`plan_episode` draws it uniformly."""
        p = self.trace_probabilities
        if trace_index is not None or p is None:
            return trace_index
        return int(self.np_random.choice(len(p), p=p))

    @property
    def trace_index(self) -> int:
        """The index in ``traces`` of the current episode's trace."""
        if self._plan is None:
            raise RuntimeError("call reset() before reading trace_index")
        return int(self._plan.trace_index)

    def set_latency_price(self, per_s: float) -> None:
        """Set the reward's price of response latency (``latency_per_s``): Lagrangian training
        (:class:`artic_rl.training.callbacks.LatencyConstraint`) moves it between rollouts."""
        self.weights = replace(self.weights, latency_per_s=float(per_s))

    def _decode(self, action: np.ndarray) -> SenderAction:
        """``codec.decode``, memoised per action value (a policy acts on a grid of 480)."""
        memo: dict[tuple[Any, ...], SenderAction] = self.__dict__.setdefault("_decoded", {})
        try:
            key = tuple(action.tolist()) if isinstance(action, np.ndarray) else tuple(action)
            act = memo.get(key)
        except TypeError:  # not a sequence of hashable values: let decode say what is wrong
            return self.codec.decode(action)
        if act is None:
            act = self.codec.decode(action)
            if len(memo) < 4096:
                memo[key] = act
        return act

    def _next_capacity(self, t_ms: float) -> float:
        """Link capacity over the next interval (privileged), remembered as the next step's current one."""
        assert self._timeline is not None
        self._capacity_next = self._timeline.capacity_kbps(t_ms, t_ms + self.interval_ms)
        return self._capacity_next

    def _encoded(self, act: SenderAction) -> SenderAction:
        """The action at the rate the encoder meets over this interval: :func:`encoder_lag`, its
        mean over the interval taken off the target (the interval is sent and read at it)."""
        r = act.rate_kbps
        dt_s = self.interval_ms / MS_PER_S
        lag = encoder_lag(
            r,
            self._encoder,
            dt_s,
            rise_deficit=self.encoder_rise_deficit,
            rise_s=self.encoder_rise_s,
            drop_overshoot=self.encoder_drop_overshoot,
            drop_s=self.encoder_drop_s,
        )
        self._encoder = (r, lag)
        if lag == 0.0:
            return act
        tau = self.encoder_rise_s if lag > 0.0 else self.encoder_drop_s
        mean = lag * tau / dt_s * (1.0 - math.exp(-dt_s / tau))
        return SenderAction(rate_kbps=r * (1.0 - mean), roi_level=act.roi_level, fps=act.fps)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._timeline is None:
            raise RuntimeError("call reset() before step()")
        act = self._decode(action)
        tl = self._timeline
        w = self.weights
        t0 = tl.now_ms
        t1 = t0 + self.interval_ms
        sent_bytes = tl.send_interval(self._encoded(act), t0, t1)
        truncated = t1 >= self.episode_ms
        answered = tl.answer_questions(t1, final=truncated)
        paid, weight = answered, 1.0
        if w.expected_questions:  # a probe per interval, worth the question rate x the interval
            paid = tl.answer_probes(t1, final=truncated)
            weight = self.interval_ms / (self.question_interval_s * MS_PER_S)
        samples = tl.sample_mllm(t0, t1)
        frame_delays = tl.frame_delays_ms(t0, t1)
        report = tl.feedback(t1, sent_bytes)
        tl.now_ms = t1
        self._last_action = act
        obs = self._obs_builder.update(report, act, tl.since_keyframe_ms(t1))
        acc = [a for a, _ in answered]
        lat = [lt for _, lt in answered]
        budget = self.latency_budget_ms if w.latency_budget_ms is None else w.latency_budget_ms
        cap_ms = w.latency_cap_s * MS_PER_S
        paid_acc = weight * sum(a for a, _ in paid)  # x 1.0 is exact: asked questions unchanged
        over_budget_s = (
            weight * sum(min(max(0.0, lt - budget), cap_ms) for _, lt in paid) / MS_PER_S
        )
        sample_acc = samples.mean_accuracy
        mean_delay_ms = sum(frame_delays) / len(frame_delays) if frame_delays else 0.0
        delay_excess_s = min(
            max(0.0, mean_delay_ms - self.frame_delay_budget_ms) / MS_PER_S, w.frame_delay_cap_s
        )
        rate_kbps = sent_bytes * 8.0 / self.interval_ms
        terms = {
            "question": w.question * paid_acc,
            "latency": -(w.latency_per_s * over_budget_s),
            "sample": w.sample * sample_acc,
            "frame_delay": -(w.frame_delay_per_s * delay_excess_s),
            "bits": -(w.bits_per_mbps * rate_kbps / MS_PER_S),
        }
        reward = (  # a - b == a + (-b) exactly: the same value as the formula term by term
            terms["question"]
            + terms["latency"]
            + terms["sample"]
            + terms["frame_delay"]
            + terms["bits"]
        )
        info: dict[str, Any] = {
            "accuracy": acc,
            "latency_ms": lat,
            "sample_accuracy": sample_acc,
            "frame_delay_ms": frame_delays,
            "bitrate_kbps": rate_kbps,
            "target_kbps": act.rate_kbps,
            "roi_level": act.roi_level,
            "fps": act.fps,
            "loss": tl.interval_loss,
            "stale_frames": samples.stale_share,
            "feedback": report,
            "capacity_kbps": self._capacity_next,
            "capacity_kbps_next": self._next_capacity(t1),
            "reward_terms": terms,
        }
        if w.expected_questions:
            info["probe_latency_ms"] = [lt for _, lt in paid]
            info["probe_accuracy"] = [a for a, _ in paid]
        if truncated:
            info["episode_frame_latency_ms"] = tl.frame_latencies_ms(t1)
            info["episode_latency_breakdown_ms"] = tl.latency_breakdown_ms(t1)
        return obs, float(reward), False, truncated, info
