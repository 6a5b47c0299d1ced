"""Smaller runtime parts: the looping video source, the fidelity table, the ONNX metadata guard."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from artic_rl.runtime.fidelity import format_table, keyframe_intervals, side_by_side
from artic_rl.runtime.sender import video_frames


def _write_video(path: Path, n: int) -> None:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream(
            "libx264", rate=30, options={"crf": "0", "preset": "ultrafast"}
        )
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(n):
            arr = np.full((48, 32), 10 + 20 * i, dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(arr, format="yuv420p")))
        container.mux(stream.encode(None))


def test_short_clip_loops_forwards_then_backwards(tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    _write_video(video, 5)
    luma = [int(round(f[:32].mean())) for f in itertools.islice(video_frames(video, 32, 32), 14)]
    # forwards 0..4, backwards 3..1, forwards 0..4, ...: never a jump between consecutive frames
    assert luma == [10, 30, 50, 70, 90, 70, 50, 30, 10, 30, 50, 70, 90, 70]
    assert len(list(video_frames(video, 32, 32, loop=False))) == 5
    long = [
        int(round(f[:32].mean()))
        for f in itertools.islice(video_frames(video, 32, 32, pingpong_max_frames=2), 7)
    ]
    assert long == [10, 30, 50, 70, 90, 10, 30]  # longer than the ping-pong limit: restarts
    with pytest.raises(FileNotFoundError):
        next(video_frames(tmp_path / "missing.mp4", 32, 32))


def test_side_by_side_goals() -> None:
    stream = {
        "questions": {
            "accuracy_pct": 80.0,
            "asked": 5,
            "network_latency_ms": {"mean": 110.0, "p95": 150.0},
        },
        "frame_delay_ms": {"mean": 70.0, "p50": 60.0},
        "bitrate": {"sent_kbps": 500.0},
        "frames": {"keyframes": 3},
        "observations": [[0.0] * 15 + [0.5] + [0.0] * 23, [0.0] * 15 + [0.1] + [0.0] * 23],
    }
    sim = {
        "accuracy_pct": 75.0,
        "latency_mean_ms": 100.0,
        "latency_p95_ms": 140.0,
        "frame_delay_ms": 65.0,
        "frame_delay_p50_ms": 58.0,
        "bitrate_kbps": 490.0,
        "questions": 5,
        "keyframes": 1,
        "observations": [[0.0] * 15 + [0.3] + [0.0] * 23] * 3,
    }
    cmp = side_by_side(stream, sim)
    assert cmp["rows"]["keyframes"] == {"stream": 3, "simulator": 1}
    means = cmp["observation_means"]["since_keyframe"]
    assert means == {"stream": pytest.approx(0.3), "simulator": pytest.approx(0.3)}
    assert keyframe_intervals(stream["observations"]) == 1
    assert keyframe_intervals(sim["observations"]) == 0
    assert cmp["accuracy_gap_points"] == 5.0 and cmp["latency_gap_rel"] == pytest.approx(0.1)
    assert cmp["accuracy_goal_met"] and cmp["latency_goal_met"]
    assert not side_by_side(
        {**stream, "questions": {**stream["questions"], "accuracy_pct": 50.0}}, sim
    )["accuracy_goal_met"]
    assert "accuracy gap 5.0 points" in format_table(cmp)
    assert "jitter_hold_ms" not in cmp["rows"]  # no breakdown on either side: no row
    parts = {"retransmission_wait": 1.0, "jitter_hold": 40.0, "frozen": 0.0}
    state = {"jitter_ms": 30.0, "max_frame_bytes": 9e3, "avg_frame_bytes": 1e3, "rtt_ms": 50.0}
    rows = side_by_side(
        {**stream, "latency_breakdown_ms": parts, "webrtc": {"model": state}},
        {**sim, "latency_breakdown_ms": {**parts, "jitter_hold": 20.0}, "webrtc_model": state},
    )["rows"]
    assert rows["jitter_hold_ms"] == {"stream": 40.0, "simulator": 20.0}
    assert rows["receiver_max_frame_bytes"] == {"stream": 9e3, "simulator": 9e3}


def test_onnx_policy_refuses_foreign_layout(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    from artic_rl.runtime.policy import OnnxPolicy

    graph = helper.make_graph(
        [helper.make_node("Identity", ["obs"], ["action"])],
        "g",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("action", TensorProto.FLOAT, [1, 3])],
    )
    model = helper.make_model(graph)
    meta = {"observation": {"names": ["a", "b", "c"]}, "action": {"nvec": [20, 4, 6]}}
    meta["interval_ms"] = 200.0
    helper.set_model_props(model, {"artic_rl": json.dumps(meta)})
    onnx.save(model, tmp_path / "x.onnx")
    with pytest.raises(ValueError, match="observation layout"):
        OnnxPolicy(tmp_path / "x.onnx")
    helper.set_model_props(model, {})
    del model.metadata_props[:]
    onnx.save(model, tmp_path / "y.onnx")
    with pytest.raises(Exception, match="no 'artic_rl' metadata"):
        OnnxPolicy(tmp_path / "y.onnx")


def test_cloud_confidence_is_seeded_per_question_in_1080p_equivalent_kbps() -> None:
    from artic_rl.runtime.fidelity import cloud_confidence
    from artic_rl.runtime.receiver import StreamQuestion
    from artic_rl.runtime.streamer import StreamSettings

    small = cloud_confidence("ocr", StreamSettings(width=640, height=360))
    full = cloud_confidence("ocr", StreamSettings(width=1920, height=1080))
    q = StreamQuestion("What is written on the sign?", "EXIT", 1000.0, (0.1, 0.1, 0.3, 0.2))
    c = small(q)
    assert len(c) == 6 and all(0.0 <= v <= 1.0 for v in c)
    assert c == small(StreamQuestion(q.question, "EXIT", 5000.0))  # same question, same curve
    assert np.all(np.diff(c) >= -1e-9)  # more bits never read worse
    # the stream's kbps are 1080p-equivalent at any resolution (runtime/encoder.py): same curve
    assert c == full(q)


def test_receiver_survives_mangled_real_stream() -> None:
    """Real H.264 from the project's encoder, packetised, then dropped / duplicated / truncated /
    corrupted / reordered, into the receiver's full path (reassembly, PyAV decoding, feedback)."""
    from artic_rl.runtime import rtcp
    from artic_rl.runtime.receiver import Receiver
    from artic_rl.runtime.relay import Clock
    from artic_rl.runtime.rtp import H264Packetizer
    from artic_rl.video.encoder import Encoder, EncoderSettings

    rng = np.random.default_rng(7)
    enc = Encoder(EncoderSettings(width=160, height=96), kbps=300.0)
    pz = H264Packetizer(ssrc=1, max_payload_bytes=300)
    dgrams: list[bytes] = []
    for i in range(90):
        y = np.full((96 * 3 // 2, 160), 128, dtype=np.uint8)
        y[:96] = (np.add.outer(np.arange(96), np.arange(160)) + 3 * i) % 256  # a moving gradient
        if i % 10 == 0:
            enc.request_keyframe()
        out = enc.encode(y, now_ms=33.3 * i)
        if out is not None:
            dgrams += [p.pack() for p in pz.packetize(out.data, 33.3 * i)]
    mangled: list[bytes] = []
    for d in dgrams:
        r = rng.random()
        if r < 0.05:
            continue
        if r < 0.1:
            mangled += [d, d]
        elif r < 0.15:
            mangled.append(d[: int(rng.integers(0, len(d)))])
        elif r < 0.25:  # flip bytes inside the payload: still valid RTP, corrupt H.264
            b = bytearray(d)
            for k in rng.integers(20, len(b), size=4):
                b[k] ^= 0xFF
            mangled.append(bytes(b))
        else:
            mangled.append(d)
    mangled += [
        rng.integers(0, 256, size=int(n), dtype=np.uint8).tobytes()
        for n in rng.integers(0, 1500, 200)
    ]
    order = np.argsort(np.arange(len(mangled)) + rng.normal(0, 2.0, len(mangled)), kind="stable")
    rx = Receiver(Clock(), ("127.0.0.1", 9))
    sent: list[rtcp.Message] = []
    rx._send = sent.extend  # type: ignore[method-assign]  # PLIs leave at once, on their own
    try:
        for k, i in enumerate(order):
            rx.push(mangled[i], now=float(k))
        rx._handle(rx.assembler.poll(1e9), 1e9)
        msgs = rtcp.decode(rtcp.encode(sent + rx.feedback.messages()))
    finally:
        rx.sock.close()
    log = rx.log
    assert log.frames_decoded > 0 and log.malformed > 0 and log.plis > 0
    assert log.frames_decoded + log.frames_undecodable == rx.assembler.stats.frames_out
    assert any(isinstance(m, rtcp.PictureLossIndication) for m in msgs)


def test_artic_receiver_sends_a_pli_at_once() -> None:
    """Issue 16: the artic receiver's PLI leaves when the loss is noticed (as in the simulator,
    where it reaches the sender ``feedback_delay_ms`` after), not with the next 50 ms report."""
    from artic_rl.runtime import rtcp
    from artic_rl.runtime.receiver import Receiver
    from artic_rl.runtime.relay import Clock
    from artic_rl.runtime.rtp import H264Packetizer
    from artic_rl.video.encoder import Encoder, EncoderSettings

    enc = Encoder(EncoderSettings(width=160, height=96), kbps=300.0)
    pz = H264Packetizer(ssrc=1, max_payload_bytes=60)
    frames = []
    for i in range(4):
        y = np.full((96 * 3 // 2, 160), 128, dtype=np.uint8)
        y[:96] = (np.add.outer(np.arange(96), np.arange(160)) + 3 * i) % 256
        out = enc.encode(y, now_ms=33.3 * i)
        assert out is not None
        frames.append([p.pack() for p in pz.packetize(out.data, 33.3 * i)])
    rx = Receiver(Clock(), ("127.0.0.1", 9))
    sent: list[tuple[float, list[rtcp.Message]]] = []
    now = [0.0]
    rx._send = lambda messages: sent.append((now[0], messages))  # type: ignore[method-assign]
    try:
        for k, packets in enumerate(frames):
            for d in packets if k != 1 else packets[1:]:  # frame 1 loses its first packet
                now[0] += 10.0
                rx.push(d, now[0])
                rx._handle(rx.assembler.poll(now[0]), now[0])
    finally:
        rx.sock.close()
    plis = [t for t, msgs in sent if any(isinstance(m, rtcp.PictureLossIndication) for m in msgs)]
    assert rx.log.plis == 1 and len(plis) == 1  # sent, not left for the next feedback report
    assert not any(isinstance(m, rtcp.PictureLossIndication) for m in rx.feedback.messages())


def test_receiver_reports_and_samples_on_the_session_clock() -> None:
    """Issue 16: the receiver's feedback ticks are the multiples of ``feedback_interval_ms`` on the
    session clock and the MLLM samples at multiples of 500 ms from session time 0, as in the
    simulator (``report_tick_ms``), whenever the receiver's thread starts (here at 30 ms: the old
    receiver reported at 80, 130, ... and sampled at 530, 1030, ...)."""
    import threading

    from artic_rl.runtime.receiver import Receiver
    from artic_rl.runtime.relay import Clock

    class SteppingClock(Clock):
        """Each reading 3 ms after the one before, from 30 ms."""

        def __init__(self) -> None:
            super().__init__()
            self.t = 27.0

        def now_ms(self) -> float:
            self.t += 3.0
            return self.t

    rx = Receiver(SteppingClock(), ("127.0.0.1", 9), feedback_interval_ms=50.0)
    stop = threading.Event()
    sent: list[float] = []

    def send_feedback(now: float) -> None:
        sent.append(now)
        if len(sent) == 12:
            stop.set()

    rx._send_feedback = send_feedback  # type: ignore[method-assign]
    rx.run(stop)
    ticks = [math.floor(t / 50.0) for t in sent]
    assert ticks == list(range(1, 13))  # one report per tick, none skipped or doubled
    assert all(t - 50.0 * k < 20.0 for t, k in zip(sent, ticks, strict=True))
    assert rx.sampler.next_ms % 500.0 == 0.0  # samples at 0, 500, 1000, ...
