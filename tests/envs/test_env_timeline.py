"""Golden timeline of artic/VideoChat-v0 on a constant-rate trace, worked out by hand.

Link: one 1504-byte opportunity every millisecond (12 Mbps), 20 ms one-way delay, feedback 20 ms.
Sender: 1028 kbps target (tier 12), 5 fps (one frame per 200 ms), encode 5 ms, pacing at 2.5 x
1028 = 2570 kbps, so a 1240-byte packet (1200 payload + 40 header) takes 1240 * 8 / 2570 = 3.860 ms.
Frame sizes: keyframe 6000 B (5 packets of 1240 B), P-frame 2400 B (2 packets of 1240 B).

Frame 0 (captured 0, keyframe): sends 5, 8.860, 12.720, 16.580, 20.440 -> the first opportunity
strictly after each send millisecond: 6, 9, 13, 17, 21 -> arrivals 26, 29, 33, 37, 41: decodable 41.
Frame k >= 1 (captured 200 k): sends 200k + 5, 200k + 8.860 -> departures 200k + 6, 200k + 9 ->
decodable 200k + 29 (frame delay 29 ms).
MLLM samples every 500 ms: at 0 nothing is decodable (stale); at 500 the freshest decodable frame
is frame 2 (captured 400, decodable 429); at 1000 frame 5 (decodable 1029) is not in yet, so frame
4 (captured 800, decodable 829) stands in.
A question at 250 ms is answered with the first decodable frame captured after it: frame 2
(decodable 429): latency 429 - 250 + inference 0 = 179 ms, reported in the step [400, 600).
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable

import numpy as np
import pytest

from artic_rl.envs.video_chat import VideoChatEnv
from artic_rl.mllm import load_accuracy_model
from artic_rl.net import Trace

RATE_IDX, ROI_IDX, FPS_IDX = 12, 0, 2  # 1028 kbps, uniform, 5 fps


class FixedProfile:
    """A codec profile with fixed frame sizes, so every number above can be checked by hand."""

    def frame_sizes_bytes(self, kbps, fps, roi_level, n, np_random, keyframe=None):  # noqa: ANN001, ANN201
        sizes = np.full(n, 2400, dtype=np.int64)
        if keyframe is not None:
            sizes[np.asarray(keyframe, dtype=bool)] = 6000
        return sizes

    def equivalent_kbps(self, kbps, fps, roi_level, roi_area, roi_hit=True):  # noqa: ANN001, ANN201
        return float(kbps)


def make_env(**kwargs: object) -> VideoChatEnv:
    trace = Trace(name="12mbps", opportunities_ms=np.array([1]), period_ms=1)
    args: dict[str, object] = {
        "traces": [trace],
        "profile": FixedProfile(),
        "delay_ms": 20.0,
        "feedback_delay_ms": 20.0,
        "inference_ms": 0.0,
        "inference_jitter_ms": 0.0,
        "roi_miss_rate": 0.0,
        "episode_s": 4.0,
        "feedback_interval_ms": 0.0,  # each report on its own, as worked out above
        "encoder_rise_deficit": 0.0,  # an encoder that meets every target at once: the hand
        "encoder_drop_overshoot": 0.0,  # computations read the targets (test_env_encoder.py: the lag)
    }
    args.update(kwargs)
    return VideoChatEnv(**args)  # type: ignore[arg-type]


def test_constant_rate_timeline_matches_hand_computation() -> None:
    env = make_env()
    env.reset(seed=0, options={"start_ms": 0, "question_ms": [250.0]})
    action = np.array([RATE_IDX, ROI_IDX, FPS_IDX])
    infos = [env.step(action)[4] for _ in range(6)]
    assert infos[0]["frame_delay_ms"] == pytest.approx([41.0])
    for info in infos[1:]:
        assert info["frame_delay_ms"] == pytest.approx([29.0])
    assert infos[0]["stale_frames"] == 1.0  # the sample at 0 ms had no frame
    assert infos[2]["stale_frames"] == 0.0
    assert infos[5]["stale_frames"] == 0.0
    assert [len(i["latency_ms"]) for i in infos] == [0, 0, 1, 0, 0, 0]
    assert infos[2]["latency_ms"] == pytest.approx([179.0])
    # bytes on the wire: keyframe 5 x 1240 in step 0, then one P-frame of 2 x 1240 per step
    assert infos[0]["bitrate_kbps"] == pytest.approx(5 * 1240 * 8 / 200)
    assert infos[1]["bitrate_kbps"] == pytest.approx(2 * 1240 * 8 / 200)
    assert infos[1]["capacity_kbps"] == pytest.approx(1504 * 8 / 1.0)


def test_question_accuracy_comes_from_the_accuracy_model() -> None:
    env = make_env()
    env.reset(seed=0, options={"start_ms": 0, "question_ms": [250.0]})
    action = np.array([RATE_IDX, ROI_IDX, FPS_IDX])
    infos = [env.step(action)[4] for _ in range(3)]
    q = env.unwrapped._timeline.plan.questions[0]  # type: ignore[union-attr]
    expected = load_accuracy_model("artic").p_correct(q, 1028.0, 29.0, 5.0)
    assert infos[2]["accuracy"] == pytest.approx([expected])


def test_a_question_is_answered_at_its_frames_picture_age() -> None:
    """The accuracy model hears how long the answering frame's picture has been refined: its
    capture since its chain's keyframe (frames every 200 ms from 0 ms, one keyframe at 0; a
    question is answered by the first frame captured at or after it)."""
    age_as_accuracy = _reading_accuracy(lambda eq, age_ms: age_ms / 100_000.0)  # in 100 s
    env = make_env(accuracy=age_as_accuracy, episode_s=4.0)
    env.reset(seed=0, options={"start_ms": 0, "question_ms": [250.0, 2250.0]})
    action = np.array([RATE_IDX, ROI_IDX, FPS_IDX])
    answered = [a for _ in range(20) for a in env.step(action)[4]["accuracy"]]
    assert [100_000.0 * a for a in answered] == pytest.approx([400.0, 2400.0])


@pytest.mark.parametrize("backend", ["python", "compiled"])
def test_a_move_of_the_roi_carries_no_memory(backend: str) -> None:
    """Frames every 200 ms at ROI level 3; the cloud knows each region 100 ms before its question.
    The question at 250 ms is answered by the frame captured at 400 ms, whose ROI is already on
    the next question's region (known from 350 ms): a miss, even though the frame at 200 ms had
    the ROI on the question's region; only a bitrate drop leaves a memory."""

    class MissTenth(FixedProfile):
        def equivalent_kbps(self, kbps, fps, roi_level, roi_area, roi_hit=True):  # noqa: ANN001, ANN201
            return float(kbps) if roi_hit else float(kbps) / 10.0

    env = make_env(profile=MissTenth(), accuracy=_linear_accuracy(), roi_lead_ms=100.0,
                   picture_memory_ms=400.0, backend=backend)  # fmt: skip
    env.reset(seed=0, options={"start_ms": 0, "question_ms": [250.0, 450.0]})
    action = np.array([RATE_IDX, 3, FPS_IDX])
    answered = [a for _ in range(10) for a in env.step(action)[4]["accuracy"]]
    assert answered == pytest.approx([0.01028, 0.1028])  # the miss; the frame at 600 ms: a hit


