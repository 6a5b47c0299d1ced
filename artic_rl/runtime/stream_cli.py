"""The library behind ``python stream.py``: build the parts from the config, stream, write the report.

SIGINT / SIGTERM stop the session cleanly: the threads wind down and the report is still written.
"""

from __future__ import annotations

import json
import math
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from artic_rl.agents.base import Agent
from artic_rl.errors import check
from artic_rl.runtime.streamer import StreamSettings, load_questions, run_stream
from artic_rl.video.probe import probe_video

#: StreamSettings keys that are simulator settings too: read from the env group (conf/env/base.yaml),
#: so the streamer and the simulator it is compared with cannot disagree. ``feedback_interval_ms``
#: goes the other way: the streamer's receiver always batches its reports (a stream key, > 0), and
#: the simulator beside it takes the session's (:func:`artic_rl.runtime.fidelity.simulate`), so a
#: saved session without the key is simulated with StreamSettings' default, 50 ms.
SIM_KEYS: tuple[str, ...] = (
    "capture_fps",
    "interval_ms",
    "pacing_factor",
    "delay_ms",
    "feedback_delay_ms",
    "queue_packets",
    "loss_rate",
    "mllm_fps",
    "roi_lead_ms",
    "question_interval_s",
    "profile",
)
SETTINGS_KEYS = tuple(k for k in StreamSettings.__dataclass_fields__ if k not in SIM_KEYS)


def stream_receiver(cfg: DictConfig) -> str:
    """The receive stack: ``receiver`` if set; else the agent's own (``conf/agent/<name>.yaml``
    ``receiver``); an exported policy (``policy=FILE.onnx``), or an agent naming none: ``artic``."""
    if cfg.get("receiver"):
        return str(cfg.receiver)
    agent = None if cfg.get("policy") else cfg.get("agent")
    return str(agent.get("receiver") or "artic") if agent else "artic"


def stream_settings(cfg: DictConfig) -> StreamSettings:
    """The session's settings: the stream's own keys, and the simulator's from ``cfg.env.kwargs``."""
    own = {k: cfg[k] for k in SETTINGS_KEYS if k in cfg}
    own["receiver"] = stream_receiver(cfg)
    return StreamSettings(**own, **{k: cfg.env.kwargs[k] for k in SIM_KEYS})


def make_agent_from(policy: str | None, agent_cfg: Any, interval_ms: float) -> Agent:
    """An exported ONNX policy, or the agent of ``conf/agent/<name>.yaml`` (``_target_`` + kwargs)."""
    if policy:
        from artic_rl.runtime.policy import OnnxPolicy

        return OnnxPolicy(policy, interval_ms=interval_ms)
    if not agent_cfg:
        raise ValueError("give policy=FILE.onnx or agent=NAME (conf/agent/NAME.yaml)")
    from omegaconf import OmegaConf

    from artic_rl.agents.registry import build_agent

    config = (
        OmegaConf.to_container(agent_cfg, resolve=True)
        if not isinstance(agent_cfg, dict)
        else agent_cfg
    )
    assert isinstance(config, dict)
    return build_agent({str(k): v for k, v in config.items()}, interval_ms)


def make_judge(name: str, kwargs: dict[str, Any]) -> Any:
    """``ocr`` (offline, warmed up so model loading does not land on the first question),
    ``openai`` (OpenAI-compatible chat backend) or ``none``."""
    if name == "none":
        return None
    if name == "ocr":
        from artic_rl.mllm.ocr_judge import OcrJudge

        judge = OcrJudge(**{"threads": 1, **kwargs})
        judge.answer([np.zeros((64, 64, 3), np.uint8)], "warm-up")
        return judge
    if name == "openai":
        from artic_rl.mllm.openai_judge import OpenAIJudge

        return OpenAIJudge(**kwargs)
    raise ValueError(f"unknown judge {name!r}: ocr, openai or none")


def make_paths(cfg: DictConfig, settings: StreamSettings) -> tuple[Any, Any]:
    """The uplink (trace-driven :class:`~artic_rl.net.Link`) and the feedback path."""
    from artic_rl.net import FeedbackPath, Link, load_trace

    rng = np.random.default_rng(int(cfg.seed))
    uplink = Link(
        load_trace(str(cfg.trace)),
        delay_ms=settings.delay_ms,
        queue_packets=settings.queue_packets,
        loss=settings.loss_rate or None,
        start_ms=float(cfg.trace_start_ms),
        np_random=rng,
    )
    down = load_trace(str(cfg.downlink_trace)) if cfg.get("downlink_trace") else None
    return uplink, FeedbackPath(settings.feedback_delay_ms, trace=down)


