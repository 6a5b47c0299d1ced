"""The compiled delay-based detector equals the reference bit for bit (``backend="compiled"``).

Random packet streams (hypothesis) and long closed-loop GCC runs go through both backends; every
emitted delta, hypothesis, public attribute and target rate must be the same float, compared with
``==`` (arrays with ``np.array_equal``, NaN equal to NaN), never approximately.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from artic_rl.backend import BACKEND_ENV, check_backend, default_backend, resolve_backend
from artic_rl.control.delay_based import GroupDelta, InterArrival, TrendlineEstimator
from artic_rl.control.gcc import GccController, _CompiledGcc
from artic_rl.sender.feedback import PacketReports

pytest.importorskip("numba")
sys.path.insert(0, str(Path(__file__).parent))
from scripted import ScriptedLink  # noqa: E402

TRENDLINE_ATTRS = ("num_deltas", "accumulated_ms", "smoothed_ms", "trend", "modified_trend")
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module", autouse=True)
def compiled_once() -> None:
    """Compile (or load from numba's cache) before the first test, so no test pays for it."""
    GccController(backend="compiled").on_feedback(
        PacketReports(
            seq=np.arange(3, dtype=np.int64),
            send_ms=np.array([0.0, 10.0, 20.0]),
            arrival_ms=np.array([20.0, 31.0, 40.0]),
            size_bytes=np.full(3, 1200, dtype=np.int64),
        ),
        50.0,
    )


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))


def trendline_state(tl: TrendlineEstimator) -> tuple[object, ...]:
    return (*(getattr(tl, name) for name in TRENDLINE_ATTRS), tl.threshold, tl.state)


# A packet stream: send times with bursts (repeats, sub-5 ms and longer gaps, exact 5 ms edges),
# arrivals after a base delay plus a queue that grows and drains, and some packets swapped out of
# order; reports cut at random. hypothesis picks the sizes and mixes, numpy draws the numbers.
GAPS_MS = np.array([0.0, 0.5, 4.999, 5.0, 5.001, 33.333])


@st.composite
def packet_streams(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, list[int]]:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(1, 400))
    kind = rng.integers(0, 3, n)  # a listed gap, a short one or a long one
    gaps = np.select(
        [kind == 0, kind == 1],
        [rng.choice(GAPS_MS, n), rng.uniform(0.0, 5.0, n)],
        rng.uniform(5.0, 40.0, n),
    )
    sends = np.cumsum(gaps)
    spread = draw(st.sampled_from([0.0, 0.5, 3.0, 20.0]))  # how fast the queue moves
    arrivals = sends + 20.0 + np.maximum(np.cumsum(rng.uniform(-spread, spread, n)), 0.0)
    if draw(st.booleans()):
        arrivals = np.floor(arrivals)  # whole milliseconds: ties
    swaps = int(draw(st.floats(0.0, 0.3)) * n) if n > 1 else 0
    for i in rng.integers(0, n - 1, swaps):  # reordering
        arrivals[[i, i + 1]] = arrivals[[i + 1, i]]
    cuts = sorted(rng.integers(0, n + 1, draw(st.integers(0, 12))).tolist())
    return arrivals, sends, cuts


@given(packet_streams())
@SETTINGS
def test_inter_arrival_and_trendline_equal_the_reference(
    stream: tuple[np.ndarray, np.ndarray, list[int]],
) -> None:
    arrivals, sends, cuts = stream
    ref_ia, fast_ia = InterArrival(), InterArrival(backend="compiled")
    ref_tl = TrendlineEstimator(window=5)
    fast_tl = TrendlineEstimator(window=5, backend="compiled")
    for lo, hi in zip([0, *cuts], [*cuts, len(sends)], strict=True):  # reports of random sizes
        ref = ref_ia.group_deltas(arrivals[lo:hi].tolist(), sends[lo:hi].tolist())
        fast = fast_ia.group_deltas(arrivals[lo:hi], sends[lo:hi])
        assert same(ref, fast)
        assert ref_tl.update_all(ref) is fast_tl.update_all(fast)
        assert trendline_state(ref_tl) == trendline_state(fast_tl)