@pytest.mark.parametrize("backend", ["python", "compiled"])
@pytest.mark.parametrize("at_decision", [False, True])
def test_with_roi_at_decision_the_frames_take_the_region_the_sender_holds(
    backend: str, at_decision: bool
) -> None:
    """Frames every 200 ms at ROI level 3; the cloud knows the question at 490 ms's region from
    390 ms (lead 100 ms). The question at 250 ms is answered by the frame captured at 400 ms. By
    its capture the cloud holds the next region (a miss); the sender, deciding at 400 ms, holds
    the report of 380 ms (feedback 20 ms), which still has the first question's region (a hit),
    and so does the streamer's encoder for that frame. The frame at 600 ms answers the second."""

    class MissTenth(FixedProfile):
        def equivalent_kbps(self, kbps, fps, roi_level, roi_area, roi_hit=True):  # noqa: ANN001, ANN201
            return float(kbps) if roi_hit else float(kbps) / 10.0

    env = make_env(profile=MissTenth(), accuracy=_linear_accuracy(), roi_lead_ms=100.0,
                   picture_memory_ms=0.0, roi_at_decision=at_decision, backend=backend)  # fmt: skip
    env.reset(seed=0, options={"start_ms": 0, "question_ms": [250.0, 490.0]})
    action = np.array([RATE_IDX, 3, FPS_IDX])
    answered = [a for _ in range(10) for a in env.step(action)[4]["accuracy"]]
    assert answered == pytest.approx([0.1028 if at_decision else 0.01028, 0.1028])


