"""The streamer's ``webrtc`` receiver: Generic NACK and XR on the wire, RTX, the shared model behind
real packets, the sender's keyframe gate and retransmissions, and a lossy loopback session."""

from __future__ import annotations

import math
import os
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from artic_rl.agents.base import Agent
from artic_rl.net import FeedbackPath, Link
from artic_rl.net.trace import opportunities_from_rate
from artic_rl.receiver.config import WebRtcReceiverConfig
from artic_rl.runtime import rtcp
from artic_rl.runtime.relay import Clock
from artic_rl.runtime.rtcp import (
    DelaySinceLastRr,
    GenericNack,
    ReceiverReferenceTime,
    TransportFeedback,
)
from artic_rl.runtime.rtp import (
    RTX_PAYLOAD_TYPE,
    H264Packetizer,
    RtpPacket,
    rtx_packet,
    unwrap_rtx,
)
from artic_rl.runtime.sender import Sender
from artic_rl.runtime.streamer import StreamSettings, run_stream
from artic_rl.runtime.webrtc_rx import WebRtcFrames, packet_is_key

# --- wire formats -----------------------------------------------------------------------------


def test_generic_nack_golden_bytes() -> None:
    # RFC 4585 6.2.1: V=2 FMT=1 PT=205, length 4 words, sender SSRC 1, media SSRC 2;
    # FCI 1: PID 5, BLP 0b101 (6 and 8); FCI 2: PID 22 (17 after 5: past the bitmask), BLP 1 (23)
    data = rtcp.encode([GenericNack((5, 6, 8, 22, 23))], 1, 2)
    assert data == bytes.fromhex("81cd0004 00000001 00000002 00050005 00160001")
    assert rtcp.decode(data) == [GenericNack((5, 6, 8, 22, 23), ssrc=2)]


def test_generic_nack_wraps_and_fills_the_bitmask() -> None:
    # extended numbers are sent modulo 2^16; the 16 bits after a PID all fit in its BLP
    data = rtcp.encode([GenericNack((65_535, 65_536, 65_537))])
    assert data[12:] == bytes.fromhex("ffff0003")
    assert rtcp.decode(data) == [GenericNack((65_535, 0, 1))]
    full = tuple(range(100, 117))
    data = rtcp.encode([GenericNack(full)])
    assert data[12:] == bytes.fromhex("0064ffff")
    (back,) = rtcp.decode(data)
    assert isinstance(back, GenericNack) and back.seqs == full


def test_xr_rrtr_dlrr_golden_bytes_and_rtt() -> None:
    # RFC 3611: V=2 PT=207, 8-byte header; RRTR block type 4 length 2 + 64-bit NTP (1.5 s);
    # DLRR block type 5 length 3: SSRC, LRR (middle 32 bits of 1.5 s), DLRR (2 ms in 1/65536 s)
    data = rtcp.encode([ReceiverReferenceTime(1500.0)], 1, 2)
    assert data == bytes.fromhex("80cf0004 00000001 04000002 00000001 80000000")
    data = rtcp.encode([DelaySinceLastRr(1500.0, 2.0)], 1, 2)
    assert data == bytes.fromhex("80cf0005 00000001 05000003 00000002 00018000 00000083")
    (dlrr,) = rtcp.decode(data)
    assert isinstance(dlrr, DelaySinceLastRr)
    assert dlrr.rtt_ms(1562.0) == pytest.approx(60.0, abs=0.05)
    both = rtcp.decode(rtcp.encode([ReceiverReferenceTime(7.25), TransportFeedback(3, (1.0,))]))
    assert isinstance(both[0], ReceiverReferenceTime) and both[0].time_ms == pytest.approx(7.25)
    assert isinstance(both[1], TransportFeedback) and both[1].base_seq == 3
    with pytest.raises(rtcp.RtcpError):
        rtcp.decode(bytes.fromhex("80cf0004 00000001 04000009 00000001 80000000"))


