"""The compiled timeline (envs/timeline_compiled.py, envs/_timeline_kernels.py): which
implementation runs, and that every step of an episode is the reference's bit for bit with either
receiver (observation, reward, every info field, the whole feedback report) on the edges of the
interval's rules: outages with no capacity at all, drops and random loss (keyframe requests, frame
timers, retransmissions), frame rates and bitrates changing every step (above the profiled grid,
too), tables growing from one row, the link run inside the kernel or through Python, and the
receiver's reports batched on its feedback ticks."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import artic_rl.envs  # noqa: F401
from artic_rl.envs import ENV_ID
from artic_rl.envs.timeline import Timeline
from artic_rl.net import Trace

pytest.importorskip("numba")

from artic_rl.envs import _timeline_kernels as k  # noqa: E402
from artic_rl.envs import timeline_compiled  # noqa: E402
from artic_rl.envs.timeline_compiled import CompiledTimeline  # noqa: E402

TRACES = str(Path(__file__).resolve().parents[2] / "traces")  # the repository's shipped traces


def _trace(name: str, opportunities_ms: np.ndarray, period_ms: int) -> Trace:
    return Trace(name=name, opportunities_ms=np.asarray(opportunities_ms), period_ms=period_ms)


# no capacity for the whole episode; 2 s of 12 Mbps, then a 4 s outage; 1.2 Mbps
OUTAGE = _trace("outage", np.array([100_000]), 100_000)
GAP = _trace("gap", np.concatenate([np.arange(0, 2000), np.arange(6000, 10_000)]), 10_000)
SLOW = _trace("slow", np.array([0]), 10)


def _env(backend: str, **kwargs: Any) -> Any:
    args: dict[str, Any] = {"backend": backend, "receiver": "artic", "episode_s": 20.0}
    if "traces" not in kwargs:
        args["traces_root"] = TRACES
    return gym.make(ENV_ID, **{**args, **kwargs}).unwrapped


def _same(a: Any, b: Any, where: str) -> None:
    """``a`` and ``b`` are equal bit for bit (NaN equal to NaN), of the same types."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for n, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{n}]")
    elif hasattr(a, "__dataclass_fields__"):
        for name in a.__dataclass_fields__:
            _same(getattr(a, name), getattr(b, name), f"{where}.{name}")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert a.tobytes() == b.tobytes(), f"{where}: {a} != {b}"
    elif isinstance(a, float):
        assert np.float64(a).tobytes() == np.float64(b).tobytes(), f"{where}: {a!r} != {b!r}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _steps(env: Any, seed: int, actions: np.ndarray, mid: Any = None) -> list[Any]:
    """Every step's (observation, reward, info) of an episode (``mid(env)`` after 10 steps)."""
    out = [env.reset(seed=seed)]
    for n, action in enumerate(actions):
        if n == 10 and mid is not None:
            mid(env)
        obs, reward, _, truncated, info = env.step(action)
        out.append((obs, reward, info))
        if truncated:
            break
    return out


def _actions(env: Any, seed: int, n: int = 200) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, env.action_space.nvec) for _ in range(n)])


def assert_equal_episodes(seed: int, mid: Any = None, **kwargs: Any) -> CompiledTimeline:
    """The compiled episode equals the reference's step for step; the compiled timeline."""
    reference, compiled = _env("python", **kwargs), _env("compiled", **kwargs)
    actions = _actions(reference, seed)
    expected = _steps(reference, seed, actions)
    got = _steps(compiled, seed, actions, mid)
    assert type(reference._timeline) is Timeline
    assert type(compiled._timeline) is CompiledTimeline
    _same(got, expected, "episode")
    # each frame's chain keyframe (the picture's age, read by aged accuracy curves)
    _same(compiled._timeline.f_key_ms, reference._timeline.f_key_ms, "f_key_ms")
    compiled._timeline.sync_link()  # the link's own state: the kernel's, written back
    ours, theirs = compiled._timeline.link, reference._timeline.link
    for name in ("packets_sent", "packets_dropped", "packets_lost", "_end_byte", "_last_send_ms"):
        assert getattr(ours, name) == getattr(theirs, name), name
    for buffer in ("_q_start", "_q_size"):  # the queue (the buffers' layout may differ)
        np.testing.assert_array_equal(
            getattr(ours, buffer)[ours._head : ours._tail],
            getattr(theirs, buffer)[theirs._head : theirs._tail],
        )
    return compiled._timeline


