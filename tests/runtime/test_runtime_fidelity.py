"""``artic-rl fidelity`` (a sweep of compare_sim sessions) and ``simulate`` reading the env config."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from artic_rl.agents.base import Agent
from artic_rl.cli import main
from artic_rl.net.trace import opportunities_from_rate
from artic_rl.runtime.fidelity import simulate
from artic_rl.runtime.streamer import StreamSettings

ROOT = Path(__file__).resolve().parents[2]


class _Constant(Agent):
    def act(self, observation: np.ndarray) -> np.ndarray:
        return self.codec.encode(600.0, 0, 30.0)


def _env_kwargs() -> dict:
    """conf/stream.yaml's composed ``env.kwargs`` (the lte preset)."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(config_name="stream", overrides=["video=x", "trace=y"])
    out = OmegaConf.to_container(cfg.env.kwargs, resolve=True)
    assert isinstance(out, dict)
    return {str(k): v for k, v in out.items()}


def test_simulate_takes_every_setting_from_the_env_config() -> None:
    """A simulator knob reaches the simulator through env.kwargs, with no hand mapping."""
    trace = opportunities_from_rate(np.array([0.0, 60_000.0]), np.array([3000.0]))
    s = StreamSettings(seconds=4.0)
    kwargs = _env_kwargs()
    base = simulate(_Constant(), trace, kwargs, s, [1000.0, 2500.0])
    slow = simulate(_Constant(), trace, {**kwargs, "encode_ms": 45.0}, s, [1000.0, 2500.0])
    # encode_ms is not a StreamSettings field: it arrives only through the env config
    assert slow["frame_delay_ms"] == pytest.approx(base["frame_delay_ms"] + 40.0, abs=5.0)
    assert base["questions"] == 2 and base["frames_sent"] >= 119
    assert base["substituted"] <= 1  # at most the last frame, still in flight at the end


class _Roi(Agent):
    def act(self, observation: np.ndarray) -> np.ndarray:
        return self.codec.encode(300.0, 3, 30.0)


def test_the_simulator_beside_a_stream_never_misses_a_questions_region() -> None:
    """The streamer's cloud reports each question's own box, so the simulator beside it predicts
    every region right, whatever the env config's ``roi_miss_rate``: an agent at ROI level 3
    reads the same with every prediction missed in the config as with none."""
    trace = opportunities_from_rate(np.array([0.0, 60_000.0]), np.array([3000.0]))
    s = StreamSettings(seconds=12.0)
    asked = [1000.0 + 1500.0 * k for k in range(7)]
    kwargs = _env_kwargs()
    assert kwargs["roi_miss_rate"] > 0.0  # the training env misses some
    hit = simulate(_Roi(), trace, {**kwargs, "roi_miss_rate": 0.0}, s, asked)
    missed = simulate(_Roi(), trace, {**kwargs, "roi_miss_rate": 1.0}, s, asked)
    assert missed["question_accuracy"] == hit["question_accuracy"]
    assert np.mean(hit["question_accuracy"]) > 0.0


