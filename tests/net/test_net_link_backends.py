"""The compiled link (``Link(backend="compiled")``) equals the reference bit for bit.

Random traces, queue limits, losses and batch schedules (hypothesis) and long sends over the
shipped traces go through both backends; every departure, arrival (NaN equal to NaN), drop and
loss mask, counter and queue reading must be the same, compared exactly. Batches up to 300
packets cover all three reference paths (plain, plain with numpy look-ups, vectorised).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from artic_rl.net import MTU_BYTES, FeedbackPath, GilbertElliottLoss, Link, Trace, load_trace_dir
from artic_rl.net.loss import LossModel
from artic_rl.net.trace import TABLE_MAX_MS

pytest.importorskip("numba")
TRACES = Path(__file__).resolve().parents[2] / "traces"
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module", autouse=True)
def compiled_once() -> None:
    """Compile (or load from numba's cache) before the first test, so no test pays for it."""
    Link(Trace("warm", np.array([1]), 1), queue_packets=3, backend="compiled").send_list([0.0], [1])


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=True))


def readings(link: Link, now_ms: float) -> tuple[object, ...]:
    return (
        link.packets_sent,
        link.packets_dropped,
        link.packets_lost,
        link.queue_packets_at(now_ms),
        link.queue_bytes_at(now_ms),
        link.drain_ms,
    )


@st.composite
def traces(draw: st.DrawFn) -> Trace:
    opps = np.sort(draw(st.lists(st.integers(0, 80), min_size=1, max_size=60)))
    period = int(opps[-1]) + draw(st.integers(1 if opps[-1] == 0 else 0, 6))
    if draw(st.booleans()) and draw(st.booleans()):
        period = TABLE_MAX_MS + draw(st.integers(1, 1000))  # no look-up table: binary search
    return Trace("rand", opps, period)