def test_the_link_backend_and_receiver_pick_the_timeline() -> None:
    for backend, receiver, kind in (
        ("compiled", "artic", CompiledTimeline),
        ("compiled", "webrtc", CompiledTimeline),
        ("python", "artic", Timeline),
        ("python", "webrtc", Timeline),
    ):
        env = _env(backend, preset="lte", receiver=receiver)
        env.reset(seed=0)
        assert type(env._timeline) is kind


CASE_KWARGS: dict[str, dict[str, Any]] = {
    "lte": {"preset": "lte"},
    "lte-drops": {"preset": "lte", "queue_packets": 3},  # drops inside the kernel's link
    "3g-loss": {"preset": "3g", "loss_rate": 0.1},  # the Python link's random loss
    "5g-above-grid": {"preset": "5g", "max_rate_kbps": 20_000.0},  # ExtendedProfile
    "wifi": {"preset": "wifi"},
    "outage": {"traces": [OUTAGE], "queue_packets": 10},
    "gap": {"traces": [GAP], "queue_packets": 20},
    "slow-drops": {"traces": [SLOW], "queue_packets": 5, "question_interval_s": 1.0},
}
CASES = list(CASE_KWARGS)


@pytest.mark.parametrize(
    ("receiver", "case"),
    [("artic", case) for case in CASES] + [("webrtc", case) for case in CASES],
)
def test_compiled_steps_equal_the_reference(receiver: str, case: str) -> None:
    for seed in (0, 1):
        tl = assert_equal_episodes(seed, receiver=receiver, **CASE_KWARGS[case])
        assert tl.n_frames > 0


BATCHED_CASES = ["lte", "lte-drops", "3g-loss", "gap", "slow-drops"]


@pytest.mark.parametrize(
    ("receiver", "case"),
    [("artic", case) for case in BATCHED_CASES] + [("webrtc", case) for case in BATCHED_CASES],
)
def test_compiled_steps_equal_the_reference_with_batched_feedback(receiver: str, case: str) -> None:
    """The receiver's reports batched (``feedback_interval_ms``): each waits for its tick in the
    kernels as in the reference (packet reports, revealed losses, frame reports, frame timers),
    on ticks that meet the control intervals' ends (50 ms) and that fall across them (30 ms, the
    reports 35 ms on)."""
    kwargs = CASE_KWARGS[case]
    assert_equal_episodes(0, receiver=receiver, feedback_interval_ms=50.0, **kwargs)
    assert_equal_episodes(
        1, receiver=receiver, feedback_interval_ms=30.0, feedback_delay_ms=35.0, **kwargs
    )


@pytest.mark.parametrize("receiver", ["artic", "webrtc"])
def test_compiled_steps_equal_the_reference_with_the_roi_at_the_decision(receiver: str) -> None:
    """``roi_at_decision``: the frames' region is the one the sender holds at its decision, in the
    kernels as in the reference (questions every second or so: regions change often)."""
    for seed in (0, 1):
        assert_equal_episodes(
            seed, receiver=receiver, roi_at_decision=True, feedback_interval_ms=50.0,
            **CASE_KWARGS["slow-drops"],
        )  # fmt: skip