@pytest.mark.parametrize("backend", ["python", "compiled"])
@pytest.mark.parametrize("memory_ms", [0.0, 400.0])
def test_a_still_picture_keeps_part_of_its_quality_after_the_bitrate_drops(
    backend: str, memory_ms: float
) -> None:
    """Frames every 200 ms, uniform; the first three (0, 200, 400 ms) at 1028 kbps, the next ones
    at a lower tier. The question at 450 ms is answered by the frame at 600 ms: 200 ms after the
    last 1028 kbps frame, it reads exp(-200 / memory) of the way back up to it; a later keyframe
    would start a new chain, but none comes here."""
    env = make_env(accuracy=_linear_accuracy(), picture_memory_ms=memory_ms, backend=backend)
    env.reset(seed=0, options={"start_ms": 0, "question_ms": [450.0]})
    high, low = np.array([RATE_IDX, 0, FPS_IDX]), np.array([RATE_IDX - 6, 0, FPS_IDX])
    low_kbps = env.unwrapped.codec.decode(low).rate_kbps  # type: ignore[attr-defined]
    answered = [a for k in range(8) for a in env.step(high if k < 3 else low)[4]["accuracy"]]
    kept = math.exp(-200.0 / memory_ms) if memory_ms else 0.0
    p_low, p_high = low_kbps / 10_000.0, 0.1028
    assert answered == pytest.approx([p_low + (p_high - p_low) * kept])


def _reading_accuracy(read: Callable[[float, float], float]) -> object:
    """An accuracy model answering ``read(equivalent kbps, picture age ms)``; its questions and
    confidences are the ``artic`` model's."""
    artic = load_accuracy_model("artic")

    class Reading:
        def sample_question(self, np_random):  # noqa: ANN001, ANN202
            return artic.sample_question(np_random)

        def p_correct(self, q, eq, staleness_ms=0.0, fps=30.0, age_ms=math.nan):  # noqa: ANN001, ANN202
            return read(eq, age_ms)

        def confidence_at(self, q, kbps):  # noqa: ANN001, ANN202
            return artic.confidence_at(q, kbps)

    return Reading()


def _linear_accuracy() -> object:
    """An accuracy model reading equivalent kbps / 10,000."""
    return _reading_accuracy(lambda eq, age_ms: eq / 10_000.0)


def test_picture_memory_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="picture_memory_ms must be >= 0"):
        make_env(picture_memory_ms=-1.0)


def test_feedback_reaches_the_sender_after_the_return_delay() -> None:
    env = make_env()
    env.reset(seed=0, options={"start_ms": 0, "question_ms": []})
    info = env.step(np.array([RATE_IDX, ROI_IDX, FPS_IDX]))[4]
    packets = info["feedback"].packets
    # all five keyframe packets arrive by 41 ms, their reports by 61 ms < 200 ms
    assert packets.arrival_ms.tolist() == pytest.approx([26.0, 29.0, 33.0, 37.0, 41.0])
    assert info["feedback"].frames.decodable_ms.tolist() == pytest.approx([41.0])