JUDGES = ("ocr", "openai", "none")


def validate_stream(cfg: DictConfig) -> None:
    """Everything ``stream.py`` can check before any work: one line naming the key when not."""
    from artic_rl.net import load_trace

    check(float(cfg.seconds) > 0, "seconds", "must be > 0")
    for key in ("width", "height"):
        value = int(cfg[key])
        check(value > 0 and value % 2 == 0, key, "must be a positive even number (H.264 4:2:0)")
    check(str(cfg.judge) in JUDGES, "judge", f"must be one of {', '.join(JUDGES)}")
    check(float(cfg.trace_start_ms) >= 0, "trace_start_ms", "must be >= 0")
    check(float(cfg.feedback_interval_ms) > 0, "feedback_interval_ms", "must be > 0")
    from artic_rl.receiver.config import check_receiver

    try:
        check_receiver(stream_receiver(cfg))
    except ValueError as err:
        check(False, "receiver", str(err))
    if cfg.get("policy"):
        from artic_rl.runtime.policy import OnnxPolicy

        OnnxPolicy(str(cfg.policy))  # InputError names the file
    else:
        check(bool(cfg.get("agent")), "policy", "give policy=FILE.onnx or agent=NAME (conf/agent)")
    if cfg.get("clip_curves"):
        from artic_rl.mllm.clipcurves import load_clip_curves

        load_clip_curves(str(cfg.clip_curves))  # InputError names the file
    video = Path(str(cfg.video))
    check(video.is_file(), "video", f"{video}: no such file")
    declared, reached = probe_video(video)
    check(reached > 0, "video", f"{video}: no frames")
    check(
        declared <= 0 or reached >= 0.9 * declared,
        "video",
        f"{video}: truncated: its frames end at {reached:.1f} s of the {declared:.1f} s it declares",
    )
    for key in ("trace", "downlink_trace"):
        if cfg.get(key):
            path = Path(str(cfg[key]))
            check(path.is_file(), key, f"{path}: no such file")
            if key == "trace":
                check(
                    path.suffix != ".down",
                    key,
                    f"{path}: a Mahimahi downlink; give the uplink (.up)",
                )
            load_trace(path)  # InputError names file and line
    if cfg.get("questions"):
        qpath = Path(str(cfg.questions))
        check(qpath.is_file(), "questions", f"{qpath}: no such file")
    elif not video.with_suffix(".json").is_file():
        print(
            f"stream.py: warning: no questions ({video.with_suffix('.json')} does not exist): "
            "accuracy and response latency will not be measured",
            file=sys.stderr,
        )


def stream(cfg: DictConfig, out_dir: str | Path | None = None) -> dict[str, Any]:
    """Run one session from a composed ``conf/stream.yaml``; writes ``report.json`` and
    ``report.png`` into ``out_dir`` (default: hydra's output directory)."""
    settings = stream_settings(cfg)
    agent = make_agent_from(cfg.get("policy"), cfg.get("agent"), settings.interval_ms)
    video = Path(str(cfg.video))
    qpath = cfg.get("questions") or video.with_suffix(".json")
    from artic_rl.mllm.judges import ExactMatchGrader

    judge = make_judge(str(cfg.judge), dict(cfg.get("judge_kwargs") or {}))
    uplink, downlink = make_paths(cfg, settings)
    confidence_of = None
    if cfg.get("cloud_confidence"):
        from artic_rl.runtime.fidelity import cloud_confidence

        confidence_of = cloud_confidence(str(cfg.cloud_confidence), settings, session_curves(cfg))
    stop, interrupted = threading.Event(), threading.Event()

    def on_signal(*_: Any) -> None:
        interrupted.set()
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        report = run_stream(
            agent,
            video,
            uplink,
            downlink,
            settings,
            load_questions(qpath, settings),
            judge,
            ExactMatchGrader(ignore_spaces=True),
            stop,
            confidence_of,
        )
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    report["config"] = OmegaConf.to_container(cfg, resolve=True)
    report["interrupted"] = interrupted.is_set()  # stopped by SIGINT / SIGTERM before the end
    if cfg.get("compare_sim"):
        compare_with_simulator(cfg, agent, settings, report)
    out = Path(out_dir) if out_dir is not None else _hydra_dir()
    write_report(report, out)
    print_summary(report, out)
    return report


def session_curves(cfg: DictConfig) -> dict[str, dict[str, float]] | None:
    """The clip's own accuracy curves by question text (``clip_curves=FILE``), or None."""
    if not cfg.get("clip_curves"):
        return None
    from artic_rl.mllm.clipcurves import load_clip_curves

    return load_clip_curves(str(cfg.clip_curves))