def test_keyframe_requests_frame_timers_and_tail_losses_happen_in_these_cases() -> None:
    """The edge cases above reach the rules they are there for (else the test proves little)."""
    plis = timers = waits = 0
    for kwargs in ({"traces": [GAP], "queue_packets": 20}, {"traces": [SLOW], "queue_packets": 5}):
        env = _env("compiled", **kwargs)
        env.reset(seed=0)
        actions = _actions(env, 0)
        for action in actions:
            info = env.step(action)[4]
            plis += info["feedback"].keyframe_request
            tl = env._timeline
            timers += tl._live(k.L_FLOSS) > 0
            waits += tl._live(k.L_PK_WAIT) > 0
            if info.get("episode_frame_latency_ms") is not None:
                break
        # each frame's chain begins at a frame's capture at or before it; keyframes after the
        # first restart the pictures' ages
        key, cap = tl.f_key_ms, tl.f_capture
        assert key[0] == cap[0] and len(set(key)) > 1 and set(key) <= set(cap)
        assert key == sorted(key) and all(k <= c for k, c in zip(key, cap, strict=True))
        ages = [c - k for c, k in zip(cap, key, strict=True)]
        assert [tl.picture_age_ms(f) for f in range(len(cap))] == ages
    assert plis > 0 and timers > 0 and waits > 0