def test_the_simulator_beside_a_stream_sets_the_roi_at_the_senders_decisions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The streamer's sender sets its encoder's ROI at each decision from the newest report it
    holds; the simulator beside it does so whatever the env config says."""
    import artic_rl.envs.video_chat as video_chat

    made: list[bool] = []
    real = video_chat.VideoChatEnv

    class Spy(real):  # type: ignore[misc, valid-type]
        def __init__(self, **kwargs: object) -> None:
            super().__init__(**kwargs)  # type: ignore[arg-type]
            made.append(self.roi_at_decision)

    monkeypatch.setattr(video_chat, "VideoChatEnv", Spy)
    trace = opportunities_from_rate(np.array([0.0, 60_000.0]), np.array([3000.0]))
    kwargs = {**_env_kwargs(), "roi_at_decision": False}
    simulate(_Roi(), trace, kwargs, StreamSettings(seconds=4.0), [1000.0, 2500.0])
    assert made == [True]


def test_simulate_batches_the_feedback_at_the_sessions_report_period() -> None:
    """The streamer's receiver batches its reports every ``feedback_interval_ms`` (a stream
    setting); the simulator beside it does the same, whatever ``env.kwargs`` says, and a saved
    session without the key (the streamer has always batched at 50 ms) reads as 50 ms."""
    from hydra import compose, initialize_config_dir
    from omegaconf import open_dict

    from artic_rl.runtime.stream_cli import stream_settings
    from artic_rl.sender.observation import FEATURE_NAMES

    trace = opportunities_from_rate(np.array([0.0, 60_000.0]), np.array([3000.0]))
    kwargs, asked = {**_env_kwargs(), "feedback_interval_ms": 0.0}, [1000.0, 2500.0]
    assert _env_kwargs()["feedback_interval_ms"] == 50.0  # the simulator's own default
    s = StreamSettings(seconds=4.0)  # 50 ms
    ours = simulate(_Constant(), trace, kwargs, s, asked)
    other_env = simulate(_Constant(), trace, {**kwargs, "feedback_interval_ms": 7.0}, s, asked)
    assert ours["observations"] == other_env["observations"]
    unbatched = simulate(
        _Constant(), trace, kwargs, StreamSettings(seconds=4.0, feedback_interval_ms=0.0), asked
    )
    rtt = FEATURE_NAMES.index("rtt")  # s: now - the send time of the latest packet reported
    rtt_s = [np.mean([o[rtt] for o in r["observations"][1:]]) for r in (unbatched, ours)]
    assert 0.020 < rtt_s[1] - rtt_s[0] < 0.045  # 53 -> 85 ms: the stream's RTT was 25-45 higher
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(config_name="stream", overrides=["video=x", "trace=y"])
    with open_dict(cfg):
        del cfg["feedback_interval_ms"]
    assert stream_settings(cfg).feedback_interval_ms == 50.0


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from artic_rl.video.clips import make_clip

    out = tmp_path_factory.mktemp("clip")
    return make_clip(3, 320, 180, 2.0).save(out / "clip.mp4", crf=10, preset="medium")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--traces", "nope.up"], "nope.up: no such trace file"),
        (["--agents", "nobody"], "unknown agent 'nobody'"),
        (["--receivers", "quic"], "unknown receiver 'quic'"),
        (["--seconds", "0"], "--seconds: must be > 0"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    args = {
        "--traces": [str(ROOT / "traces/lte/test/lte-01.up")],
        "--agents": ["gcc"],
        "--video": [str(clip)],
        "--out": [str(tmp_path)],
    }
    args[argv[0]] = argv[1:]
    flat = [x for k, v in args.items() for x in (k, *v)]
    assert main(["fidelity", *flat]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not (tmp_path / "fidelity.md").exists()


def test_tiny_sweep_writes_the_table_and_the_plot(clip: Path, tmp_path: Path) -> None:
    traces = [str(ROOT / "traces/lte/test/lte-01.up")]
    argv = ["fidelity", "--traces", *traces, "--agents", "gcc", "--receivers", "own", "artic"]
    argv += ["--video", str(clip), "--seconds", "2", "--out", str(tmp_path)]
    argv += ["--override", "width=320", "height=180", "judge=none", "first_question_s=0.5"]
    assert main(argv) == 0
    rows = json.loads((tmp_path / "fidelity.json").read_text())
    assert [(r["agent"], r["receiver"]) for r in rows] == [("gcc", "webrtc"), ("gcc", "artic")]
    for r in rows:
        assert r["latency_mean_ms_sim"] > 0 and r["latency_mean_ms_stream"] > 0
        assert r["bitrate_kbps_stream"] > 0 and r["keyframes_sim"] >= 1
    table = (tmp_path / "fidelity.md").read_text()
    assert table.count("| lte-01.up | gcc |") == 4 and "met on" in table  # closed and open loop
    assert (tmp_path / "fidelity.csv").read_text().count("\n") == 3
    assert (tmp_path / "fidelity.png").stat().st_size > 1000
    report = json.loads((tmp_path / "runs/00-lte-01-gcc-own/report.json").read_text())
    assert report["config"]["compare_sim"] is True


def test_one_question_in_both_worlds() -> None:
    """The streamer's cloud reports the confidence of the very question the simulator answers:
    the session's draw (seeded by the question's text), or the clip's own curve."""
    from artic_rl.mllm import load_accuracy_model
    from artic_rl.runtime.fidelity import ClipQuestions, cloud_confidence, session_question
    from artic_rl.runtime.receiver import StreamQuestion
    from artic_rl.sender.feedback import CONFIDENCE_TIERS_KBPS

    model = load_accuracy_model("ocr")
    curve = {"floor": 0.1, "ceiling": 0.9, "mid_kbps": 700.0, "steepness": 4.0}
    q = session_question(model, 3, "What is written on the red sign?", curve)
    assert (q.floor, q.ceiling, q.mid_kbps, q.steepness) == (0.1, 0.9, 700.0, 4.0)
    assert q.category == "text" and not q.multi_frame
    other = session_question(model, 3, "What is written on the blue sign?")
    assert other == session_question(model, 3, "What is written on the blue sign?")  # seeded
    settings = StreamSettings(seed=3)
    cloud = cloud_confidence("ocr", settings, {"What is written on the red sign?": curve})
    tiers = np.asarray(CONFIDENCE_TIERS_KBPS)
    for text, expected in (
        ("What is written on the red sign?", q),
        ("What is written on the blue sign?", other),
    ):
        reported = cloud(StreamQuestion(text, "X", 0.0, None))
        assert reported == tuple(float(c) for c in model.confidence_at(expected, tiers))
    # the simulator asks the session's questions in turn, and draws as it would without them
    plain, clip = np.random.default_rng(5), np.random.default_rng(5)
    a, b = ClipQuestions(model), ClipQuestions(model, [q, other])
    assert [b.sample_question(clip) for _ in range(3)] == [q, other, q]
    for _ in range(3):
        a.sample_question(plain)
    assert plain.random() == clip.random()