@pytest.mark.parametrize("receiver", ["artic", "webrtc"])
def test_batched_feedback_reports_at_the_receivers_next_tick(receiver: str) -> None:
    """``feedback_interval_ms=13``: ticks at 0, 13, 26, 39, 52. The keyframe's packets arrive at
    26 (on a tick: in it), 29, 33, 37 (the tick at 39) and 41 (52): the sender knows them 20 ms
    later, at 46, 59, 59, 59 and 72 (unbatched: 46, 49, 53, 57, 61). Frame 0's report goes with the
    tick after its decision: decodable at 41 (artic), shown at 43 (webrtc): both at 52 + 20
    (unbatched: 61, 63)."""
    seen: dict[float, list[tuple[float, list[int], list[int]]]] = {}
    for every in (0.0, 13.0):
        env = make_env(feedback_interval_ms=every, receiver=receiver)
        env.reset(seed=0, options={"start_ms": 0, "question_ms": []})
        tl = env._timeline
        assert tl is not None
        tl.send_interval(env.codec.decode(np.array([RATE_IDX, ROI_IDX, FPS_IDX])), 0.0, 200.0)
        seen[every] = []
        for t in (45.9, 46.0, 49.0, 58.9, 59.0, 63.0, 71.9, 72.0, 200.0):
            report = tl.feedback(t, 0)
            seen[every].append((t, report.packets.seq.tolist(), report.frames.frame_id.tolist()))
    unbatched = [[], [0], [1], [2, 3], [], [4], [], [], []]
    assert [packets for _, packets, _ in seen[0.0]] == unbatched
    assert [t for t, _, frames in seen[0.0] if frames] == [63.0]  # known at 61 (artic) or 63
    assert seen[13.0] == [
        (45.9, [], []),
        (46.0, [0], []),
        (49.0, [], []),
        (58.9, [], []),
        (59.0, [1, 2, 3], []),
        (63.0, [], []),
        (71.9, [], []),
        (72.0, [4], [0]),
        (200.0, [], []),
    ]


def test_batched_feedback_keeps_keyframe_requests_and_retransmissions_at_once() -> None:
    """The loss of packet 6 (the case above), with a 200 ms report tick: packet 7's arrival at 426
    reveals it. The PLI leaves at once and the sender still makes frame 3 a keyframe; the
    reports of packets 6-8 and frames 1-2 wait for the tick at 600 and reach the sender at 620,
    after the report at 600 (which carries packet 5, arrived at 226: the tick at 400). With the webrtc receiver the NACK leaves at once too: frames 1 and 2
    are shown at 469 and 471 as without batching; the retransmission's report (it arrived at
    467) waits for the same tick."""
    action = np.array([RATE_IDX, ROI_IDX, FPS_IDX])
    env = _lossy_env({6}, feedback_interval_ms=200.0)
    reports = [env.step(action)[4]["feedback"] for _ in range(4)]
    assert [r.keyframe_request for r in reports] == [False, False, True, False]
    assert reports[2].packets.seq.tolist() == [5] and reports[2].frames.frame_id.tolist() == []
    assert reports[3].packets.seq.tolist() == [6, 7, 8]
    assert reports[3].frames.frame_id.tolist() == [1, 2]
    tl = env.unwrapped._timeline  # type: ignore[union-attr]
    assert tl.last_key_idx == 3 and tl.f_decodable[3] == pytest.approx(641.0)
    env = _lossy_env({6}, receiver="webrtc", feedback_interval_ms=200.0)
    reports = [env.step(action)[4]["feedback"] for _ in range(4)]
    tl = env.unwrapped._timeline  # type: ignore[union-attr]
    assert tl.f_decodable[1:3] == [469.0, 471.0]
    assert reports[2].packets.seq.tolist() == [5]
    assert reports[3].packets.seq.tolist() == [6, 7, 8, 9]
    assert reports[3].packets.arrival_ms[3] == 467.0


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
def test_feedback_interval_must_be_a_finite_non_negative_ms(bad: float) -> None:
    with pytest.raises(ValueError, match="feedback_interval_ms must be >= 0"):
        make_env(feedback_interval_ms=bad)


