"""Google Congestion Control as deployed in WebRTC (send side, transport-wide feedback).

Per feedback report: received packets, in arrival order, go through :class:`InterArrival` and
:class:`TrendlineEstimator`; the detector's final hypothesis and the acknowledged throughput drive
:class:`AimdRateControl` once; the report's loss fraction drives :class:`LossBasedControl`;
the target is the minimum of the two. One class serves the simulator (fed
``info["feedback"].packets``) and the runtime streamer (fed parsed RTCP feedback).

``backend="compiled"`` runs the whole of :meth:`GccController.on_feedback` (inter-arrival grouping,
trendline, AIMD, acknowledged throughput, loss-based control) as one compiled kernel call per
report (:func:`artic_rl.control._gcc_kernels.gcc_on_feedback`), with the reference's very numbers.
The parts' state then lives in the kernel's arrays; reading a part (``gcc.aimd``, ``gcc.trendline``
...) refreshes its attributes from them, so it shows the same values as the reference's.
"""

from __future__ import annotations

import math
from collections import deque
from operator import itemgetter, le
from types import ModuleType

import numpy as np

from artic_rl.backend import check_backend
from artic_rl.control import aimd as aimd_rules
from artic_rl.control import delay_based
from artic_rl.control.aimd import AimdRateControl, RateControlState
from artic_rl.control.delay_based import BandwidthUsage, InterArrival, TrendlineEstimator
from artic_rl.control.loss_based import LossBasedControl
from artic_rl.control.throughput import BITS_PER_BYTE, AckedThroughput
from artic_rl.sender.actions import MAX_RATE_KBPS, MIN_RATE_KBPS
from artic_rl.sender.feedback import PacketReports


class GccController:
    """Delay-based + loss-based GCC.

    Args:
        start_kbps: initial target (WebRTC: 300 kbps).
        min_kbps: lowest target.
        max_kbps: highest target.
        beta: AIMD decrease factor (0.85).
        trendline_window: groups in the trendline fit (20).
        group_ms: send-burst grouping (5 ms).
        throughput_window_ms: acknowledged-bitrate window (500 ms).
        backend: ``"python"`` (the reference) or ``"compiled"`` (the delay-based detector as
            compiled kernels: the same numbers, faster).
    """

    def __init__(
        self,
        start_kbps: float = 300.0,
        min_kbps: float = 100.0,
        max_kbps: float = 4000.0,
        beta: float = 0.85,
        trendline_window: int = 20,
        group_ms: float = 5.0,
        throughput_window_ms: float = 500.0,
        backend: str = "python",
    ) -> None:
        self.backend = check_backend(backend)
        self._inter_arrival = InterArrival(group_ms, backend=backend)
        self._trendline = TrendlineEstimator(window=trendline_window, backend=backend)
        self._aimd = AimdRateControl(start_kbps, min_kbps, max_kbps, beta)
        self._loss = LossBasedControl(start_kbps, min_kbps, max_kbps)
        self._acked = AckedThroughput(throughput_window_ms)
        self._min_owd_ms = math.inf
        self.target_kbps = start_kbps
        self._compiled = _CompiledGcc(self) if self.backend == "compiled" else None

    def reset(self) -> None:
        for part in (self._inter_arrival, self._trendline, self._aimd, self._loss, self._acked):
            part.reset()
        self._min_owd_ms = math.inf
        self.target_kbps = self._aimd.start_kbps
        if self._compiled is not None:
            self._compiled.load(self)

    # the parts; the compiled backend refreshes them from its arrays when one is read
    @property
    def inter_arrival(self) -> InterArrival:
        return self._inter_arrival

    @property
    def trendline(self) -> TrendlineEstimator:
        if self._compiled is not None:
            self._compiled.mirror(self)
        return self._trendline

    @property
    def aimd(self) -> AimdRateControl:
        if self._compiled is not None:
            self._compiled.mirror(self)
        return self._aimd

    @property
    def loss(self) -> LossBasedControl:
        if self._compiled is not None:
            self._compiled.mirror(self)
        return self._loss

    @property
    def acked(self) -> AckedThroughput:
        if self._compiled is not None:
            self._compiled.mirror(self)
        return self._acked

    @property
    def min_owd_ms(self) -> float:
        """The lowest one-way delay of any received packet (the return path's base delay)."""
        if self._compiled is not None:
            self._compiled.mirror(self)
        return self._min_owd_ms

    @property
    def usage(self) -> BandwidthUsage:
        return self.trendline.state

    def on_feedback(self, packets: PacketReports, now_ms: float) -> float:
        """Absorb one transport feedback report at ``now_ms``; returns the target rate (kbps)."""
        if self._compiled is not None:
            self.target_kbps = self._compiled.on_feedback(packets, now_ms)
            return self.target_kbps
        n = len(packets)
        if n == 0:
            return self.target_kbps
        delivered = packets.delivered
        arrival = delivered.arrival_ms
        received = list(zip(arrival, delivered.send_ms, strict=True))
        if not all(map(le, arrival, arrival[1:])):  # usually in arrival order already
            received.sort(key=itemgetter(0))  # arrival order; stable: ties stay in sequence order
        update = self._trendline.update
        for delta in self._inter_arrival.packets(received):
            update(delta)
        rtt_ms = self._rtt_ms(received, delivered.owd_ms)
        self._aimd.rtt_ms = rtt_ms
        throughput = self._acked.update(packets, now_ms)
        delay_kbps = self._aimd.update(self._trendline.state, throughput, now_ms)
        self._loss.update(n - len(received), n, now_ms, rtt_ms)
        self.target_kbps = self._loss.cap(delay_kbps, now_ms)
        return self.target_kbps

    def _rtt_ms(self, received: list[tuple[float, float]], owd_ms: list[float]) -> float:
        """Round trip of the latest packet: its one-way delay plus the return path's base delay.

        ``received``: (arrival_ms, send_ms) of the report's received packets, in arrival order;
        ``owd_ms``: their one-way delays (in any order).
        """
        if not received:
            return self._aimd.rtt_ms
        self._min_owd_ms = min(self._min_owd_ms, min(owd_ms))
        arrival_ms, send_ms = received[-1]
        return arrival_ms - send_ms + self._min_owd_ms


