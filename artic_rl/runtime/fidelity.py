"""Simulator fidelity: the same policy, trace and question times in ``artic/VideoChat-v0`` and in
the real-time streamer, side by side.

What is compared like for like: the response latency's network part (question -> first decodable
frame captured at or after it; the simulator is run with zero inference time for this) and the
frame delay; the full response latency adds each side's own inference (the simulator's model,
the streamer's measured judge time). Accuracy: the simulator's accuracy model (``ocr`` by default:
fitted to the OCR judge's measurements) against the judge's graded answers on the real clip. Both
sides count 1080p-equivalent kbps: the streamer's encoder converts through bits per pixel in one
place (:class:`artic_rl.runtime.encoder.ReferenceRateEncoder`), so the model is used unscaled.

The simulator's settings are the env config's (``cfg.env.kwargs``, composed from ``conf/env``):
:func:`simulate` overrides only what the comparison pins (the trace, the episode length, zero
inference time, the session's receiver, the clip's question regions).
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from artic_rl.agents.base import Agent
from artic_rl.net import Trace
from artic_rl.runtime.receiver import StreamQuestion
from artic_rl.runtime.streamer import StreamSettings

GOAL_ACCURACY_POINTS = 10.0
GOAL_LATENCY_REL = 0.25
GOAL_LATENCY_P95_REL = 0.35


def session_question(
    model: Any, seed: int, text: str, curve: dict[str, float] | None = None
) -> Any:
    """The simulator's :class:`~artic_rl.mllm.accuracy.Question` for a streamed question: drawn
    from ``model`` seeded by the session's seed and the question's text, with the clip's own curve
    (``artic-rl accuracy clip-curves``) in place of the drawn one when there is one. The streamer's
    cloud reports its readability confidence and the simulator answers it: one question, both
    worlds."""
    q = model.sample_question(np.random.default_rng([seed, zlib.crc32(text.encode())]))
    if curve is not None:
        q = dataclasses.replace(q, category="text", multi_frame=False, curve_id=-1, **curve)
    return q


class ClipQuestions:
    """An accuracy model whose k-th drawn question is the streamed session's k-th question.

    ``questions``: the session's questions (:func:`session_question`), with the streamed regions'
    areas (frame fractions) as ``roi_area``; asked in turn. ``None``: the model's own draws. The
    model still draws from ``np_random`` for each question, so the rest of the episode's plan is
    the same either way.
    """

    def __init__(self, model: Any, questions: list[Any] | None = None) -> None:
        self.model = model
        self.questions = questions
        self._drawn = 0

    def sample_question(self, np_random: np.random.Generator) -> Any:
        q = self.model.sample_question(np_random)
        if self.questions:
            q = self.questions[self._drawn % len(self.questions)]
        self._drawn += 1
        return q

    def p_correct(
        self,
        q: Any,
        equivalent_kbps: float,
        staleness_ms: float = 0.0,
        fps: float = 30.0,
        age_ms: float = math.nan,
    ) -> float:
        return float(self.model.p_correct(q, equivalent_kbps, staleness_ms, fps, age_ms))

    def confidence_at(self, q: Any, kbps: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.confidence_at(q, np.asarray(kbps)))


def cloud_confidence(
    accuracy: str, settings: StreamSettings, curves: Mapping[str, dict[str, float]] | None = None
) -> Callable[[StreamQuestion], tuple[float, ...]]:
    """The cloud's readability confidence at ``CONFIDENCE_TIERS_KBPS`` for a streamed question: its
    :func:`session_question` (``curves``: the clip's own, by question text), in the same
    1080p-equivalent kbps as the stream. What the simulator's cloud reports, for the agents that
    read it (``artic``, ReCapABR, the learned policy)."""
    from artic_rl.mllm import load_accuracy_model
    from artic_rl.sender.feedback import CONFIDENCE_TIERS_KBPS

    model = load_accuracy_model(accuracy)
    tiers = np.asarray(CONFIDENCE_TIERS_KBPS)
    cache: dict[str, tuple[float, ...]] = {}

    def confidence(q: StreamQuestion) -> tuple[float, ...]:
        if q.question not in cache:
            curve = curves.get(q.question) if curves else None
            drawn = session_question(model, settings.seed, q.question, curve)
            cache[q.question] = tuple(float(c) for c in model.confidence_at(drawn, tiers))
        return cache[q.question]

    return confidence


class RecordingAgent(Agent):
    """Wraps an agent and keeps every observation it was asked to act on (for feature-by-feature
    comparisons between the simulator and the streamer)."""

    def __init__(self, inner: Agent) -> None:
        super().__init__(inner.codec, inner.interval_ms)
        self.inner = inner
        self.name = inner.name
        self.observations: list[list[float]] = []
        self.actions: list[tuple[float, float, float]] = []  # (rate_kbps, roi_level, fps)

    def reset(self) -> None:
        self.inner.reset()
        self.observations, self.actions = [], []

    def observe(self, feedback: Any) -> None:
        self.inner.observe(feedback)

    def act(self, observation: np.ndarray) -> np.ndarray:
        return self.inner.act(observation)

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, Any]:
        self.observations.append([float(v) for v in np.asarray(observation).ravel()])
        action, state = self.inner.predict(observation, state, episode_start, deterministic)
        act = self.codec.decode(np.asarray(action).ravel())
        self.actions.append((act.rate_kbps, float(act.roi_level), act.fps))
        return action, state


class ReplayAgent(Agent):
    """Sends the streamed session's decisions in turn (rate, ROI level, frame rate per control
    interval), whatever it observes: the simulator's transport and receiver against the stream's
    with the same actions, so that a policy's divergence from one small difference in what it
    observes cannot decide the comparison (open loop)."""

    def __init__(self, decisions: list[tuple[float, float, float]], interval_ms: float) -> None:
        super().__init__(None, interval_ms)
        self.name = "replay"
        self.decisions = decisions
        self._k = 0

    def reset(self) -> None:
        self._k = 0

    def act(self, observation: np.ndarray) -> np.ndarray:
        rate, roi, fps = self.decisions[min(self._k, len(self.decisions) - 1)]
        self._k += 1
        return self.codec.encode(rate, int(roi), fps)


#: env.kwargs the comparison pins itself (the trace, the length, the answer model, the receiver,
#: the receiver's report period)
PINNED_ENV_KEYS = (
    "preset",
    "traces_root",
    "traces_dir",
    "split",
    "traces",
    "episode_s",
    "feedback_interval_ms",
)


def simulate(
    agent: Agent,
    trace: Trace,
    env_kwargs: Mapping[str, Any],
    settings: StreamSettings,
    question_ms: list[float],
    trace_start_ms: float = 0.0,
    seed: int = 0,
    asked: list[tuple[str, float]] | None = None,
    receiver: str | None = None,
    curves: Mapping[str, dict[str, float]] | None = None,
) -> dict[str, Any]:
    """One episode of the simulator as the env config describes it (``env_kwargs``: the composed
    ``cfg.env.kwargs``, every ``VideoChatEnv`` argument), on ``trace`` for ``settings.seconds``,
    with the session's question times, zero inference time, the same receiver (default: the
    session's ``settings.receiver``) and the session's report period
    (``settings.feedback_interval_ms``: the streamer's receiver batches its packet and frame
    reports; ``env_kwargs``' own is not read), and no missed region: the streamer's cloud reports
    each question's own box, so ``roi_miss_rate`` is 0 (the plan's draws are unchanged); the
    frames take the region the sender holds at each decision (``roi_at_decision``), as the
    streamer's sender sets its encoder's ROI from the newest report it has. ``asked``: the session's questions in order,
    (text, region area as a frame fraction; 0: the model's own area), answered as
    :func:`session_question` (``curves``: the clip's own, by question text), the questions whose
    confidence the streamer's cloud reported."""
    from artic_rl.envs.video_chat import VideoChatEnv
    from artic_rl.evaluation.rollout import run_episode
    from artic_rl.mllm import load_accuracy_model

    kwargs = {k: v for k, v in env_kwargs.items() if k not in PINNED_ENV_KEYS}
    accuracy = kwargs.get("accuracy", "ocr")
    model = load_accuracy_model(accuracy) if isinstance(accuracy, str) else accuracy
    questions = None
    if asked:
        questions = []
        for text, area in asked:
            q = session_question(model, settings.seed, text, (curves or {}).get(text))
            questions.append(dataclasses.replace(q, roi_area=area) if area > 0 else q)
    kwargs.update(
        traces=[trace],
        episode_s=settings.seconds,
        inference_ms=0.0,
        inference_jitter_ms=0.0,
        accuracy=ClipQuestions(model, questions),
        receiver=receiver or settings.receiver,
        feedback_interval_ms=settings.feedback_interval_ms,
        roi_miss_rate=0.0,  # the streamer's cloud knows every question's box
        roi_at_decision=True,  # the streamer's sender sets the ROI at each decision
    )
    env = VideoChatEnv(**kwargs)
    options = {"start_ms": trace_start_ms, "question_ms": list(question_ms), "trace_index": 0}
    recorder = RecordingAgent(agent)
    result = run_episode(env, recorder, seed, options)
    summary = result.summary()
    summary["question_accuracy"] = [float(a) for a in result.accuracy]  # in the order asked
    summary["question_latency_ms"] = [float(x) for x in result.latency_ms]
    summary["observations"] = recorder.observations
    summary["actions"] = recorder.actions
    summary["keyframes"] = 1 + keyframe_intervals(recorder.observations)
    summary["frame_delay_p50_ms"] = (
        float(np.median(result.frame_delay_ms)) if result.frame_delay_ms else math.nan
    )
    timeline = getattr(env, "_timeline", None)
    if timeline is not None:
        end_ms = settings.seconds * 1000.0
        decoded = sum(d < end_ms for d in timeline.decoded.decodable_ms)
        summary["frames_sent"] = int(timeline.n_frames)
        summary["substituted"] = int(timeline.n_frames - decoded)
        summary["latency_breakdown_ms"] = timeline.latency_breakdown_ms(end_ms)
        transport = getattr(timeline, "transport", None)
        if transport is not None:
            from artic_rl.runtime.webrtc_rx import model_state

            summary["webrtc_model"] = model_state(transport.rx, end_ms)
    return summary


def keyframe_intervals(observations: list[list[float]]) -> int:
    """Control intervals after the first that saw a keyframe: ``since_keyframe`` went down."""
    from artic_rl.sender.observation import FEATURE_NAMES

    k = FEATURE_NAMES.index("since_keyframe")
    return sum(b[k] < a[k] for a, b in zip(observations, observations[1:], strict=False))


def observation_means(stream: dict[str, Any], sim: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per-feature mean of the policy's input on both sides, over the steps both took."""
    from artic_rl.sender.observation import FEATURE_NAMES

    a, b = np.asarray(stream.get("observations", [])), np.asarray(sim.get("observations", []))
    n = min(len(a), len(b))
    if n == 0:
        return {}
    ma, mb = a[:n].mean(axis=0), b[:n].mean(axis=0)
    width = min(len(ma), len(mb))  # a report from an older, shorter observation: its features
    return {
        name: {"stream": float(ma[i]), "simulator": float(mb[i])}
        for i, name in enumerate(FEATURE_NAMES[:width])
    }


def side_by_side(stream: dict[str, Any], sim: dict[str, Any]) -> dict[str, Any]:
    """The compared figures, their differences and whether the goals are met."""
    q = stream["questions"]
    rows = {
        "accuracy_pct": (q["accuracy_pct"], sim["accuracy_pct"]),
        "network_latency_mean_ms": (q["network_latency_ms"]["mean"], sim["latency_mean_ms"]),
        "network_latency_p95_ms": (q["network_latency_ms"]["p95"], sim["latency_p95_ms"]),
        "frame_delay_mean_ms": (stream["frame_delay_ms"]["mean"], sim["frame_delay_ms"]),
        "frame_delay_p50_ms": (stream["frame_delay_ms"]["p50"], sim["frame_delay_p50_ms"]),
        "bitrate_kbps": (stream["bitrate"]["sent_kbps"], sim["bitrate_kbps"]),
        "keyframes": (
            stream.get("frames", {}).get("keyframes", math.nan),
            sim.get("keyframes", math.nan),
        ),
        "substituted_frames": (
            stream.get("frames", {}).get("substituted", math.nan),
            sim.get("substituted", math.nan),
        ),
        "questions": (q["asked"], sim["questions"]),
    }
    # where the frame latency goes (both receivers) and, with the webrtc receiver, the jitter
    # buffer's state at the end: its hold follows the largest frame it has seen
    lb, slb = stream.get("latency_breakdown_ms"), sim.get("latency_breakdown_ms")
    if lb and slb:
        for key in ("retransmission_wait", "jitter_hold", "frozen"):
            rows[f"{key}_ms"] = (lb[key], slb[key])
    model, smodel = stream.get("webrtc", {}).get("model"), sim.get("webrtc_model")
    if model and smodel:
        for key in ("jitter_ms", "max_frame_bytes", "avg_frame_bytes", "rtt_ms"):
            rows[f"receiver_{key}"] = (model[key], smodel[key])
    return {
        "rows": {k: {"stream": a, "simulator": b} for k, (a, b) in rows.items()},
        "observation_means": observation_means(stream, sim),
        **goal_gaps(stream, sim),
    }


def goal_gaps(stream: dict[str, Any], sim: dict[str, Any]) -> dict[str, Any]:
    """The goals' three gaps between a streamed session and a simulated episode, and which hold."""
    q = stream["questions"]
    acc = abs(q["accuracy_pct"] - sim["accuracy_pct"])
    mean = _rel_gap(q["network_latency_ms"]["mean"], sim["latency_mean_ms"])
    p95 = _rel_gap(q["network_latency_ms"]["p95"], sim["latency_p95_ms"])
    return {
        "accuracy_gap_points": acc,
        "latency_gap_rel": mean,
        "latency_p95_gap_rel": p95,
        "accuracy_goal_met": bool(acc <= GOAL_ACCURACY_POINTS),
        "latency_goal_met": bool(mean <= GOAL_LATENCY_REL),
        "latency_p95_goal_met": bool(p95 <= GOAL_LATENCY_P95_REL),
    }


def replay_gaps(stream: dict[str, Any], sim: dict[str, Any]) -> dict[str, Any]:
    """The simulator replaying a session's decisions (open loop): its figures and the gaps."""
    gaps = goal_gaps(stream, sim)
    met = gaps["accuracy_goal_met"] and gaps["latency_goal_met"] and gaps["latency_p95_goal_met"]
    return {
        "accuracy_pct": sim["accuracy_pct"],
        "latency_mean_ms": sim["latency_mean_ms"],
        "latency_p95_ms": sim["latency_p95_ms"],
        "bitrate_kbps": sim.get("bitrate_kbps", math.nan),
        "keyframes": sim.get("keyframes", math.nan),
        "substituted": sim.get("substituted", math.nan),
        "question_accuracy": sim.get("question_accuracy", []),
        "question_latency_ms": sim.get("question_latency_ms", []),
        **gaps,
        "goals_met": met,
    }


def _rel_gap(streamed: float, simulated: float) -> float:
    """|streamed - simulated| / simulated (NaN when the simulated value is not positive)."""
    return abs(streamed - simulated) / simulated if simulated > 0 else math.nan


def format_table(cmp: dict[str, Any]) -> str:
    lines = [f"{'':28s} {'stream.py':>12s} {'simulator':>12s}"]
    for k, row in cmp["rows"].items():
        lines.append(f"{k:28s} {row['stream']:12.1f} {row['simulator']:12.1f}")
    lines.append(
        f"accuracy gap {cmp['accuracy_gap_points']:.1f} points (goal <= {GOAL_ACCURACY_POINTS:.0f}), "
        f"mean network latency gap {100 * cmp['latency_gap_rel']:.0f}% (goal <= {100 * GOAL_LATENCY_REL:.0f}%)"
    )
    return "\n".join(lines)


def pool_sessions(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Several sessions of one cell (the same trace, agent, receiver, clip and question times)
    as one: each side's questions pooled, the three goals' gaps on the pooled figures, and the
    stream's own spread from session to session (its noise floor: what no simulator can be
    nearer to on one session).

    ``stream`` / ``simulator`` / ``replayed``: accuracy % and mean and p95 latency over the
    pooled questions (``replayed`` only when every session has its open-loop replay);
    ``stream_spread``: the largest difference between two sessions' streamed figures, in the
    goals' units (points, and relative to the sessions' mean)."""
    if not reports:
        raise ValueError("no sessions to pool")
    items = [q for r in reports for q in r["questions"]["items"]]
    stream = _pooled([float(q["correct"]) for q in items], [float(q["network_ms"]) for q in items])

    def side(key: str) -> dict[str, float]:
        sides = [r["fidelity"][key] for r in reports]
        acc = [float(a) for s in sides for a in s["question_accuracy"]]
        return _pooled(acc, [float(x) for s in sides for x in s["question_latency_ms"]])

    sim = side("simulator")
    streamed = {"questions": {"accuracy_pct": stream["accuracy_pct"], "network_latency_ms": {
        "mean": stream["latency_mean_ms"], "p95": stream["latency_p95_ms"]}}}  # fmt: skip
    out: dict[str, Any] = {
        "sessions": len(reports),
        "questions": len(items),
        "stream": stream,
        "simulator": sim,
        **goal_gaps(streamed, sim),
        "stream_spread": _spread(reports),
    }
    if all(r["fidelity"].get("replayed") and "question_accuracy" in r["fidelity"]["replayed"]
           for r in reports):  # fmt: skip
        out["replayed"] = replay_gaps(streamed, side("replayed"))
    return out


def _pooled(accuracy: list[float], latency_ms: list[float]) -> dict[str, float]:
    """Accuracy % and the mean and p95 of latency, as a session's report computes them."""
    return {
        "accuracy_pct": 100.0 * float(np.mean(accuracy)) if accuracy else math.nan,
        "latency_mean_ms": float(np.mean(latency_ms)) if latency_ms else math.nan,
        "latency_p95_ms": float(np.percentile(latency_ms, 95)) if latency_ms else math.nan,
    }


def _spread(reports: list[dict[str, Any]]) -> dict[str, float]:
    """The largest session-to-session difference of the streamed figures: accuracy in points,
    mean and p95 network latency relative to the sessions' mean (NaN for one session)."""
    if len(reports) < 2:
        return {"accuracy_points": math.nan, "latency_rel": math.nan, "latency_p95_rel": math.nan}
    q = [r["questions"] for r in reports]
    acc = [x["accuracy_pct"] for x in q]
    mean = [x["network_latency_ms"]["mean"] for x in q]
    p95 = [x["network_latency_ms"]["p95"] for x in q]
    return {
        "accuracy_points": float(max(acc) - min(acc)),
        "latency_rel": float((max(mean) - min(mean)) / np.mean(mean)),
        "latency_p95_rel": float((max(p95) - min(p95)) / np.mean(p95)),
    }