def test_transport_feedback_names_its_stream() -> None:
    (back,) = rtcp.decode(rtcp.encode([TransportFeedback(9, (5.0,), ssrc=0xABCD)], 1, 2))
    assert isinstance(back, TransportFeedback) and back.ssrc == 0xABCD


def test_rtx_round_trip_and_frame_descriptor() -> None:
    pk = H264Packetizer(0x100, frame_descriptor=True, first_sequence=65_534)
    (first,) = pk.packetize(b"\x00\x00\x00\x01\x65" + b"\x11" * 50, 10.0)
    pkts = pk.packetize(b"\x00\x00\x00\x01\x41" + b"\x22" * 3000, 43.0)
    assert first.frame_number == 0 and first.frame_packets == 1
    assert [p.frame_number for p in pkts] == [1, 1, 1] and pkts[0].frame_packets == 3
    back = RtpPacket.parse(pkts[1].pack())
    assert (back.frame_number, back.frame_packets, back.frame_start_seq) == (1, 3, 65_535)
    rtx = RtpPacket.parse(rtx_packet(back, 7, 0x101).pack())
    assert rtx.payload_type == RTX_PAYLOAD_TYPE and rtx.ssrc == 0x101 and rtx.sequence == 7
    assert rtx.payload[:2] == b"\x00\x00"  # OSN: the original sequence number (wrapped to 0)
    assert len(rtx.pack()) == len(back.pack()) + 2  # the simulator's rtx_overhead_bytes
    assert unwrap_rtx(rtx, 0x100) == back
    assert packet_is_key(first.payload) and not packet_is_key(pkts[0].payload)


# --- the shared model behind real packets ---------------------------------------------------------


def _frames(n: int, packets: int = 2) -> list[list[RtpPacket]]:
    """``n`` frames of ``packets`` packets each, 40 ms apart; the first a keyframe."""
    pk = H264Packetizer(0x100, max_payload_bytes=400, frame_descriptor=True)
    out = []
    for k in range(n):
        nal = (b"\x65" if k == 0 else b"\x41") + bytes([k + 1]) * (400 * packets - 300)
        out.append(pk.packetize(b"\x00\x00\x00\x01" + nal, 40.0 * k))
    return out


def test_lost_packet_is_nacked_and_retransmission_shows_the_frame() -> None:
    """Frame 2's second packet is lost; frame 3's first packet reveals the gap (a NACK at once);
    the RTX fills it and frames 2 and 3 are shown in order, frame 2 marked as recovered."""
    rx = WebRtcFrames(WebRtcReceiverConfig(jitter_model="fixed"))
    frames = _frames(6)
    lost = frames[2][1]
    now = 0.0
    for k, pkts in enumerate(frames[:5]):
        for p in pkts:
            now = 40.0 * k + 30.0 + (p.sequence - pkts[0].sequence)
            if p is not lost:
                rx.on_rtp(p, now)
            if k == 3 and p is pkts[0]:
                assert rx.take_nacks() == [lost.sequence]  # revealed by the next packet: at once
    rx.on_rtp(rtx_packet(lost, 1, 0x101), 200.0)
    rx.advance(400.0)
    fates = rx.take_fates()
    shown = {f.shown.frame_id: f for f in fates}
    assert [f.shown.frame_id for f in fates] == sorted(shown)
    assert shown[2].shown.nacked and not shown[3].shown.nacked
    assert shown[2].shown.sink_ms >= 200.0 and shown[3].shown.sink_ms >= shown[2].shown.sink_ms
    assert all(f.annexb and not math.isnan(f.shown.sink_ms) for f in fates)
    assert rx.rtx_received == 1 and rx.take_plis() == 0