def test_unanswerable_question_counts_as_wrong_at_episode_end() -> None:
    # an outage trace: one opportunity per 100 s, so nothing but the first packet gets through
    trace = Trace(name="outage", opportunities_ms=np.array([100_000]), period_ms=100_000)
    env = make_env(traces=[trace], episode_s=3.0)
    env.reset(seed=0, options={"start_ms": 0, "question_ms": [500.0]})
    acc: list[float] = []
    lat: list[float] = []
    truncated = False
    while not truncated:
        _, _, _, truncated, info = env.step(np.array([RATE_IDX, ROI_IDX, FPS_IDX]))
        acc += info["accuracy"]
        lat += info["latency_ms"]
    assert acc == [0.0]
    assert lat == pytest.approx([3000.0 - 500.0])


def test_keyframe_request_restores_decoding_after_a_loss() -> None:
    env = make_env(loss_rate=0.3, episode_s=10.0)
    env.reset(seed=3, options={"start_ms": 0, "question_ms": []})
    action = np.array([RATE_IDX, ROI_IDX, FPS_IDX])
    requests = 0
    decoded = 0
    for _ in range(50):
        info = env.step(action)[4]
        requests += info["feedback"].keyframe_request
        decoded += len(info["frame_delay_ms"])
    tl = env.unwrapped._timeline  # type: ignore[union-attr]
    assert requests > 0  # losses were noticed
    assert tl.last_key_idx > 0  # and answered with a fresh keyframe
    assert 0 < decoded < tl.n_frames  # some frames were lost or undecodable, decoding recovered


def test_pickled_env_continues_identically() -> None:
    env = make_env()
    env.reset(seed=5)
    action = np.array([RATE_IDX, ROI_IDX, FPS_IDX])
    env.step(action)
    clone = pickle.loads(pickle.dumps(env))
    a = env.step(action)
    b = clone.step(action)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1]


def test_paper_frame_latency_by_hand() -> None:
    from types import SimpleNamespace

    from artic_rl.envs.timeline import Timeline

    nan = float("nan")
    frames = SimpleNamespace(
        f_capture=[0.0, 100.0, 200.0, 300.0, 400.0],
        f_decodable=[30.0, nan, nan, 350.0, nan, 1200.0],
    )
    frames.f_capture.append(500.0)
    # lost frames count until the next decodable frame, the last ones until the episode's end
    # (the sixth frame would decode after it)
    got = Timeline.frame_latencies_ms(frames, 1000.0)  # type: ignore[arg-type]
    assert got == pytest.approx([30.0, 250.0, 150.0, 50.0, 600.0, 500.0])


def test_episode_frame_latency_on_the_last_step_only() -> None:
    env = make_env()
    env.reset(seed=0, options={"start_ms": 0, "question_ms": [250.0]})
    action = np.array([RATE_IDX, ROI_IDX, FPS_IDX])
    truncated, infos = False, []
    while not truncated:
        _, _, _, truncated, info = env.step(action)
        infos.append(info)
    assert all("episode_frame_latency_ms" not in i for i in infos[:-1])
    # every frame is decodable here: the paper's latency is each frame's delay (see above)
    assert infos[-1]["episode_frame_latency_ms"] == pytest.approx([41.0] + [29.0] * 19)