class _CompiledGcc:
    """A :class:`GccController`'s state as the arrays of
    :func:`~artic_rl.control._gcc_kernels.gcc_on_feedback` (see that module for the layout),
    beside the inter-arrival and trendline parts' own arrays.

    :meth:`load` copies the parts' state in (after a reset), :meth:`mirror` copies it back out
    (when a part is read), so that the parts show the reference's values.
    """

    HISTORY_ROWS = 64  # first sizes of the rings; they double when a report needs more room
    ACKED_ROWS = 256

    def __init__(self, gcc: GccController) -> None:
        self.k = _compiled_kernels()
        self.history = np.zeros((self.HISTORY_ROWS, 2), dtype=np.float64)
        self.acked_ms = np.zeros(self.ACKED_ROWS, dtype=np.float64)
        self.acked_bytes = np.zeros(self.ACKED_ROWS, dtype=np.int64)
        self.order = np.zeros(self.ACKED_ROWS, dtype=np.int64)  # scratch: the arrival order
        self.load(gcc)

    def load(self, gcc: GccController) -> None:
        """Take the parts' current state (and constants) into the arrays."""
        k = self.k
        ia, tl = gcc._inter_arrival, gcc._trendline
        aimd, link, loss, acked = gcc._aimd, gcc._aimd.link, gcc._loss, gcc._acked
        self.gcc_params = k.gcc_params(
            ia.group_ms,
            delay_based.BURST_MS,
            delay_based.MAX_BURST_MS,
            delay_based.REORDER_RESET,
            (aimd.start_kbps, aimd.min_kbps, aimd.max_kbps, aimd.beta, aimd.increase_per_s),
            (link.ALPHA, link.DEVIATION_MIN, link.DEVIATION_MAX),
            (
                aimd_rules.FRAME_INTERVAL_S,
                aimd_rules.PACKET_BITS,
                aimd_rules.MIN_ADDITIVE_KBPS_PER_S,
                aimd_rules.BITS_PER_KBIT,
                aimd_rules.MS_PER_S,
            ),
            (
                loss.min_kbps,
                loss.max_kbps,
                loss.low_loss,
                loss.high_loss,
                loss.increase,
                loss.min_packets,
                loss.decrease_interval_ms,
                loss.history_ms,
            ),
            (acked.window_ms, BITS_PER_BYTE),
        )
        self.inter_arrival = (ia._groups, ia._counters)
        self.trendline = (tl._values, tl._counts, tl._ring_x, tl._ring_y, tl._params)
        state = self.state = np.zeros(k.N_STATE, dtype=np.float64)
        flags = self.flags = np.zeros(k.N_FLAGS, dtype=np.int64)
        state[k.MIN_OWD_MS] = gcc._min_owd_ms
        state[k.TARGET_KBPS] = gcc.target_kbps
        state[k.AIMD_RATE_KBPS] = aimd.rate_kbps
        state[k.RTT_MS] = aimd.rtt_ms
        state[k.THROUGHPUT_KBPS] = aimd._throughput_kbps
        flags[k.AIMD_STATE] = _AIMD_CODES[aimd.state]
        flags[k.HAS_LAST_CHANGE] = aimd._last_change_ms is not None
        state[k.LAST_CHANGE_MS] = aimd._last_change_ms or 0.0
        flags[k.HAS_LINK_ESTIMATE] = link.estimate_kbps is not None
        state[k.LINK_ESTIMATE_KBPS] = link.estimate_kbps or 0.0
        state[k.LINK_DEVIATION] = link.deviation
        state[k.LOSS_RATE_KBPS] = loss.rate_kbps
        state[k.LAST_LOSS] = loss.last_loss
        state[k.LAST_DECREASE_MS] = loss._last_decrease_ms
        flags[k.LOSS_LOST] = loss._lost
        flags[k.LOSS_EXPECTED] = loss._expected
        self.history = _ring_of(list(loss._history), self.history, len(self.history))
        flags[k.HISTORY_START], flags[k.HISTORY_LEN] = 0, len(loss._history)
        rows = list(acked._arrivals)
        self.acked_ms = _ring_of([t for t, _ in rows], self.acked_ms, len(self.acked_ms))
        self.acked_bytes = _ring_of([b for _, b in rows], self.acked_bytes, len(self.acked_ms))
        flags[k.ACKED_START], flags[k.ACKED_LEN] = 0, len(rows)
        flags[k.ACKED_BYTES] = acked._bytes
        flags[k.HAS_ACKED_FIRST] = acked._first_ms is not None
        state[k.ACKED_FIRST_MS] = acked._first_ms or 0.0
        self.stale = False  # the parts show the arrays' state

    def on_feedback(self, packets: PacketReports, now_ms: float) -> float:
        """:func:`~artic_rl.control._gcc_kernels.gcc_on_feedback` on the report's arrays."""
        self.stale = True
        target = self.k.gcc_on_feedback(
            *self.inter_arrival,
            *self.trendline,
            self.state,
            self.flags,
            self.gcc_params,
            self.history,
            self.acked_ms,
            self.acked_bytes,
            self.order,
            packets.send_ms,
            packets.arrival_ms,
            packets.size_bytes,
            now_ms,
        )
        if target != target:  # NaN: a ring lacks room for this report (nothing was changed)
            self._grow(len(packets))
            return self.on_feedback(packets, now_ms)
        return target

    def _grow(self, n: int) -> None:
        """Double the rings (at least enough for ``n`` more packets), oldest row first, and the
        arrival-order scratch."""
        k, flags = self.k, self.flags
        self.order = np.zeros(2 * len(self.order) + n, dtype=np.int64)
        rows = _ring_rows(self.history, flags[k.HISTORY_START], flags[k.HISTORY_LEN])
        self.history = _ring_of(rows, self.history, 2 * len(self.history))
        start, length = flags[k.ACKED_START], flags[k.ACKED_LEN]
        size = 2 * len(self.acked_ms) + n
        self.acked_ms = _ring_of(_ring_rows(self.acked_ms, start, length), self.acked_ms, size)
        self.acked_bytes = _ring_of(
            _ring_rows(self.acked_bytes, start, length), self.acked_bytes, size
        )
        flags[k.HISTORY_START] = flags[k.ACKED_START] = 0

    def mirror(self, gcc: GccController) -> None:
        """Write the arrays' state into the parts' attributes (once per report, when read)."""
        if not self.stale:
            return
        self.stale = False
        k, state, flags = self.k, self.state.tolist(), self.flags.tolist()
        gcc._trendline.refresh()
        aimd, link, loss, acked = gcc._aimd, gcc._aimd.link, gcc._loss, gcc._acked
        gcc._min_owd_ms = state[k.MIN_OWD_MS]
        aimd.rate_kbps = state[k.AIMD_RATE_KBPS]
        aimd.rtt_ms = state[k.RTT_MS]
        aimd._throughput_kbps = state[k.THROUGHPUT_KBPS]
        aimd.state = _AIMD_STATES[flags[k.AIMD_STATE]]
        aimd._last_change_ms = state[k.LAST_CHANGE_MS] if flags[k.HAS_LAST_CHANGE] else None
        link.estimate_kbps = state[k.LINK_ESTIMATE_KBPS] if flags[k.HAS_LINK_ESTIMATE] else None
        link.deviation = state[k.LINK_DEVIATION]
        loss.rate_kbps = state[k.LOSS_RATE_KBPS]
        loss.last_loss = state[k.LAST_LOSS]
        loss._last_decrease_ms = state[k.LAST_DECREASE_MS]
        loss._lost, loss._expected = flags[k.LOSS_LOST], flags[k.LOSS_EXPECTED]
        rows = _ring_rows(self.history, flags[k.HISTORY_START], flags[k.HISTORY_LEN])
        loss._history = deque(map(tuple, rows.tolist()))
        start, length = flags[k.ACKED_START], flags[k.ACKED_LEN]
        times = _ring_rows(self.acked_ms, start, length).tolist()
        sizes = _ring_rows(self.acked_bytes, start, length).tolist()
        acked._arrivals = deque(zip(times, sizes, strict=True))
        acked._bytes = flags[k.ACKED_BYTES]
        acked._first_ms = state[k.ACKED_FIRST_MS] if flags[k.HAS_ACKED_FIRST] else None


