"""End-to-end streaming sessions on 127.0.0.1: delivery, loss recovery (PLI), clean stop on SIGINT."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from artic_rl.agents.base import Agent
from artic_rl.mllm.judges import Answer, Box, ExactMatchGrader
from artic_rl.net import FeedbackPath, Link
from artic_rl.net.trace import opportunities_from_rate
from artic_rl.runtime.receiver import StreamQuestion
from artic_rl.runtime.streamer import StreamSettings, load_questions, run_stream


class _Constant(Agent):
    def __init__(self, kbps: float = 600.0, fps: float = 30.0) -> None:
        super().__init__()
        self.kbps, self.fps = kbps, fps
        self.observations: list[np.ndarray] = []

    def act(self, observation: np.ndarray) -> np.ndarray:
        self.observations.append(observation)
        return self.codec.encode(self.kbps, 1, self.fps)


class _ReferenceJudge:
    """Answers with the reference when it got a frame and the region: isolates the plumbing."""

    name = "reference"

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.frames: list[np.ndarray] = []

    def answer(
        self, frames: Sequence[np.ndarray], question: str, region: Box | None = None
    ) -> Answer:
        self.frames.extend(frames)
        return Answer(self.answers[question] if region is not None else "", 5.0, "reference")


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-second synthetic 320x180 clip with its questions JSON beside it."""
    from artic_rl.video.clips import make_clip

    out = tmp_path_factory.mktemp("clip")
    return make_clip(3, 320, 180, 2.0).save(out / "clip.mp4", crf=10, preset="ultrafast")


def _settings(seconds: float, **kw: float) -> StreamSettings:
    return StreamSettings(
        seconds=seconds,
        question_jitter_ms=0.0,
        width=320,
        height=180,
        question_interval_s=1.5,
        first_question_s=1.0,
        **kw,
    )


def _paths(rate_kbps: float, loss: float = 0.0) -> tuple[Link, FeedbackPath]:
    trace = opportunities_from_rate(np.array([0.0, 60_000.0]), np.array([rate_kbps]))
    rng = np.random.default_rng(0)
    return Link(
        trace, delay_ms=20.0, queue_packets=30, loss=loss or None, np_random=rng
    ), FeedbackPath(20.0)


def test_session_delivers_frames_and_answers(clip: Path) -> None:
    s = _settings(4.0)
    questions = load_questions(clip.with_suffix(".json"), s)
    assert len(questions) == 2 and questions[0].box is not None
    judge = _ReferenceJudge({q.question: q.answer for q in questions})
    agent = _Constant(600.0)
    report = run_stream(agent, clip, *_paths(3000.0), s, questions, judge, ExactMatchGrader())
    f = report["frames"]
    assert f["captured"] == 120 and f["sent"] == 120
    assert f["delivered"] >= 110 and f["undecodable"] == 0 and report["packets"]["plis"] == 0
    fd = report["frame_delay_ms"]
    assert 20.0 <= fd["p50"] < 150.0  # 20 ms link delay + serialisation + decode
    q = report["questions"]
    assert q["asked"] == 2 and q["accuracy_pct"] == 100.0
    assert 0.0 <= q["network_latency_ms"]["mean"] < 300.0
    assert judge.frames and judge.frames[0].shape == (180, 320, 3)
    assert 400.0 < report["bitrate"]["sent_kbps"] < 800.0
    # the policy saw the receiver's feedback: delivered throughput and frame delay are non-zero
    obs = np.array(agent.observations[3:])
    assert (obs[:, 1] > 0).all() and (obs[:, 3] > 0).all() and obs[:, 12].max() == 1.0
    assert report["packets"]["relay_lateness_ms_mean"] < 20.0
    # the first decision is at time 0, on the simulator's reset observation (a 200 ms head start
    # at another bitrate put the policy off its training distribution: a 1.5 Mbps burst)
    from artic_rl.envs.video_chat import VideoChatEnv

    trace = opportunities_from_rate(np.array([0.0, 60_000.0]), np.array([3000.0]))
    sim_obs, _ = VideoChatEnv(traces=[trace]).reset(seed=0)
    # (all but the cloud's features 11-14: at time 0 its first message is still on the way)
    own = np.r_[0:11, 15:34]
    np.testing.assert_allclose(agent.observations[0][own], sim_obs[own], atol=1e-6)
    assert report["bitrate"]["decisions"][0]["now_ms"] < 5.0
    assert len(report["observations"]) == len(report["bitrate"]["decisions"])


def test_loss_breaks_the_chain_and_pli_recovers(clip: Path) -> None:
    s = _settings(4.0, loss_rate=0.03)
    report = run_stream(_Constant(800.0), clip, *_paths(3000.0, loss=0.03), s)
    f, p = report["frames"], report["packets"]
    assert p["link_dropped"] > 0 and p["plis"] > 0
    assert f["keyframes"] > 1  # PLI -> IDR
    assert f["undecodable"] > 0 and f["substituted"] > 0
    assert f["delivered"] >= 20  # decoding resumed after the keyframes


def test_stream_cli_stops_cleanly_on_sigint(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hydra_conf: Path
) -> None:
    from hydra import compose

    from artic_rl.runtime import stream_cli

    overrides = [f"video={clip}", "trace=unused", "seconds=60.0", "judge=none", "width=320"]
    cfg = compose(config_name="stream", overrides=[*overrides, "height=180"])
    paths = _paths(2000.0)
    monkeypatch.setattr(stream_cli, "make_paths", lambda _cfg, _settings: paths)
    monkeypatch.setattr(stream_cli, "make_agent_from", lambda *a, **k: _Constant(500.0))
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when the test run was started in background
    timer = threading.Timer(2.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        report = stream_cli.stream(cfg, out_dir=tmp_path)
    finally:
        timer.cancel()
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["frames"]["sent"] == report["frames"]["sent"] > 0
    assert saved["cpu"]["media_s"] < 10.0  # stopped long before the 60 s
    assert (tmp_path / "report.png").stat().st_size > 0
    assert signal.getsignal(signal.SIGINT) is before  # the stream's handler is removed again


def test_questions_cycle_and_boxes_are_fractions(clip: Path) -> None:
    qs = load_questions(clip.with_suffix(".json"), _settings(10.0))
    assert [q.asked_ms for q in qs] == [1000.0, 2500.0, 4000.0, 5500.0, 7000.0, 8500.0]
    for q in qs:
        assert isinstance(q, StreamQuestion) and q.box is not None
        assert 0.0 <= q.box[0] < q.box[2] <= 1.0 and 0.0 <= q.box[1] < q.box[3] <= 1.0
    assert load_questions(None, _settings(10.0)) == ()