@st.composite
def schedules(draw: st.DrawFn) -> list[tuple[np.ndarray, np.ndarray]]:
    """Batches of (send_ms, size_bytes): frames of 1..300 packets, sent over 0..40 ms."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    t, out = float(draw(st.sampled_from([0.0, 0.5, 17.0]))), []
    for _ in range(draw(st.integers(1, 40))):
        n = int(rng.choice([1, 2, 5, 16, 24, 25, 40, 257, 300]))
        offsets = np.sort(rng.uniform(0.0, rng.choice([0.0, 1.0, 40.0]), n))
        whole_ms = rng.random() < 0.3  # ties and opportunity boundaries
        sends = np.ceil(t) + np.floor(offsets) if whole_ms else t + offsets
        t = float(sends[-1]) + float(rng.choice([0.0, rng.exponential(20.0)]))
        sizes = rng.choice([1, 80, 1200, 1503, MTU_BYTES], n) if rng.random() < 0.5 else None
        out.append((sends, rng.integers(1, MTU_BYTES + 1, n) if sizes is None else sizes))
    return out


def make_loss(kind: str) -> float | LossModel | None:
    if kind == "bernoulli":
        return 0.1
    if kind == "gilbert":
        return GilbertElliottLoss(p_good_to_bad=0.05, p_bad_to_good=0.3)
    return None


@given(
    traces(),
    schedules(),
    st.sampled_from([None, 1, 3, 30]),
    st.sampled_from([None, 3000, 40_000]),
    st.sampled_from(["none", "bernoulli", "gilbert"]),
    st.sampled_from(["send", "send_list", "transmit"]),
    st.floats(0.0, 5000.0),
    st.sampled_from([0.0, 20.0, 37.5]),
)
@SETTINGS
def test_compiled_link_equals_the_reference(
    trace: Trace,
    schedule: list[tuple[np.ndarray, np.ndarray]],
    queue_packets: int | None,
    queue_bytes: int | None,
    loss: str,
    method: str,
    start_ms: float,
    delay_ms: float,
) -> None:
    links = [
        Link(
            trace,
            delay_ms=delay_ms,
            queue_packets=queue_packets,
            queue_bytes=queue_bytes,
            loss=make_loss(loss),
            start_ms=start_ms,
            np_random=np.random.default_rng(1),
            backend=backend,
        )
        for backend in ("python", "compiled")
    ]
    for sends, sizes in schedule:
        if method == "send_list":
            ref, fast = (link.send_list(sends.tolist(), sizes.tolist()) for link in links)
            assert same(np.array(ref), np.array(fast))
        elif method == "send":
            assert same(*(link.send(sends, sizes) for link in links))
        else:
            ref, fast = (link.transmit(sends, sizes) for link in links)
            for field in ("departure_ms", "arrival_ms", "dropped", "lost"):
                assert same(getattr(ref, field), getattr(fast, field))
        now = float(sends[-1])
        assert readings(links[0], now) == readings(links[1], now)


@pytest.mark.parametrize("preset", ["lte", "3g", "5g", "wifi"])
def test_compiled_link_equals_the_reference_over_a_shipped_trace(preset: str) -> None:
    # 5 minutes of 30 fps frames at a rate that wanders above and below capacity (drops),
    # paced over 10 ms, through a 30-packet queue as in the env, on the preset's first test trace
    trace = load_trace_dir(TRACES / preset / "test")[0]
    rng = np.random.default_rng(3)
    links = [
        Link(trace, delay_ms=20.0, queue_packets=30, loss=0.01, start_ms=1234.0,
             np_random=np.random.default_rng(5), backend=backend)
        for backend in ("python", "compiled")
    ]  # fmt: skip
    rate_kbps = 1000.0
    for frame in range(9_000):
        rate_kbps = float(np.clip(rate_kbps * np.exp(rng.normal(0.0, 0.05)), 100.0, 30_000.0))
        n_bytes = int(rate_kbps * 1000.0 / 8.0 / 30.0)
        sizes = [MTU_BYTES] * (n_bytes // MTU_BYTES) + [n_bytes % MTU_BYTES or 1]
        sends = (frame * 100.0 / 3.0 + np.linspace(0.0, 10.0, len(sizes))).tolist()
        ref, fast = (link.send_list(sends, sizes) for link in links)
        assert same(np.array(ref), np.array(fast))
    assert readings(links[0], sends[-1]) == readings(links[1], sends[-1])
    assert links[0].packets_dropped > 0 and links[0].packets_lost > 0


def test_segment_loss_and_rtt_equal_the_reference() -> None:
    # a JSON-style trace: per-segment loss and RTT are applied after the compiled queue
    trace = Trace(
        "segments",
        np.arange(1, 201, 2),
        200,
        segment_end_ms=np.array([50.0, 120.0, 200.0]),
        segment_loss=np.array([0.0, 0.2, 0.05]),
        segment_rtt_ms=np.array([40.0, 80.0, 60.0]),
    )
    rng = np.random.default_rng(0)
    links = [
        Link(trace, delay_ms=5.0, queue_packets=20, np_random=np.random.default_rng(2),
             trace_rtt=True, backend=backend)
        for backend in ("python", "compiled")
    ]  # fmt: skip
    t = 0.0
    for _ in range(400):
        n = int(rng.integers(1, 30))
        sends = t + np.sort(rng.uniform(0.0, 15.0, n))
        t = float(sends[-1])
        sizes = rng.integers(1, MTU_BYTES + 1, n)
        ref, fast = (link.transmit(sends, sizes) for link in links)
        for field in ("departure_ms", "arrival_ms", "dropped", "lost"):
            assert same(getattr(ref, field), getattr(fast, field))
    assert readings(links[0], t) == readings(links[1], t)


def test_compiled_link_rejects_what_the_reference_rejects() -> None:
    link = Link(Trace("one", np.array([1]), 1), backend="compiled")
    with pytest.raises(ValueError, match="non-decreasing"):
        link.send(np.array([5.0, 4.0]), np.array([1, 1]))
    link.send(np.array([5.0]), np.array([1]))
    with pytest.raises(ValueError, match="non-decreasing"):
        link.send_list([4.0], [1])
    with pytest.raises(ValueError, match="size_bytes"):
        link.send(np.array([6.0]), np.array([1505]))
    with pytest.raises(ValueError, match="size_bytes"):
        link.transmit(np.array([6.0]), np.array([0]))
    assert link.send(np.array([]), np.array([], dtype=np.int64)).size == 0
    assert link.packets_sent == 1


def test_feedback_path_passes_the_backend_on() -> None:
    trace = Trace("ten", np.array([10]), 10)
    driven = FeedbackPath(delay_ms=40, trace=trace, backend="compiled")
    assert driven.link is not None and driven.link.backend == "compiled"
    assert driven.send(np.array([0.0, 5.0]), np.array([80, 80])).tolist() == [50, 50]