def test_unrecovered_loss_freezes_until_the_keyframe_request() -> None:
    """Every retransmission lost: the model retries, then asks for a keyframe 3 s after the last
    frame it released (the freeze timeout), not before."""
    rx = WebRtcFrames()
    frames = _frames(4)
    for k, pkts in enumerate(frames):
        for p in pkts:
            if p is not frames[1][0]:
                rx.on_rtp(p, 40.0 * k + 30.0)
    released = [f.shown.release_ms for f in rx.take_fates() if f.shown.frame_id == 0]
    rx.advance(released[0] + 2990.0)
    assert rx.take_plis() == 0 and len(rx.take_nacks()) > 1  # first NACK and retries
    rx.advance(released[0] + 3001.0)
    assert rx.take_plis() == 1


# --- the sender ---------------------------------------------------------------------------------


class _Constant(Agent):
    def __init__(self, kbps: float = 800.0) -> None:
        super().__init__()
        self.kbps = kbps

    def act(self, observation: np.ndarray) -> np.ndarray:
        return self.codec.encode(self.kbps, 1, 30.0)


class _KeyEncoder:
    """Counts keyframe requests; encodes nothing."""

    def __init__(self) -> None:
        self.requests = 0

    def request_keyframe(self) -> None:
        self.requests += 1

    def encode(self, frame: object, capture_ms: float) -> None:
        return None


def _sender(receiver: str) -> tuple[Sender, _KeyEncoder]:
    enc = _KeyEncoder()
    frames = iter([np.zeros((3, 2), np.uint8)] * 100)
    return Sender(_Constant(), enc, frames, ("127.0.0.1", 9), Clock(), receiver=receiver), enc


def test_sender_honours_one_keyframe_request_per_300_ms() -> None:
    sender, enc = _sender("webrtc")
    try:
        pli = [rtcp.PictureLossIndication()]
        for t, requests in ((0.0, 1), (100.0, 1), (299.0, 1), (300.0, 2)):
            sender._on_control(pli, t)
            sender._capture(t + 1.0, t + 1.0)
            assert enc.requests == requests, t
        assert sender.log.keyframe_requests == 4 and sender.log.keyframe_requests_honoured == 2
    finally:
        sender.sock.close()
    artic, enc = _sender("artic")  # the artic sender honours every request (no gate)
    try:
        for t in (0.0, 100.0):
            artic._on_control([rtcp.PictureLossIndication()], t)
            artic._capture(t + 1.0, t + 1.0)
        assert enc.requests == 2
    finally:
        artic.sock.close()


def test_sender_answers_nacks_from_its_history_under_the_guard() -> None:
    """A NACKed packet goes out as RTX ahead of queued media; a repeat NACK within 5 + RTT ms is
    ignored (the resend guard); a packet never sent is not retransmitted."""
    sender, _ = _sender("webrtc")
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.settimeout(1.0)
    sender.media_addr = sink.getsockname()
    try:
        pkts = [p for f in _frames(2, packets=3) for p in f]
        sender._queue.extend((p.pack(), p.sequence, 0.0, p) for p in pkts[:3])
        now = sender.clock.now_ms() + 1000.0
        sender._pace(now)  # frame 0 sent (rate: pacing factor x 800 kbps, all due by now)
        assert sender.log.packets_sent == 3
        sender._queue.extend((p.pack(), p.sequence, now, p) for p in pkts[3:])
        sender._on_control([GenericNack((1, 40))], now)  # 40 was never sent
        assert sender.rtt_ms() == 0.0  # no feedback yet: the guard is 5 + 0 ms
        sender._on_control([GenericNack((1,))], now + 4.9)  # within the guard: ignored
        assert len(sender._rtx_queue) == 1
        sender._pace(now + 1000.0)
        got = [RtpPacket.parse(sink.recv(2048)) for _ in range(7)]
        assert got[3].payload_type == RTX_PAYLOAD_TYPE  # ahead of frame 1's media
        assert unwrap_rtx(got[3], pkts[1].ssrc) == pkts[1]
        assert sender.log.rtx_packets == 1 and sender.log.nacked_packets == 3
    finally:
        sender.sock.close()
        sink.close()


# --- a lossy loopback session -------------------------------------------------------------------


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from artic_rl.video.clips import make_clip

    out = tmp_path_factory.mktemp("clip")
    return make_clip(3, 320, 180, 2.0).save(out / "clip.mp4", crf=10, preset="ultrafast")