def test_paper_frame_latency_in_an_outage_runs_to_the_episode_end() -> None:
    trace = Trace(name="outage", opportunities_ms=np.array([100_000]), period_ms=100_000)
    env = make_env(traces=[trace], episode_s=3.0)
    env.reset(seed=0, options={"start_ms": 0, "question_ms": []})
    truncated = False
    while not truncated:
        _, _, _, truncated, info = env.step(np.array([RATE_IDX, ROI_IDX, FPS_IDX]))
    # 5 fps; the few frames whose packets the link would deliver do so long after the end
    captures = [200.0 * i for i in range(15)]
    assert info["episode_frame_latency_ms"] == pytest.approx([3000.0 - c for c in captures])


class DroppingLink:
    """The constant-rate link, losing the packets whose sequence numbers are listed (or all from
    ``drop_from`` on): losses at chosen places, so the notice times can be worked out by hand."""

    def __init__(
        self, link: object, drop: set[int], drop_from: int | None = None, drop_size: int = 0
    ) -> None:
        self.link, self.drop, self.drop_from, self.seq = link, drop, drop_from, 0
        self.drop_size = drop_size  # also lose every packet of this size (retransmissions)

    def __getattr__(self, name: str) -> object:  # delay_ms and the rest: the real link's
        return getattr(self.link, name)

    def send_list(self, send_ms: list[float], size_bytes: list[int]) -> list[float]:
        arrival = self.link.send_list(send_ms, size_bytes)  # type: ignore[attr-defined]
        for i in range(len(arrival)):
            s = self.seq + i
            if (
                s in self.drop
                or (self.drop_from is not None and s >= self.drop_from)
                or size_bytes[i] == self.drop_size
            ):
                arrival[i] = float("nan")
        self.seq += len(arrival)
        return arrival


@pytest.mark.parametrize("backend", ["python", "compiled"])
def test_question_fields_are_those_of_the_newest_tick_the_sender_holds(backend: str) -> None:
    """Reports every 50 ms, 20 ms on the way: at a decision at ``t`` the sender holds the tick at
    ``floor((t - 20) / 50) * 50``, and the cloud's question fields are as of it, as the streamer's
    receiver sends them. The question at 250 ms (region known from 160 ms, lead 90) is answered
    with frame 2, decodable at 429. At 200 the sender holds tick 150: no region yet (unbatched: the
    region known at 180). At 400, tick 350: the question awaits its answer, 100 ms old, so the
    sender takes it as asked at 300 (unbatched: 130 ms old at 380, asked at 270). At 600, tick 550:
    answered."""
    seen = {}
    for every in (0.0, 50.0):
        env = make_env(feedback_interval_ms=every, roi_lead_ms=90.0, backend=backend)
        env.reset(seed=0, options={"start_ms": 0, "question_ms": [250.0]})
        action = np.array([RATE_IDX, ROI_IDX, FPS_IDX])
        reports = [env.step(action)[4]["feedback"] for _ in range(3)]
        seen[every] = [(r.roi_known, r.question_active, r.question_asked_ms) for r in reports]
    assert seen[0.0][0][:2] == (True, False) and math.isnan(seen[0.0][0][2])
    assert seen[0.0][1] == (True, True, pytest.approx(270.0))
    assert seen[50.0][0][:2] == (False, False)
    assert seen[50.0][1] == (True, True, pytest.approx(300.0))
    for known, active, asked in (seen[0.0][2], seen[50.0][2]):
        assert known and not active and math.isnan(asked)


def _lossy_env(
    drop: set[int],
    drop_from: int | None = None,
    episode_s: float = 4.0,
    receiver: str = "artic",
    drop_size: int = 0,
    feedback_interval_ms: float = 0.0,
) -> VideoChatEnv:
    env = make_env(
        episode_s=episode_s, receiver=receiver, feedback_interval_ms=feedback_interval_ms
    )
    env.reset(seed=0, options={"start_ms": 0, "question_ms": []})
    tl = env._timeline
    assert tl is not None
    tl.link = DroppingLink(tl.link, drop, drop_from, drop_size)  # type: ignore[assignment]
    if tl.transport is not None:
        tl.transport.link = tl.link
    return env