_AIMD_STATES = (RateControlState.HOLD, RateControlState.INCREASE, RateControlState.DECREASE)
_AIMD_CODES = {state: code for code, state in enumerate(_AIMD_STATES)}


def _compiled_kernels() -> ModuleType:
    """GCC's kernels (imported on demand: numba is an optional dependency)."""
    from artic_rl.control import _gcc_kernels

    return _gcc_kernels


def _ring_of(rows: object, like: np.ndarray, size: int) -> np.ndarray:
    """A ring of ``like``'s dtype and row shape, ``rows`` first (oldest at 0): ``size`` rows, or
    twice as many as ``rows`` when that is more."""
    first = np.asarray(rows, dtype=like.dtype).reshape(-1, *like.shape[1:])
    out = np.zeros((max(size, 2 * len(first)), *like.shape[1:]), dtype=like.dtype)
    out[: len(first)] = first
    return out


def _ring_rows(ring: np.ndarray, start: int, length: int) -> np.ndarray:
    """A ring's rows, oldest first."""
    return np.roll(ring, -start, axis=0)[:length]


def observation_estimator(
    backend: str = "python", max_kbps: float = MAX_RATE_KBPS
) -> GccController:
    """The GCC run for the observation's rate-estimate feature: WebRTC's 300 kbps start over the
    action's bitrate range, up to the environment's rate ceiling ``max_kbps``
    (``ObservationBuilder(interval_ms, observation_estimator())``)."""
    return GccController(
        start_kbps=300.0, min_kbps=MIN_RATE_KBPS, max_kbps=max_kbps, backend=backend
    )