def compare_with_simulator(
    cfg: DictConfig, agent: Agent, settings: StreamSettings, report: dict[str, Any]
) -> None:
    """Run the simulator with the same policy, trace and question times; adds ``report["fidelity"]``."""
    from artic_rl.net import load_trace
    from artic_rl.runtime.fidelity import (
        ReplayAgent,
        format_table,
        replay_gaps,
        side_by_side,
        simulate,
    )

    items = report["questions"]["items"]
    curves = session_curves(cfg)
    source = f"population ({cfg.env.kwargs.accuracy})"
    if curves is not None:
        found = sum(q["question"] in curves for q in items)
        source = (
            f"clip curves ({Path(str(cfg.clip_curves)).name}, {found} of {len(items)} questions)"
        )
    env_kwargs = OmegaConf.to_container(cfg.env.kwargs, resolve=True)
    assert isinstance(env_kwargs, dict)
    trace = load_trace(str(cfg.trace))

    def simulate_with(sim_agent: Agent) -> dict[str, Any]:
        return simulate(
            sim_agent,
            trace,
            {str(k): v for k, v in env_kwargs.items()},
            settings,
            [q["asked_ms"] for q in items],
            float(cfg.trace_start_ms),
            int(cfg.seed),
            [(q["question"], float(q["roi_area"])) for q in items],
            receiver=settings.receiver,
            curves=curves,
        )

    sim = simulate_with(agent)
    cmp = side_by_side(report, sim)
    # open loop: the same simulator replaying the stream's decisions
    decisions = [(d["rate_kbps"], d["roi_level"], d["fps"]) for d in report["bitrate"]["decisions"]]
    replayed = None
    if decisions:
        replayed = replay_gaps(report, simulate_with(ReplayAgent(decisions, settings.interval_ms)))
    report["fidelity"] = {
        "simulator": sim,
        "accuracy_source": source,
        **cmp,
        "replayed": replayed,
    }
    print(format_table(cmp))


def _hydra_dir() -> Path:
    from hydra.core.hydra_config import HydraConfig

    return Path(HydraConfig.get().runtime.output_dir)


def write_report(report: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "report.json.tmp"  # written whole, then renamed: never a half-written report
    tmp.write_text(json.dumps(report, indent=1, default=_json_default) + "\n")
    tmp.replace(out / "report.json")
    try:
        plot_report(report, out / "report.png")
    except Exception as err:  # a plot must never cost the report
        print(f"plot skipped: {err}")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def plot_report(report: dict[str, Any], path: Path) -> None:
    """Bitrate decisions and frame delay over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    dec = report["bitrate"]["decisions"]
    if dec:
        t = np.array([d["now_ms"] for d in dec]) / 1000.0
        ax1.step(t, [d["rate_kbps"] for d in dec], where="post", label="target")
        ax1.plot(t, [d["sent_kbps"] for d in dec], label="sent")
    ax1.set_ylabel("kbps")
    ax1.legend()
    series = report.get("series", {})
    ax2.plot(
        np.asarray(series.get("decoded_at_ms", [])) / 1000.0,
        series.get("frame_delay_ms", []),
        ".",
        ms=2,
    )
    for q in report["questions"]["items"]:
        ax2.axvline(q["asked_ms"] / 1000.0, color="grey" if q["correct"] else "red", lw=0.5)
    ax2.set_ylabel("frame delay (ms)")
    ax2.set_xlabel("time (s)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def print_summary(report: dict[str, Any], out: Path) -> None:
    f, q, c = report["frames"], report["questions"], report["cpu"]
    fd = report["frame_delay_ms"]
    print(
        f"frames sent {f['sent']}, delivered {f['delivered']}, substituted {f['substituted']}; "
        f"frame delay mean {fd['mean']:.1f} ms, p95 {fd['p95']:.1f} ms"
    )
    acc = q["accuracy_pct"]
    print(
        f"questions {q['asked']}, accuracy {'n/a' if math.isnan(acc) else f'{acc:.1f}%'}, "
        f"response latency mean {q['response_latency_ms']['mean']:.0f} ms "
        f"(network {q['network_latency_ms']['mean']:.0f} ms)"
    )
    print(
        f"sent {report['bitrate']['sent_kbps']:.0f} kbps; CPU {c['process_cpu_s']:.1f} s for "
        f"{c['media_s']:.1f} s of video (real-time factor {c['realtime_factor']:.2f}); report in {out}"
    )
