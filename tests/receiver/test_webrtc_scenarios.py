"""T1-T5 of ../shared/research/webrtc-receiver.md (section 5) on the shared WebRTC receiver model.

Common setup (worked out by hand in the note, checked again here):
- 25 fps, frame k captured at 40 k ms; one packet per frame, seq = k, arriving 30 ms after capture
  (T3: 2 fps, three packets per frame arriving 30, 31, 32 ms after capture). Feedback takes
  f = 20 ms; a retransmission is sent when its NACK reaches the sender and takes 30 ms.
- Receiver: RTT 50 ms (= 30 + f, reported every second), decode time 0, render delay R = 10 ms,
  ``jitter_model="fixed"`` with J0 = 11 ms (the estimator's steady state on a clean link), so the
  target delay is 21 ms; pre-warmed: current delay 21 ms (T3: J = 0 below 5 fps, so 10 ms) and
  the frame-rate estimate of a running stream; NACK retries on the 20 ms grid.
- Sender: resend guard 5 + 50 ms, one keyframe request per 300 ms; a PLI makes the next captured
  frame a keyframe.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from artic_rl.receiver.config import WebRtcReceiverConfig
from artic_rl.receiver.webrtc import MediaPacket, WebRtcReceiver
from artic_rl.sender.rtx import KeyframeGate, PacketHistory, RtxLimiter, answer_nack

FEEDBACK_MS = 20.0
TRANSIT_MS = 30.0
RTT_MS = 50.0
CONFIG = WebRtcReceiverConfig(jitter_model="fixed", fixed_jitter_ms=11.0, decode_ms=0.0)


@dataclass
class Scenario:
    """A 1 ms discrete-event run of one sender and one WebRtcReceiver."""

    fps: float = 25.0
    packets_per_frame: int = 1
    current_delay_ms: float = 21.0
    lost: Callable[[int, int], bool] = lambda seq, attempt: False  # (seq, 0 = media, n = n-th RTX)
    rx: WebRtcReceiver = field(default_factory=lambda: WebRtcReceiver(CONFIG))
    nacks_sent: list[tuple[float, list[int]]] = field(default_factory=list)
    plis_sent: list[float] = field(default_factory=list)
    keyframes: list[int] = field(default_factory=list)

    def run(self, end_ms: float) -> dict[int, float]:
        """Frame id -> the time it reached the sink (NaN: dropped by the renderer)."""
        rx, period = self.rx, 1000.0 / self.fps
        rx.warm(self.current_delay_ms, RTT_MS, self.fps, 0.0)
        history, limiter, gate = PacketHistory(), RtxLimiter(), KeyframeGate()
        packets: dict[int, MediaPacket] = {}
        attempts: dict[int, int] = {}
        events: list[tuple[float, int, int, object]] = []  # (time, kind, order, payload)
        order = 0

        def push(t: float, kind: int, payload: object) -> None:
            nonlocal order
            order += 1
            heapq.heappush(events, (t, kind, order, payload))

        key_due, frame, seq = True, 0, 0
        push(0.0, 2, None)  # the first capture
        for t_rtt in range(0, int(end_ms) + 1, 1000):
            push(float(t_rtt), 3, None)
        while True:
            t = min(events[0][0] if events else math.inf, rx.next_event_ms())
            if t > end_ms:
                break
            while events and events[0][0] == t:
                _, kind, _, payload = heapq.heappop(events)
                if kind == 0:  # arrival (media or RTX)
                    rx.on_packet(t, payload)  # type: ignore[arg-type]
                elif kind == 1:  # feedback at the sender: a NACK (list) or a PLI (None)
                    if payload is None:
                        key_due |= gate.accept(t)
                        continue
                    for s, _ in answer_nack(history, limiter, payload, t, RTT_MS, 1e6):  # type: ignore[arg-type]
                        attempts[s] += 1
                        if not self.lost(s, attempts[s]):
                            push(t + TRANSIT_MS, 0, packets[s])
                elif kind == 2:  # capture
                    c = frame * period
                    first, last = seq, seq + self.packets_per_frame - 1
                    if key_due:
                        self.keyframes.append(frame)
                    for j in range(self.packets_per_frame):
                        pkt = MediaPacket(seq, frame, first, last, c, key_due, 1000)
                        packets[seq], attempts[seq] = pkt, 0
                        history.put(seq, 1000, c, RTT_MS)
                        if not self.lost(seq, 0):
                            push(c + TRANSIT_MS + j, 0, pkt)
                        seq += 1
                    key_due, frame = False, frame + 1
                    push(frame * period, 2, None)
                else:  # an RTT report: one-way delay + feedback delay
                    rx.on_rtt(t, TRANSIT_MS + FEEDBACK_MS)
            rx.advance(t)
            for sent, seqs in rx.nacks:
                self.nacks_sent.append((sent, seqs))
                push(sent + FEEDBACK_MS, 1, seqs)
            for sent in rx.plis:
                self.plis_sent.append(sent)
                push(sent + FEEDBACK_MS, 1, None)
            rx.nacks, rx.plis = [], []
        return {s.frame_id: s.sink_ms for s in rx.shown}


def test_t1_no_loss_frames_show_11_ms_after_arrival() -> None:
    sink = Scenario().run(260.0)
    assert [sink[k] for k in range(6)] == [41.0, 81.0, 121.0, 161.0, 201.0, 241.0]


def test_t2_one_nack_recovers_frame_2_and_blocks_frame_3() -> None:
    """Frame 3 arrives at 150 and reveals seq 2: NACK at 150, sender 170, RTX in at 200; frames
    2 and 3 are released at 200 (frame 3 is late: current = min(21 + 39, 21) = 21); frame 4
    (render 211) decodes at 201."""
    sc = Scenario(lost=lambda seq, attempt: seq == 2 and attempt == 0)
    sink = sc.run(260.0)
    assert [sink[k] for k in range(6)] == [41.0, 81.0, 200.0, 200.0, 201.0, 241.0]
    assert sc.nacks_sent == [(150.0, [2])]
    assert sc.rx.playout.current_ms == 21.0
    # the project's metric, capture to shown: webrtc 120 / 80 / 41 for frames 2 / 3 / 4
    assert [sink[k] - 40.0 * k for k in (2, 3, 4)] == [120.0, 80.0, 41.0]


def test_t2b_the_resend_guard_swallows_the_first_retry() -> None:
    """The first RTX is lost too. The retry at tick 200 reaches the sender at 220 < 170 + 55:
    ignored. The retry at 260 reaches it at 280: RTX in at 310."""
    sc = Scenario(lost=lambda seq, attempt: seq == 2 and attempt <= 1)
    sink = sc.run(400.0)
    assert sc.nacks_sent == [(150.0, [2]), (200.0, [2]), (260.0, [2])]
    assert [sink[k] for k in range(2, 9)] == [310.0] * 5 + [321.0, 361.0]


def test_t3_a_tail_loss_at_2_fps_is_dropped_by_the_renderer() -> None:
    """2 fps, J scaled to 0: current = target = 10. Seq 5 (frame 1's last) is lost; only seq 6 at
    1030 reveals it: RTX in at 1080. Frame 1 (render 542) decodes at 1080 > 542 + 500: dropped.
    Frame 2 (render 1042) shows at 1080, frame 3 at 1532."""
    sc = Scenario(
        fps=2.0, packets_per_frame=3, current_delay_ms=10.0, lost=lambda s, a: s == 5 and a == 0
    )
    sink = sc.run(1600.0)
    assert sc.nacks_sent == [(1030.0, [5])]
    assert math.isnan(sink[1])
    assert sink[2] == 1080.0 and sink[3] == 1532.0
    # the project's metric: frame 1 counts until frame 2 shows (580), frame 2 itself 80
    assert (sink[2] - 500.0, sink[2] - 1000.0) == (580.0, 80.0)


def test_t4_the_rtt_is_added_after_the_third_nacked_frame() -> None:
    """Frames 2, 12 and 22 are lost and recovered as in T2. Frame 22's RTX arrives at 1000: the
    third NACKed frame, so J = 11 + 0.9 x 50 = 56 and the target 66; frame 23 (render 971) is
    released at 1000: current = 21 + 39 = 60. Frame 24 (in at 990) renders at 1050: shown at 1040;
    from then on a frame shows 50 ms after it arrives (+39 ms)."""
    sc = Scenario(lost=lambda seq, attempt: seq in (2, 12, 22) and attempt == 0)
    sink = sc.run(1300.0)
    assert [sink[k] for k in (2, 3, 12, 13)] == [200.0, 200.0, 600.0, 600.0]
    assert sink[22] == 1000.0 and sink[23] == 1000.0
    assert sc.rx.playout.current_ms == pytest.approx(60.0)
    assert [sink[k] for k in (24, 25, 26)] == [1040.0, 1080.0, 1120.0]
    assert sink[21] == 40.0 * 21 + 30.0 + 11.0  # before: 11 ms after arrival


def test_t5_an_unrecoverable_loss_freezes_until_the_3_s_timeout() -> None:
    """Every RTX of seq 2 is lost: NACKs at 150, 200, 260, ..., 680, and the 10th drops the entry.
    The last release was frame 1 at 81, so the timeout fires at 3081: PLI -> sender 3101 ->
    keyframe frame 78 (captured 3120, in at 3150, render 3171): shown at 3161.

    Frame 79 (in at 3190) differs from the note, which kept J = 11 and showed it at 3201: the
    jitter estimator's frame rate is the mean of its last 30 update intervals, and the freeze put
    one of 3161 - 81 = 3080 ms among 29 of 40 ms, so at frame 78's release fps = 1000 / (4240 / 30)
    = 7.08 Hz, J is scaled by (fps - 5) / 5 to 4.57 ms and the target to 14.57 ms; frame 78 is on
    time (lateness 0), and libwebrtc's UpdateCurrentDelay then sets current = target (current + 0
    exceeds it). Frame 79 renders at 3190 + 14.57 and is shown 10 ms earlier, at 3194.57."""
    sc = Scenario(lost=lambda seq, attempt: seq == 2)
    sink = sc.run(3300.0)
    assert [t for t, _ in sc.nacks_sent] == [150.0, 200.0] + [260.0 + 60.0 * i for i in range(8)]
    assert all(seqs == [2] for _, seqs in sc.nacks_sent)
    assert sc.plis_sent == [3081.0]
    assert sc.keyframes == [0, 78]
    assert sink[1] == 81.0 and sink[78] == 3161.0
    fps = 1000.0 / ((29 * 40.0 + 3080.0) / 30)
    jitter = 11.0 * (fps - 5.0) / 5.0
    assert sink[79] == pytest.approx(3190.0 + jitter)
    assert sink[79] == pytest.approx(3194.566, abs=1e-3)
    assert all(k not in sink for k in range(2, 78))  # frozen from 81 to 3161
