"""One streaming session: sender -> emulated link relay -> receiver (+ judge), then the report.

:func:`run_stream` wires the parts on 127.0.0.1, runs them on their own threads for ``seconds`` (or
until ``stop`` is set: ``stream.py`` sets it on SIGINT / SIGTERM) and returns the report that
``stream.py`` writes as ``report.json`` (plus ``report.png``).
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from artic_rl.agents.base import Agent
from artic_rl.runtime.receiver import Receiver, StreamQuestion
from artic_rl.runtime.relay import Clock, LinkRelay, PathModel
from artic_rl.runtime.sender import Sender, video_frames
from artic_rl.runtime.webrtc_rx import model_state
from artic_rl.sender.actions import SenderAction


@dataclass(frozen=True)
class StreamSettings:
    """The session's knobs (``conf/stream.yaml``); defaults follow the simulator's (``conf/env``)."""

    seconds: float = 30.0
    width: int = 640
    height: int = 360
    capture_fps: float = 30.0
    interval_ms: float = 200.0
    pacing_factor: float = 2.5
    delay_ms: float = 20.0  # one-way delay of the uplink after the bottleneck
    feedback_delay_ms: float = 20.0  # one-way delay of the feedback path
    queue_packets: int | None = 30
    loss_rate: float = 0.0
    feedback_interval_ms: float = 50.0
    mllm_fps: float = 2.0
    roi_lead_ms: float = 1500.0
    question_interval_s: float = 4.0
    first_question_s: float = 2.0
    question_jitter_ms: float = 1000.0
    initial_kbps: float = (
        100.0  # the previous bitrate the first decision sees (simulator: lowest tier)
    )
    encoder_preset: str = "veryfast"
    rate_headroom: float = (
        1.0  # encoder re-opens (IDR) only above headroom x the bitrate at opening
    )
    live_rate_encoder: bool = True  # bitrate rises live up to the top tier (no re-open IDR)
    seed: int = 0
    host: str = "127.0.0.1"
    receiver: str = "artic"  # artic (loss-resilient) | webrtc (NACK/RTX, jitter buffer)
    profile: str | None = None  # codec profile file (the keyframes' sizes); None = shipped default


def load_questions(path: str | Path | None, settings: StreamSettings) -> tuple[StreamQuestion, ...]:
    """The clip's questions (``artic-rl clips`` JSON: ``width``, ``height``, ``questions`` with
    ``question``, ``answer``, ``region`` {x, y, w, h}), asked in turn every ``question_interval_s``
    plus a random phase in ``[0, question_jitter_ms)`` (seeded): a user's question falls anywhere
    between two captured frames."""
    if path is None or not Path(path).is_file():
        return ()
    doc = json.loads(Path(path).read_text())
    w, h = float(doc["width"]), float(doc["height"])
    items = doc["questions"]
    if not items:
        return ()
    out = []
    rng = np.random.default_rng(settings.seed)
    t_s = settings.first_question_s
    k = 0
    while t_s < settings.seconds - 0.5:
        q = items[k % len(items)]
        r = q.get("region")
        box = None
        if r:
            x0, y0 = max(r["x"] / w, 0.0), max(r["y"] / h, 0.0)
            box = (x0, y0, min((r["x"] + r["w"]) / w, 1.0), min((r["y"] + r["h"]) / h, 1.0))
        asked_ms = t_s * 1000.0 + float(rng.uniform(0.0, settings.question_jitter_ms))
        out.append(StreamQuestion(q["question"], str(q["answer"]), asked_ms, box))
        t_s += settings.question_interval_s
        k += 1
    return tuple(out)


def _make_encoder(settings: StreamSettings) -> Any:
    from artic_rl.runtime.encoder import make_encoder
    from artic_rl.video.encoder import EncoderSettings
    from artic_rl.video.profile import CodecProfile

    enc_settings = EncoderSettings(
        width=settings.width,
        height=settings.height,
        preset=settings.encoder_preset,
        nominal_fps=settings.capture_fps,
        rate_headroom=settings.rate_headroom,
        threads=1,
    )
    profile = (
        CodecProfile.default() if settings.profile is None else CodecProfile.load(settings.profile)
    )
    return make_encoder(
        enc_settings,
        settings.initial_kbps,
        settings.capture_fps,
        settings.live_rate_encoder,
        profile,
    )


def _region_of(settings: StreamSettings) -> Any:
    from artic_rl.video.roi import Region

    def region(box: tuple[float, float, float, float]) -> Region | None:
        x0, y0 = int(box[0] * settings.width), int(box[1] * settings.height)
        w, h = int((box[2] - box[0]) * settings.width), int((box[3] - box[1]) * settings.height)
        return Region(x0, y0, w, h) if w > 0 and h > 0 else None

    return region


def run_stream(
    agent: Agent,
    video: str | Path,
    uplink: PathModel,
    downlink: PathModel,
    settings: StreamSettings,
    questions: tuple[StreamQuestion, ...] = (),
    judge: Any = None,
    grader: Any = None,
    stop: threading.Event | None = None,
    confidence_of: Any = None,
) -> dict[str, Any]:
    """Stream ``video`` for ``settings.seconds`` and return the report (see :func:`build_report`)."""
    stop = stop or threading.Event()
    clock = Clock()
    agent.reset()
    receiver = Receiver(
        clock,
        ("127.0.0.1", 0),
        judge,
        grader,
        questions,
        settings.feedback_interval_ms,
        settings.mllm_fps,
        settings.roi_lead_ms,
        host=settings.host,
        confidence_of=confidence_of,
        receiver=settings.receiver,
    )
    sender = Sender(
        agent,
        _make_encoder(settings),
        video_frames(video, settings.width, settings.height),
        ("127.0.0.1", 0),
        clock,
        settings.interval_ms,
        settings.capture_fps,
        settings.pacing_factor,
        initial_action=SenderAction(settings.initial_kbps, 0, settings.capture_fps),
        region_of=_region_of(settings),
        host=settings.host,
        receiver=settings.receiver,
    )
    relay = LinkRelay(uplink, downlink, receiver.address, sender.address, clock, settings.host)
    sender.media_addr, receiver.feedback_addr = relay.media.address, relay.feedback.address
    relay.start()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    # session time 0 = the first capture, as in the simulator (questions and the trace share it);
    # set before the receiver starts, whose report ticks and MLLM samples keep to it
    clock.epoch_s = time.monotonic()
    rx = threading.Thread(target=receiver.run, args=(stop,), name="receiver", daemon=True)
    rx.start()
    try:
        sender.run(stop, settings.seconds * 1000.0)
        time.sleep(0.3)  # let the last frames drain through the link
    finally:
        stop.set()
        rx.join(timeout=60.0)
        relay.stop()
    cpu_s, wall_s = time.process_time() - cpu0, time.perf_counter() - wall0
    return build_report(sender, receiver, relay, settings, cpu_s, wall_s)


def _stats(values: list[float]) -> dict[str, float]:
    a = np.asarray([v for v in values if not math.isnan(v)], dtype=np.float64)
    if a.size == 0:
        return {
            "n": 0,
            "mean": math.nan,
            "p50": math.nan,
            "p95": math.nan,
            "p99": math.nan,
            "max": math.nan,
        }
    return {
        "n": int(a.size),
        "mean": float(a.mean()),
        "p50": float(np.percentile(a, 50)),
        "p95": float(np.percentile(a, 95)),
        "p99": float(np.percentile(a, 99)),
        "max": float(a.max()),
    }


def _series(
    t_ms: list[float], delay_ms: list[float], max_points: int = 5000
) -> dict[str, list[float]]:
    """Per-frame delay over time, thinned to at most ``max_points``."""
    step = max(1, math.ceil(len(t_ms) / max_points))
    return {"decoded_at_ms": t_ms[::step], "frame_delay_ms": delay_ms[::step]}


def build_report(
    sender: Sender,
    receiver: Receiver,
    relay: LinkRelay,
    settings: StreamSettings,
    cpu_s: float,
    wall_s: float,
) -> dict[str, Any]:
    """Frames sent / delivered / substituted, frame delay, accuracy, response latency, bitrate, CPU
    and the real-time factor (CPU seconds per second of video: below 1 keeps up on one core)."""
    s, r = sender.log, receiver.log
    results = r.results
    media_s = s.frames_captured / settings.capture_fps
    answered = [q for q in results if not math.isnan(q.frame_capture_ms)]
    return {
        "settings": asdict(settings),
        "receiver": settings.receiver,
        "frames": {
            "captured": s.frames_captured,
            "sent": s.frames_encoded,
            "keyframes": s.keyframes,
            "encoder_reopens": s.reopens,
            "delivered": r.frames_decoded,
            "undecodable": r.frames_undecodable,
            "substituted": s.frames_encoded - r.frames_decoded,
            "mllm_samples": r.samples,
            "mllm_stale_samples": r.stale_samples,
        },
        "frame_delay_ms": _stats(r.frame_delay_ms),
        "questions": {
            "asked": len(results),
            "answered": len(answered),
            "accuracy_pct": 100.0 * float(np.mean([q.correct for q in results]))
            if results
            else math.nan,
            "response_latency_ms": _stats([q.latency_ms for q in results]),
            "network_latency_ms": _stats([q.network_ms for q in results]),
            "judge_ms": _stats([q.judge_ms for q in answered]),
            "items": [asdict(q) for q in results],
        },
        "bitrate": {
            "sent_kbps": s.bytes_sent * 8.0 / max(media_s, 1e-9) / 1000.0,
            "target_kbps_mean": float(np.mean([d["rate_kbps"] for d in s.decisions]))
            if s.decisions
            else math.nan,
            "decisions": s.decisions,
        },
        "observations": s.observations,
        "packets": {
            "sent": s.packets_sent,
            "link_dropped": relay.media.stats.dropped,
            "delivered": relay.media.stats.delivered,
            "relay_lateness_ms_mean": relay.media.stats.mean_lateness_ms,
            "relay_lateness_ms_max": relay.media.stats.max_lateness_ms,
            "pacer_drops": s.pacer_drops,
            "plis": r.plis,
            "keyframe_requests_at_sender": s.keyframe_requests,
            "keyframe_requests_honoured": s.keyframe_requests_honoured,
            "nacks": r.nacks,
            "nacked_packets": r.nacked_packets,
            "nacked_at_sender": s.nacked_packets,
            "rtx_sent": s.rtx_packets,
            "rtx_bytes": s.rtx_bytes,
            "rtx_received": r.rtx_received,
            "malformed": r.malformed,
            "assembler": asdict(receiver.assembler.stats),
        },
        "series": _series(r.decoded_at_ms, r.frame_delay_ms),
        "latency_breakdown_ms": receiver.latency_breakdown_ms(media_s * 1000.0),
        "webrtc": {
            "frames_recovered": r.frames_recovered,
            "frames_dropped_late": r.frames_dropped_late,
            "rtt_ms_mean": float(np.mean(r.rtt_ms)) if r.rtt_ms else math.nan,
            "model": {}
            if receiver.webrtc is None
            else model_state(receiver.webrtc.model, media_s * 1000.0),
        },
        "cpu": {
            "process_cpu_s": cpu_s,
            "wall_s": wall_s,
            "media_s": media_s,
            "sender_busy_s": s.busy_s,
            "late_capture_ticks": s.late_ticks,
            "realtime_factor": cpu_s / max(media_s, 1e-9),
            "sender_realtime_factor": s.busy_s / max(media_s, 1e-9),
        },
    }