@given(packet_streams())
@SETTINGS
def test_one_packet_and_one_delta_at_a_time_equal_the_reference(
    stream: tuple[np.ndarray, np.ndarray, list[int]],
) -> None:
    arrivals, sends, _ = stream
    ref_ia, fast_ia = InterArrival(), InterArrival(backend="compiled")
    ref_tl = TrendlineEstimator(window=3, smoothing=0.5)
    fast_tl = TrendlineEstimator(window=3, smoothing=0.5, backend="compiled")
    for a, s in zip(arrivals.tolist(), sends.tolist(), strict=True):
        delta = ref_ia.packet(s, a)
        assert fast_ia.packet(s, a) == delta
        if delta is not None:
            assert ref_tl.update(delta) is fast_tl.update(delta)
            assert trendline_state(ref_tl) == trendline_state(fast_tl)


@given(
    st.lists(
        st.tuples(
            st.floats(0.0, 40.0),
            st.floats(-50.0, 50.0),
            st.floats(0.0, 40.0),
        ),
        min_size=1,
        max_size=400,
    ),
    st.integers(1, 25),
)
@SETTINGS
def test_trendline_on_arbitrary_deltas_equals_the_reference(
    rows: list[tuple[float, float, float]], window: int
) -> None:
    # send delta, arrival delta (+ send delta: any delay variation), arrival gap
    deltas = [GroupDelta(s, s + v, 0.0) for s, v, _ in rows]
    arrival = np.cumsum([g for _, _, g in rows])
    deltas = [d._replace(arrival_ms=float(t)) for d, t in zip(deltas, arrival, strict=True)]
    ref = TrendlineEstimator(window=window)
    fast = TrendlineEstimator(window=window, backend="compiled")
    states = [ref.update(d) for d in deltas]
    assert fast.update_all(np.array(deltas)) is states[-1]
    assert trendline_state(ref) == trendline_state(fast)


@pytest.mark.parametrize("start_kbps", [300.0, 1200.0, 3000.0])
def test_gcc_closed_loop_equals_the_reference(start_kbps: float) -> None:
    # 3,000 reports (10 minutes of 200 ms intervals) over a capacity that steps every 10 s: both
    # controllers pick their own rates, so any difference would change everything after it
    rng = np.random.default_rng(int(start_kbps))
    capacities = np.repeat(rng.uniform(300.0, 4000.0, 60), 50)
    runs = []
    for backend in ("python", "compiled"):
        gcc, link = GccController(start_kbps=start_kbps, backend=backend), ScriptedLink()
        rate, trace = gcc.target_kbps, []
        for k, cap in enumerate(capacities.tolist()):
            rate = gcc.on_feedback(link.interval(k * 200.0, 200.0, rate, cap), (k + 1) * 200.0)
            trace.append((rate, gcc.usage, *trendline_state(gcc.trendline)))
        runs.append(trace)
    assert runs[0] == runs[1]
    assert len({t[1] for t in runs[0]}) == 3  # normal, overusing and underusing all occurred


def test_gcc_on_reordered_and_lossy_reports_equals_the_reference() -> None:
    # reports out of arrival order (sorted by GCC), with lost packets (NaN), and resets
    rng = np.random.default_rng(7)
    ref, fast = GccController(), GccController(backend="compiled")
    send0 = 0.0
    for k in range(1500):
        n = int(rng.integers(0, 60))
        send = send0 + np.sort(rng.uniform(0.0, 200.0, n))
        send0 += 200.0
        arrival = send + 30.0 + rng.exponential(20.0, n)
        arrival[rng.random(n) < 0.05] = np.nan
        report = PacketReports(np.arange(n, dtype=np.int64), send, arrival, np.full(n, 900))
        now = send0 + 100.0
        assert ref.on_feedback(report, now) == fast.on_feedback(report, now)
        assert trendline_state(ref.trendline) == trendline_state(fast.trendline)
        if k % 500 == 499:
            ref.reset()
            fast.reset()