def test_artic_notices_a_tail_loss_when_the_next_packet_arrives() -> None:
    """Frame 1 (captured 200) is packets 5 and 6; packet 6 (due at 229) is lost, the last one of its
    interval. Packet 7, frame 2's first (sent 405, departs 406), arrives at 426: the receiver
    notices the loss then, so its PLI and frame report reach the sender at 446 and the report at
    600 carries them (the old fallback noticed it at 200 + 2 x 200 = 600, reported at 800).
    Frame 3 (captured 600 >= 446) is the keyframe: 5 packets sent 605 + 3.86 k, departing 606, 609,
    613, 617, 621, decodable at 641. Packet 6's own report is known at 426 + 20 = 446, too."""
    env = _lossy_env({6})
    action = np.array([RATE_IDX, ROI_IDX, FPS_IDX])
    reports = [env.step(action)[4]["feedback"] for _ in range(4)]
    assert [r.keyframe_request for r in reports] == [False, False, True, False]
    frames = reports[2].frames
    assert frames.frame_id.tolist() == [1, 2]  # frame 2 arrived complete but its chain is broken
    assert np.isnan(frames.decodable_ms).all()
    lost = reports[2].packets
    assert lost.seq.tolist() == [6, 7, 8]
    assert np.isnan(lost.arrival_ms[0]) and lost.arrival_ms[1:].tolist() == [426.0, 429.0]
    tl = env.unwrapped._timeline  # type: ignore[union-attr]
    assert tl.last_key_idx == 3
    assert tl.f_decodable[3] == pytest.approx(641.0)


def test_artic_frame_timer_notices_a_loss_no_packet_reveals() -> None:
    """Every packet from 6 on is lost: frame 1's first packet (5) arrived at 226, so its timer
    (5000 ms, the streamer's FrameAssembler max_age) fires at 5226; the PLI reaches the sender at
    5246, the report at 5400 carries it, and frame 27 (captured 5400) is a keyframe. Frames 2..26
    lost every packet: the receiver never learns they existed."""
    env = _lossy_env(set(), drop_from=6, episode_s=6.0)
    action = np.array([RATE_IDX, ROI_IDX, FPS_IDX])
    reports = [env.step(action)[4]["feedback"] for _ in range(28)]
    requests = [k for k, r in enumerate(reports) if r.keyframe_request]
    assert requests == [26]  # the step ending at 27 x 200 = 5400
    assert reports[26].frames.frame_id.tolist() == [1]
    tl = env.unwrapped._timeline  # type: ignore[union-attr]
    assert tl.last_key_idx == 27
    # no packet after 5 arrived, so no packet loss was ever reported
    assert sum(len(r.packets.seq) for r in reports) == 6


def test_webrtc_receiver_without_loss_shows_frames_after_decoding() -> None:
    """``receiver="webrtc"``, decode time 2 ms. Frame 0 (the keyframe, complete at 41) is released
    at once while a keyframe is required and shown at 43. At 5 fps the jitter delay is scaled to
    (5 - 5) / 5 = 0 of itself, so the current delay falls to the target R + J = 10 ms + a rounding
    remainder: from frame 3 on a frame renders ~10 ms after it arrives and is shown when decoded,
    2 ms after arriving (200 k + 29 + 2)."""
    env = make_env(receiver="webrtc")
    env.reset(seed=0, options={"start_ms": 0, "question_ms": []})
    action = np.array([RATE_IDX, ROI_IDX, FPS_IDX])
    infos = [env.step(action)[4] for _ in range(6)]
    tl = env.unwrapped._timeline  # type: ignore[union-attr]
    assert tl.f_decodable[0] == 43.0
    assert tl.f_decodable[3:6] == pytest.approx([631.0, 831.0, 1031.0])
    assert infos[4]["frame_delay_ms"] == pytest.approx([31.0])
    assert not any(i["feedback"].keyframe_request for i in infos)