def test_a_sweep_resumes_and_simulates_again_without_streaming(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    traces = [str(ROOT / "traces/lte/test/lte-01.up")]
    argv = ["fidelity", "--traces", *traces, "--agents", "gcc", "--receivers", "artic"]
    argv += ["--video", str(clip), "--seconds", "2", "--out", str(tmp_path)]
    argv += ["--override", "width=320", "height=180", "judge=none", "first_question_s=0.5"]
    assert main(argv) == 0
    report = tmp_path / "runs/00-lte-01-gcc-artic/report.json"
    streamed = json.loads(report.read_text())
    stamp = report.stat().st_mtime_ns
    # run again: the session already streamed is kept, not streamed again
    assert main(argv) == 0
    assert report.stat().st_mtime_ns == stamp and "kept" in capsys.readouterr().out
    # simulate again with the clip's own curves (here: never read): only the simulated side moves
    questions = json.loads(clip.with_suffix(".json").read_text())["questions"]
    never = {"floor": 0.0, "ceiling": 0.0, "mid_kbps": 500.0, "steepness": 2.0}
    curves = tmp_path / "curves.json"
    curves.write_text(json.dumps({"format": "artic-rl-clip-curves", "questions": [
        {"question": q["question"], **never} for q in questions]}))  # fmt: skip
    again = ["fidelity", "--out", str(tmp_path), "--resimulate", "--clip-curves", str(curves)]
    assert main(again) == 0
    after = json.loads(report.read_text())
    assert after["questions"] == streamed["questions"]  # the stream is untouched
    assert after["fidelity"]["accuracy_source"].startswith("clip curves (curves.json")
    assert after["fidelity"]["rows"]["accuracy_pct"]["simulator"] == 0.0
    # and open loop: the simulator replaying the stream's decisions
    replayed = after["fidelity"]["replayed"]
    assert replayed["accuracy_pct"] == 0.0 and replayed["latency_mean_ms"] > 0
    assert replayed["bitrate_kbps"] > 0  # what the simulator sends on the stream's decisions
    assert "replaying each session's decisions" in (tmp_path / "fidelity.md").read_text()
    rows = json.loads((tmp_path / "fidelity.json").read_text())
    assert [(r["trace"], r["agent"], r["receiver"]) for r in rows] == [
        ("lte-01.up", "gcc", "artic")
    ]
    assert rows[0]["accuracy_pct_sim"] == 0.0
    # a simulator-only key changed beside the saved session: the simulated side moves, the
    # session's config records it; a key the streamer read, or any other, is refused
    delay = after["fidelity"]["rows"]["frame_delay_p50_ms"]["simulator"]
    assert main([*again, "--override", "env.kwargs.encode_ms=45"]) == 0
    slow = json.loads(report.read_text())
    assert slow["config"]["env"]["kwargs"]["encode_ms"] == 45
    assert slow["fidelity"]["rows"]["frame_delay_p50_ms"]["simulator"] > delay + 30.0
    assert slow["questions"] == streamed["questions"]
    capsys.readouterr()
    for bad, message in [("env.kwargs.roi_lead_ms=0", "the streamer read this key too"),
                         ("width=64", "only env.kwargs.KEY=VALUE")]:  # fmt: skip
        assert main([*again, "--override", bad]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err
    # nothing to simulate again: one line, exit 2
    assert main(["fidelity", "--out", str(tmp_path / "empty"), "--resimulate"]) == 2
    assert "no sessions to simulate again" in capsys.readouterr().err


def test_an_interrupted_session_stops_the_sweep_and_is_streamed_again(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGINT/SIGTERM cuts a session short: the sweep stops (exit 130) and the cut session is set
    aside, so that a resumed sweep streams it again instead of keeping half a measurement."""
    from artic_rl.runtime import fidelity_cli

    calls: list[Path] = []

    def fake_run_one(overrides: list[str], out: Path) -> dict:
        calls.append(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text("{}")
        return {"interrupted": len(calls) == 1}

    monkeypatch.setattr(fidelity_cli, "run_one", fake_run_one)
    monkeypatch.setattr(fidelity_cli, "table_row", lambda *a: {"goals_met": True})
    monkeypatch.setattr(fidelity_cli, "write_outputs", lambda rows, out: None)
    monkeypatch.setattr(fidelity_cli, "markdown", lambda rows: "")
    traces = [str(ROOT / "traces/lte/test/lte-01.up")]
    argv = ["fidelity", "--traces", *traces, "--agents", "gcc", "artic", "--video", str(clip)]
    argv += ["--out", str(tmp_path)]
    assert main(argv) == 130 and len(calls) == 1  # the second session never started
    run = tmp_path / "runs/00-lte-01-gcc-own"
    assert (run / "report.interrupted.json").is_file() and not (run / "report.json").exists()
    assert main(argv) == 0 and calls[1:] == [run, tmp_path / "runs/01-lte-01-artic-own"]


def test_the_replay_agent_sends_the_streamed_decisions_in_turn() -> None:
    from artic_rl.runtime.fidelity import ReplayAgent

    agent = ReplayAgent([(264.0, 3, 10.0), (574.0, 0, 30.0)], 200.0)
    obs = np.zeros(39, dtype=np.float32)
    acts = [agent.codec.decode(agent.act(obs)) for _ in range(3)]
    assert [(a.rate_kbps, a.roi_level, a.fps) for a in acts] == [
        (264.0, 3, 10.0),
        (574.0, 0, 30.0),
        (574.0, 0, 30.0),  # past the end: the last decision holds
    ]
    agent.reset()
    assert agent.codec.decode(agent.act(obs)).rate_kbps == 264.0


def _session(correct: list[bool], network_ms: list[float], sim_acc: list[float],
             sim_ms: list[float]) -> dict:  # fmt: skip
    """A stream report as far as pooling reads it."""
    items = [{"correct": c, "network_ms": n} for c, n in zip(correct, network_ms, strict=True)]
    lat = np.asarray(network_ms)
    side = {"question_accuracy": sim_acc, "question_latency_ms": sim_ms}
    return {
        "receiver": "artic",
        "config": {"trace": "traces/lte/test/lte-01.up", "policy": None},
        "questions": {
            "items": items,
            "accuracy_pct": 100.0 * float(np.mean(correct)),
            "network_latency_ms": {"mean": float(lat.mean()), "p95": float(np.percentile(lat, 95))},
        },
        "fidelity": {
            "simulator": side,
            "replayed": {**side, "question_accuracy": [1.0] * len(sim_acc)},
        },
    }


def test_sessions_of_a_cell_pool_their_questions_and_show_the_streams_own_spread() -> None:
    from artic_rl.runtime.fidelity import pool_sessions

    one = _session([True, False], [100.0, 300.0], [0.5, 0.5], [110.0, 290.0])
    two = _session([True, True], [200.0, 200.0], [0.5, 0.5], [210.0, 190.0])
    pooled = pool_sessions([one, two])
    assert pooled["sessions"] == 2 and pooled["questions"] == 4
    assert pooled["stream"]["accuracy_pct"] == 75.0  # 3 of 4, not the mean of two sessions' means
    assert pooled["simulator"]["accuracy_pct"] == 50.0
    assert pooled["accuracy_gap_points"] == 25.0 and not pooled["accuracy_goal_met"]
    assert pooled["stream"]["latency_mean_ms"] == 200.0 and pooled["latency_gap_rel"] == 0.0
    assert pooled["stream"]["latency_p95_ms"] == float(np.percentile([100, 300, 200, 200], 95))
    assert pooled["replayed"]["accuracy_pct"] == 100.0
    spread = pooled["stream_spread"]
    assert spread["accuracy_points"] == 50.0 and spread["latency_rel"] == 0.0
    alone = pool_sessions([one])
    assert alone["questions"] == 2 and np.isnan(alone["stream_spread"]["accuracy_points"])
    # a session from before the replay kept its questions: no pooled open loop
    old = _session([True], [100.0], [0.5], [100.0])
    del old["fidelity"]["replayed"]["question_accuracy"]
    assert "replayed" not in pool_sessions([one, old])


def test_pool_writes_one_table_of_the_cells_every_sweep_streamed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweeps = []
    for k, correct in enumerate(([True, False], [True, True])):
        sweep = tmp_path / f"sweep{k}"
        for name in ("00-lte-01-artic-own", f"0{k + 1}-lte-01-gcc-own"):  # one cell in common
            run = sweep / "runs" / name
            run.mkdir(parents=True)
            report = _session(correct, [100.0, 300.0], [0.5, 0.5], [110.0, 290.0])
            (run / "report.json").write_text(json.dumps(report))
        sweeps.append(str(sweep))
    out = tmp_path / "pooled"
    assert main(["fidelity", "--pool", *sweeps, "--out", str(out)]) == 0
    rows = json.loads((out / "fidelity.json").read_text())
    assert [(r["trace"], r["agent"], r["sessions"], r["questions"]) for r in rows] == [
        ("lte-01.up", "artic", 2, 4)
    ]
    assert (
        rows[0]["accuracy_pct_stream"] == 75.0 and rows[0]["stream_spread_accuracy_points"] == 50.0
    )
    table = (out / "fidelity.md").read_text()
    assert "2 sessions per cell pooled" in table and "The stream against itself" in table
    assert (out / "fidelity.png").is_file()
    capsys.readouterr()
    assert main(["fidelity", "--pool", str(tmp_path / "nothing"), "--out", str(out)]) == 2
    assert "not a fidelity sweep" in capsys.readouterr().err
    # a session from before the simulator kept its questions: one line naming it
    old = Path(sweeps[1]) / "runs" / "00-lte-01-artic-own" / "report.json"
    doc = json.loads(old.read_text())
    del doc["fidelity"]["simulator"]["question_accuracy"]
    old.write_text(json.dumps(doc))
    assert main(["fidelity", "--pool", *sweeps, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(old) in err and "--resimulate" in err


def test_seeds_stream_one_sweep_per_seed_and_pool_them(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--seeds 3 4``: each cell streamed once per seed (``seed=N`` reaches stream.py) under
    ``--out/seed-N``, the sessions then pooled cell by cell into ``--out``'s table; a second run
    streams nothing."""
    from artic_rl.runtime import fidelity_cli

    calls: list[tuple[Path, list[str]]] = []
    outcomes = {"3": [True, False], "4": [True, True]}

    def fake_run_one(overrides: list[str], out: Path) -> dict:
        calls.append((out, overrides))
        seed = [o for o in overrides if o.startswith("seed=")][-1].split("=")[1]
        report = _session(outcomes[seed], [100.0, 300.0], [0.5, 0.5], [110.0, 290.0])
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.json").write_text(json.dumps(report))
        return report

    write_outputs = fidelity_cli.write_outputs
    monkeypatch.setattr(fidelity_cli, "run_one", fake_run_one)
    monkeypatch.setattr(fidelity_cli, "table_row", lambda *a: {"goals_met": True})
    monkeypatch.setattr(fidelity_cli, "markdown", lambda rows: "")
    monkeypatch.setattr(  # each seed's own table is the tiny sweep's test; the pooled one is real
        fidelity_cli,
        "write_outputs",
        lambda rows, out, text=None: text and write_outputs(rows, out, text),
    )
    traces = [str(ROOT / "traces/lte/test/lte-01.up")]
    argv = ["fidelity", "--traces", *traces, "--agents", "artic", "--video", str(clip)]
    argv += ["--out", str(tmp_path), "--seeds", "3", "4"]
    assert main(argv) == 0
    assert [(out.relative_to(tmp_path).as_posix(), o[-1]) for out, o in calls] == [
        ("seed-3/runs/00-lte-01-artic-own", "seed=3"),
        ("seed-4/runs/00-lte-01-artic-own", "seed=4"),
    ]
    rows = json.loads((tmp_path / "fidelity.json").read_text())
    assert [(r["sessions"], r["questions"], r["accuracy_pct_stream"]) for r in rows] == [
        (2, 4, 75.0)
    ]
    assert "2 sessions per cell pooled" in (tmp_path / "fidelity.md").read_text()
    assert main(argv) == 0 and len(calls) == 2  # resumed: every session kept
    capsys.readouterr()
    for bad, message in (
        (["--seeds", "3", "3"], "each seed once"),
        (["--seeds", "3", "--override", "seed=1"], "--seeds and --override seed="),
    ):
        assert main(argv[: argv.index("--seeds")] + bad) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err