def gcc_state(gcc: GccController) -> tuple[object, ...]:
    """Everything a GCC keeps, its parts' private state included (the compiled backend refreshes
    the parts from its arrays when they are read)."""
    aimd, loss, acked = gcc.aimd, gcc.loss, gcc.acked
    return (
        gcc.target_kbps,
        gcc.min_owd_ms,
        *trendline_state(gcc.trendline),
        aimd.rate_kbps,
        aimd.state,
        aimd.rtt_ms,
        aimd.link.estimate_kbps,
        aimd.link.deviation,
        aimd._last_change_ms,
        aimd._throughput_kbps,
        loss.rate_kbps,
        loss.last_loss,
        loss._lost,
        loss._expected,
        loss._last_decrease_ms,
        list(loss._history),
        list(acked._arrivals),
        acked._bytes,
        acked._first_ms,
    )


def random_report(rng: np.random.Generator, send0: float, span_ms: float) -> PacketReports:
    """A report of 0-80 packets (a few hundred now and then) sent over ``span_ms``: some lost,
    some reordered, arrival ties, now and then every packet lost."""
    n = int(rng.integers(0, 80)) if rng.random() > 0.03 else int(rng.integers(300, 700))
    send = send0 + np.sort(rng.uniform(0.0, span_ms, n))
    arrival = np.floor(send + 30.0 + rng.exponential(rng.choice([1.0, 20.0]), n))
    arrival[rng.random(n) < rng.choice([0.0, 0.05, 0.3])] = np.nan
    if rng.random() < 0.03:
        arrival[:] = np.nan  # an outage: every packet of the report lost
    for i in rng.integers(0, max(n - 1, 1), n // 10 if n > 1 else 0):
        arrival[[i, i + 1]] = arrival[[i + 1, i]]  # reordered
    size = rng.integers(100, 1201, n)
    return PacketReports(np.arange(n, dtype=np.int64), send, arrival, size)


@pytest.mark.parametrize("rows", [None, (1, 2)])
def test_gcc_compiled_keeps_every_part_of_the_reference_state(
    rows: tuple[int, int] | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the whole of on_feedback as one kernel: every part's state (private fields included) must be
    # the reference's after every report: empty, all-lost, reordered and large reports, resets;
    # rings that start tiny must grow (and keep their rows in order) as often as needed
    if rows is not None:
        monkeypatch.setattr(_CompiledGcc, "HISTORY_ROWS", rows[0])
        monkeypatch.setattr(_CompiledGcc, "ACKED_ROWS", rows[1])
    rng = np.random.default_rng(11)
    ref, fast = GccController(), GccController(backend="compiled")
    assert gcc_state(ref) == gcc_state(fast)
    send0 = 0.0
    for k in range(3000):
        span = 200.0 if k % 300 < 200 else 10.0  # reports every 10 ms: a long loss history
        report = random_report(rng, send0, span)
        send0 += span
        now = send0 + float(rng.uniform(0.0, 150.0))
        assert ref.on_feedback(report, now) == fast.on_feedback(report, now)
        assert gcc_state(ref) == gcc_state(fast)
        if k % 1000 == 999:
            ref.reset()
            fast.reset()
            assert gcc_state(ref) == gcc_state(fast)
    rings = fast._compiled
    assert rings is not None
    assert len(rings.acked_ms) > 256  # a report of hundreds of packets made room for itself
    if rows is not None:
        assert len(rings.history) > rows[0]


def test_the_backend_switch() -> None:
    assert check_backend("python") == "python"
    assert check_backend("compiled") == "compiled"
    with pytest.raises(ValueError, match="backend must be one of"):
        InterArrival(backend="fast")
    assert GccController(backend="compiled").trendline.backend == "compiled"


def test_default_backend_reads_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    default_backend.cache_clear()
    monkeypatch.setenv(BACKEND_ENV, "compiled")
    try:
        assert default_backend() == "compiled"
        assert resolve_backend(None) == "compiled"
        monkeypatch.setenv(BACKEND_ENV, "python")
        assert default_backend() == "compiled"  # read once per process
        assert resolve_backend("python") == "python"
        monkeypatch.setenv(BACKEND_ENV, "fast")
        default_backend.cache_clear()
        with pytest.raises(ValueError, match="backend must be one of"):
            default_backend()
    finally:
        default_backend.cache_clear()