def _open_sockets() -> int:
    return sum(
        os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        for fd in os.listdir("/proc/self/fd")
        if os.path.exists(f"/proc/self/fd/{fd}")
    )


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts sockets in /proc")
def test_webrtc_session_recovers_lost_packets_by_retransmission(clip: Path) -> None:
    """3% random loss on 127.0.0.1: the webrtc receiver NACKs, the sender retransmits (RTX), and
    frames that lost packets are shown (the artic receiver would have substituted them); no
    keyframe is needed; every socket is closed at the end."""
    before = _open_sockets()
    threads = threading.active_count()
    s = StreamSettings(
        seconds=3.0, width=320, height=180, loss_rate=0.03, receiver="webrtc", seed=0
    )
    trace = opportunities_from_rate(np.array([0.0, 60_000.0]), np.array([3000.0]))
    link = Link(
        trace, delay_ms=20.0, queue_packets=30, loss=0.03, np_random=np.random.default_rng(1)
    )
    report = run_stream(_Constant(800.0), clip, link, FeedbackPath(20.0), s)
    p, f, w = report["packets"], report["frames"], report["webrtc"]
    assert report["receiver"] == "webrtc"
    assert p["link_dropped"] > 0 and p["nacks"] > 0 and p["rtx_sent"] > 0
    assert 0 < p["rtx_received"] <= p["rtx_sent"]
    assert w["frames_recovered"] > 0  # shown after a retransmission: artic substitutes these
    assert f["delivered"] >= f["sent"] - 5 and f["keyframes"] == 1
    assert 30.0 < w["rtt_ms_mean"] < 200.0  # 20 ms each way plus queueing (RRTR/DLRR)
    assert report["latency_breakdown_ms"]["retransmission_wait"] > 0.0
    assert _open_sockets() == before
    assert threading.active_count() <= threads


# --- the command line -----------------------------------------------------------------------------


def test_stream_receiver_defaults_to_the_agents_own(hydra_conf: Path) -> None:
    from hydra import compose

    from artic_rl.errors import ConfigError
    from artic_rl.runtime.stream_cli import stream_receiver, stream_settings, validate_stream

    def cfg(*overrides: str) -> object:
        return compose(config_name="stream", overrides=["video=v.mp4", "trace=t", *overrides])

    assert stream_receiver(cfg("agent=gcc")) == "webrtc"  # as deployed
    assert stream_receiver(cfg("agent=artic")) == "artic"
    assert stream_receiver(cfg("agent=gcc", "receiver=artic")) == "artic"
    assert stream_receiver(cfg("policy=p.onnx")) == "artic"  # an exported policy: Artic's receiver
    assert stream_settings(cfg("agent=artic", "receiver=webrtc")).receiver == "webrtc"
    with pytest.raises(ConfigError) as err:
        validate_stream(cfg("agent=gcc", "receiver=webrtx"))
    assert "known receivers: artic, webrtc" in str(err.value) and "\n" not in str(err.value)


def test_compare_sim_runs_the_simulator_with_the_same_receiver() -> None:
    from artic_rl.runtime.fidelity import simulate

    trace = opportunities_from_rate(np.array([0.0, 60_000.0]), np.array([2000.0]))
    s = StreamSettings(seconds=4.0, receiver="webrtc")
    sim = simulate(_Constant(600.0), trace, {"accuracy": "ocr"}, s, [1000.0, 2500.0])
    assert sim["questions"] == 2 and sim["webrtc_model"]["fps_hz"] > 25.0
    assert sim["latency_breakdown_ms"]["jitter_hold"] > 0.0  # the webrtc receiver's hold
    artic = simulate(
        _Constant(600.0), trace, {"accuracy": "ocr"}, s, [1000.0, 2500.0], receiver="artic"
    )
    assert "webrtc_model" not in artic and artic["latency_breakdown_ms"]["jitter_hold"] == 0.0