def test_tables_growing_from_one_row_keep_the_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every table and list starts with one row (they double from the first steps on): the same
    episodes, inline link and Python link alike."""
    monkeypatch.setattr(timeline_compiled, "FRAME_ROWS", 1)
    monkeypatch.setattr(timeline_compiled, "LIST_ROWS", 1)
    monkeypatch.setattr(timeline_compiled, "PACKET_ROWS", 1)
    monkeypatch.setattr(timeline_compiled, "FEEDBACK_SLOTS", 1)  # a fresh pool every report

    def no_sample_rows(env: Any) -> None:
        env._timeline._samples = np.zeros((0, 3))

    tl = assert_equal_episodes(3, mid=no_sample_rows, preset="lte", queue_packets=3)
    assert tl._fr.shape[0] >= tl.n_frames > 64 and tl._q.shape[1] > 1
    assert tl._samples.shape[0] > 0
    assert_equal_episodes(3, preset="3g", loss_rate=0.05)
    assert_equal_episodes(3, preset="3g", loss_rate=0.05, receiver="webrtc")


def test_a_wrapped_link_mid_episode_goes_through_python() -> None:
    """A link replaced mid-episode (a test's wrapper) gets the batches from Python, the link's
    state handed over from the kernel: the episode goes on as the reference's."""

    class Wrapped:
        def __init__(self, link: Any) -> None:
            self.link = link

        def __getattr__(self, name: str) -> Any:
            return getattr(self.link, name)

        def send_list(self, send_ms: list[float], size_bytes: list[int]) -> list[float]:
            return self.link.send_list(send_ms, size_bytes)  # type: ignore[no-any-return]

    def wrap(env: Any) -> None:
        env._timeline.link = Wrapped(env._timeline.link)

    reference, compiled = _env("python", preset="lte"), _env("compiled", preset="lte")
    actions = _actions(reference, 4)
    _same(_steps(compiled, 4, actions, wrap), _steps(reference, 4, actions, wrap), "episode")


def test_the_comparison_sees_one_ulp() -> None:
    """The equality above can fail: the send times of the packet reports waiting in the kernel's
    state moved by one ulp mid-episode (as a corrupted kernel would leave them) are seen."""

    def nudge(env: Any) -> None:
        tl = env._timeline
        head, tail = tl._i[k.I_LIST + 2 * k.L_PK], tl._i[k.I_LIST + 2 * k.L_PK + 1]
        assert tail > head
        send = tl._q[k.L_PK, head:tail, k.PK_SEND]
        tl._q[k.L_PK, head:tail, k.PK_SEND] = np.nextafter(send, math.inf)

    with pytest.raises(AssertionError, match="send_ms"):
        assert_equal_episodes(0, mid=nudge, preset="lte")


def test_the_kernel_draws_what_numpy_draws() -> None:
    """The kernel's PCG64 (residual draws, independent loss) advances the generator's own state
    as numpy does: the same numbers and the same state after, with numpy's own draws between
    (32-bit ones that leave a buffered half, too), for small and large ranges."""
    from numba import njit

    @njit(cache=False)
    def draw(bits: np.ndarray, buf: np.ndarray, rng: int, n: int, out: np.ndarray) -> None:
        for j in range(n):
            out[j] = k.bounded_uint32(bits, buf, rng)

    @njit(cache=False)
    def uniform(bits: np.ndarray, n: int, out: np.ndarray) -> None:
        for j in range(n):
            out[j] = k.next_double(bits)

    for seed in range(20):
        ours, numpys = np.random.default_rng(seed), np.random.default_rng(seed)
        bits, buf = timeline_compiled._generator_views(ours)
        assert bits.size == 4 and buf.size == 4
        plan = np.random.default_rng(seed + 100)
        out, out_f = np.zeros(9, dtype=np.int64), np.zeros(9)
        for _ in range(50):
            n = int(plan.integers(0, 9))
            high = int(plan.choice([1, 2, 7, 100, 1000, 65_537, 2**31 + 11, 2**32 - 1, 2**32]))
            draw(bits, buf, high - 1, n, out)
            np.testing.assert_array_equal(out[:n], numpys.integers(0, high, size=n))
            uniform(bits, n, out_f)
            np.testing.assert_array_equal(out_f[:n], numpys.random(n))
            if plan.random() < 0.3:  # numpy's own 32-bit draws: a buffered half, maybe
                size = int(plan.integers(1, 4))
                np.testing.assert_array_equal(
                    ours.integers(0, 50, size=size, dtype=np.int32),
                    numpys.integers(0, 50, size=size, dtype=np.int32),
                )
        assert ours.bit_generator.state == numpys.bit_generator.state


def test_another_generator_draws_in_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """No view of the generator's state (not numpy's PCG64): Python draws the residuals, the loss
    goes through the Python link, and the episodes are the same."""
    mt = np.random.Generator(np.random.MT19937(0))
    assert timeline_compiled._generator_views(mt)[0].size == 0

    def no_views(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.uint32)

    monkeypatch.setattr(timeline_compiled, "_generator_views", no_views)
    tl = assert_equal_episodes(1, preset="wifi", loss_rate=0.05)
    assert tl._i[k.I_DRAW] == 0 and tl._kernel_link is None


def test_the_state_handed_over_mid_episode_keeps_the_numbers() -> None:
    """``__getstate__`` (the link's state written back, the generator's views left out) and
    ``__setstate__`` (the views made again from the generator) mid-episode: the same episode."""

    def hand_over(env: Any) -> None:
        tl = env._timeline
        state = tl.__getstate__()
        assert "_bits" not in state and tl.link.packets_sent > 0
        tl.__setstate__(state)

    tl = assert_equal_episodes(2, mid=hand_over, preset="wifi", loss_rate=0.05)
    assert tl._bits.size == 4 and tl._kernel_link is not None


def test_the_due_reports_are_taken_in_the_references_order() -> None:
    """``take_due`` (the feedback's reports, allocation-free): the known prefix of the main list,
    then the late rows known by then, sorted with them as a stable sort (``np.argsort``'s
    mergesort) does, ties included; the rest stay in their lists, in order."""
    rng = np.random.default_rng(3)
    for _ in range(200):
        n_main, n_late = int(rng.integers(0, 6)), int(rng.integers(0, 6))
        q = np.zeros((k.N_LISTS, 16, k.N_Q))
        i = np.zeros(k.N_I, dtype=np.int64)
        q[k.L_PK, 2 : 2 + n_main] = rng.integers(0, 4, (n_main, k.N_Q))
        q[k.L_PK, 2 : 2 + n_main, 0] = np.sort(rng.uniform(0.0, 10.0, n_main))
        q[k.L_PK_LATE, :n_late] = rng.integers(0, 4, (n_late, k.N_Q))
        q[k.L_PK_LATE, :n_late, 0] = rng.uniform(0.0, 10.0, n_late)
        i[k.I_LIST + 2 * k.L_PK : k.I_LIST + 2 * k.L_PK + 2] = 2, 2 + n_main
        i[k.I_LIST + 2 * k.L_PK_LATE + 1] = n_late
        main, late = q[k.L_PK, 2 : 2 + n_main].copy(), q[k.L_PK_LATE, :n_late].copy()
        t_ms = float(rng.uniform(0.0, 10.0))
        rows = np.zeros((16, k.N_Q))
        n = k.take_due(t_ms, i, q, k.L_PK, k.L_PK_LATE, k.PK_SEQ, rows)
        nd = int(np.searchsorted(main[:, 0], t_ms, side="right"))
        want = np.concatenate([main[:nd], late[late[:, 0] <= t_ms]])
        if len(want) > nd:
            want = want[np.argsort(want[:, k.PK_SEQ], kind="mergesort")]
        np.testing.assert_array_equal(rows[:n], want)
        head, tail = i[k.I_LIST + 2 * k.L_PK_LATE : k.I_LIST + 2 * k.L_PK_LATE + 2]
        np.testing.assert_array_equal(q[k.L_PK_LATE, head:tail], late[late[:, 0] > t_ms])
        assert i[k.I_LIST + 2 * k.L_PK] == 2 + nd


def test_the_capacity_kernel_counts_as_the_reference() -> None:
    """``capacity_kbps`` (the info's capacity, privileged) in one kernel call is the reference's
    count bit for bit: intervals across the trace's period and on whole-ms edges, of any width
    (the comparison sees one ulp)."""
    env = _env("compiled", preset="lte")
    env.reset(seed=5)
    tl = env._timeline
    assert type(tl) is CompiledTimeline and tl._cap_table is not None
    period = tl._cap_period_ms
    rng = np.random.default_rng(0)
    starts = [*rng.uniform(0.0, 3.0 * period, 300), *np.arange(0.0, 2.0 * period, 199.0)]
    starts += [period - tl.plan.start_ms, period - tl.plan.start_ms - 0.5]  # a period's edge
    for t0 in starts:
        for width in (200.0, 0.5, 1.0, 7_000.0, period):
            t0, t1 = float(t0), float(t0) + width
            got, want = tl.capacity_kbps(t0, t1), Timeline.capacity_kbps(tl, t0, t1)
            _same(got, want, f"capacity_kbps({t0}, {t1})")
    with pytest.raises(AssertionError, match="capacity"):
        _same(got, float(np.nextafter(want, math.inf)), "capacity")


def test_the_webrtc_transport_state_written_back_mid_episode_keeps_the_numbers() -> None:
    """The compiled ``webrtc`` transport holds the pacer's and the link's state between intervals:
    written back mid-episode (``sync_link``) the episode goes on as the reference's, and the pacer
    and link objects then hold the reference's state."""

    def sync(env: Any) -> None:
        env._timeline.sync_link()

    for kwargs in ({"preset": "lte"}, {"preset": "3g", "loss_rate": 0.05}):
        reference, compiled = (
            _env("python", receiver="webrtc", **kwargs),
            _env("compiled", receiver="webrtc", **kwargs),
        )
        actions = _actions(reference, 6)
        _same(_steps(compiled, 6, actions, sync), _steps(reference, 6, actions), "episode")
        compiled._timeline.sync_link()
        ours, theirs = compiled._timeline, reference._timeline
        for name in ("free_ms", "_before", "_lead"):
            _same(getattr(ours.pacer, name), getattr(theirs.pacer, name), f"pacer.{name}")
        for name in ("packets_sent", "packets_dropped", "_end_byte", "_last_send_ms"):
            assert getattr(ours.link, name) == getattr(theirs.link, name), name
        for buffer in ("_q_start", "_q_size"):  # the queue (the buffers' layout may differ)
            np.testing.assert_array_equal(
                getattr(ours.link, buffer)[ours.link._head : ours.link._tail],
                getattr(theirs.link, buffer)[theirs.link._head : theirs.link._tail],
            )
        assert ours.link.packets_sent > 0


def test_the_reports_built_without_their_init_are_the_constructors() -> None:
    """The feedback's packet and frame reports and the MLLM's sample stats, built without the
    frozen ``__init__`` (``_frozen``), are the constructor's objects: every field, the same
    values, frozen."""
    from artic_rl.envs.timeline import SampleStats
    from artic_rl.sender.feedback import FrameReports, PacketReports

    ints, floats = np.arange(6, dtype=np.int64), np.linspace(0.0, 1.0, 6)
    for cls, fields in (
        (PacketReports, {"seq": ints[:2], "send_ms": floats[:2], "arrival_ms": floats[2:4],
                         "size_bytes": ints[2:4]}),
        (FrameReports, {"frame_id": ints[4:], "capture_ms": floats[4:5],
                        "decodable_ms": floats[5:]}),
        (SampleStats, {"mean_accuracy": 0.25, "stale_share": 1.0 / 3.0}),
    ):  # fmt: skip
        ours, theirs = timeline_compiled._frozen(cls, **fields), cls(**fields)
        assert vars(ours).keys() == cls.__dataclass_fields__.keys() == vars(theirs).keys()
        _same(ours, theirs, cls.__name__)
        assert ours == theirs and type(ours) is cls
        with pytest.raises(AttributeError):
            ours.seq = ints  # type: ignore[misc]


def test_keyframes_and_the_requests_they_drop_are_the_references() -> None:
    """The kernel's keyframes (:func:`~artic_rl.envs._timeline_kernels.keyframes`, the list left
    as it was) and the requests they drop once room is checked (``drop_due_requests``) are the
    reference's ``Timeline._keyframes``: requests on a frame's capture instant, one ulp after it,
    about frames before and after the last keyframe, from the first frame on."""
    from types import SimpleNamespace

    rng = np.random.default_rng(0)
    period = 1000.0 / 30.0
    for case in range(300):
        n, first = int(rng.integers(1, 7)), int(rng.choice([0, 5, 40]))
        times = [(first + j) * period for j in range(n)]
        pli = []
        for _ in range(int(rng.integers(0, 6))):
            at = float(rng.choice([*times, times[-1] + period])) - float(rng.choice([0.0, 5.0]))
            at = float(np.nextafter(at, math.inf)) if rng.random() < 0.4 else at
            pli.append((at, int(rng.integers(0, first + n + 2))))
        pli.sort(key=lambda row: row[0])
        last_key = int(rng.integers(-1, first + 1))
        ref = SimpleNamespace(pli=list(pli), n_frames=first, last_key_idx=last_key,
                              last_key_ms=-1.0)  # fmt: skip
        key = Timeline._keyframes(ref, times)  # type: ignore[arg-type]
        f, i = np.zeros(k.N_F), np.zeros(k.N_I, dtype=np.int64)
        q, sc = np.zeros((k.N_LISTS, 8, k.N_Q)), np.zeros((k.N_SC, 8))
        i[k.I_N_FRAMES], i[k.I_LAST_KEY_IDX], f[k.F_LAST_KEY_MS] = first, last_key, -1.0
        i[k.I_LIST + 2 * k.L_PLI], i[k.I_LIST + 2 * k.L_PLI + 1] = 1, 1 + len(pli)
        for r, (at, lost) in enumerate(pli):
            q[k.L_PLI, 1 + r, :2] = at, lost
        sc[k.SC_TIME, :n] = times
        k.keyframes(n, f, i, q, sc)
        assert q[k.L_PLI, 1 : 1 + len(pli), 0].tolist() == [at for at, _ in pli]  # unchanged
        k.drop_due_requests(n, i, q, sc)
        head, tail = i[k.I_LIST + 2 * k.L_PLI], i[k.I_LIST + 2 * k.L_PLI + 1]
        assert (sc[k.SC_KEY, :n] != 0.0).tolist() == (key or [False] * n), case
        assert (i[k.I_LAST_KEY_IDX], f[k.F_LAST_KEY_MS]) == (ref.last_key_idx, ref.last_key_ms)
        kept = [(float(at), int(lost)) for at, lost in q[k.L_PLI, head:tail, :2]]
        assert kept == ref.pli, case