def test_webrtc_receiver_recovers_a_lost_packet_by_retransmission() -> None:
    """Packet 6 (frame 1's last) is lost. Packet 7 (frame 2) arrives at 426 and reveals it: NACK at
    426, at the sender at 446; the retransmission (1240 + 2 bytes) leaves at once (nothing else is
    waiting), departs 447, arrives 467. Frame 1 is then complete and long past its render time:
    decoded 467-469, shown at 469; frame 2 (complete at 429) waited for it: shown at 471. No
    keyframe is requested; the retransmission is in the transport feedback."""
    env = _lossy_env({6}, receiver="webrtc")
    tl = env.unwrapped._timeline  # type: ignore[union-attr]
    action = np.array([RATE_IDX, ROI_IDX, FPS_IDX])
    reports = [env.step(action)[4]["feedback"] for _ in range(4)]
    assert tl.f_decodable[1:3] == [469.0, 471.0]
    assert not any(r.keyframe_request for r in reports)
    packets = reports[2].packets
    assert packets.seq.tolist() == [6, 7, 8, 9]
    assert packets.size_bytes.tolist() == [1240, 1240, 1240, 1242]
    assert packets.send_ms[3] == 446.0 and packets.arrival_ms[3] == 467.0
    # where the latency went: frame 1 waited 467 - 226 for its own retransmission (its packet 5
    # arrived first time at 226), frame 2 467 - 429 for its reference; frame 2 was then held 2 ms
    # while the decoder finished frame 1
    assert tl.rtx_wait_ms[1:3] == [241.0, 38.0]
    assert tl.hold_ms[1:3] == [0.0, 2.0]


def test_webrtc_env_pickles_and_continues_identically() -> None:
    env = make_env(receiver="webrtc", loss_rate=0.1)
    env.reset(seed=5)
    action = np.array([RATE_IDX, ROI_IDX, FPS_IDX])
    for _ in range(3):
        env.step(action)
    clone = pickle.loads(pickle.dumps(env))
    a, b = env.step(action), clone.step(action)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1]


def test_unknown_receiver_is_one_error_line_naming_the_known_ones() -> None:
    with pytest.raises(ValueError) as err:
        make_env(receiver="razor")
    assert str(err.value) == "unknown receiver 'razor'; known receivers: artic, webrtc"


def test_webrtc_receiver_freezes_until_the_3_s_timeout_when_retransmission_fails() -> None:
    """Packet 6 (frame 1's last) and every retransmission (1242 bytes) are lost: the NACK entry is
    dropped after 10 tries, with no keyframe request, and frames 2, 3, ... wait for frame 1 (in-order
    decoding). The last frame released was frame 0 at 41 (decoded at once: a keyframe is required
    at the start), so the freeze timeout fires at 41 + 3000 = 3041: PLI, at the sender at 3061,
    reported at 3200; the sender honours it for the next interval's first frame, frame 16 (captured
    3200): its 5 packets arrive by 3241 and it is shown once decoded."""
    env = _lossy_env({6}, episode_s=5.0, receiver="webrtc", drop_size=1242)
    tl = env.unwrapped._timeline  # type: ignore[union-attr]
    action = np.array([RATE_IDX, ROI_IDX, FPS_IDX])
    reports = [env.step(action)[4]["feedback"] for _ in range(18)]
    assert [k for k, r in enumerate(reports) if r.keyframe_request] == [15]  # the step ending 3200
    assert tl.transport.rx.nack.entries == {}
    assert tl.last_key_idx == 16
    assert all(math.isnan(d) for d in tl.f_decodable[1:16])
    assert tl.f_decodable[16] >= 3241.0
