"""Trace-driven bottleneck link with Mahimahi mm-link's semantics, clock-injected and batched.

mm-link, restated on a global byte axis: opportunity ``k`` (the k-th timestamp of the repeating
trace) carries bytes ``[k*1504, (k+1)*1504)``. A packet sent at ``t`` may use only opportunities
strictly after ``t`` (mm-link burns every opportunity ``<= now`` before it enqueues), so its
earliest byte is ``A = 1504 * k_a(t)`` with ``k_a(t)`` the first opportunity later than ``t``. FIFO
service then makes each packet start at ``S_i = max(E_{i-1}, A_i)`` and end at ``E_i = S_i +
size_i``: bytes shared with the previous packet in one opportunity, a spill-over into the next
one, and an idle opportunity's bytes lost all follow from that one recursion (Lindley's). The
packet leaves the bottleneck at the timestamp of opportunity ``(E_i - 1) // 1504``.

The recursion has the closed form ``E_i = C_i + max(E_0, max_{j<=i}(A_j - C_{j-1}))`` with ``C``
the running byte sum, so a batch without drops is a handful of numpy calls. The drop-tail queue
(counted without the packet in transit, like mm-link's droptail) holds the packets whose first
byte has not been served: those with ``S_j >= A_i``. When a batch would overflow it, the batch
continues from the first overflowing packet in a plain loop.

Because FIFO departures never depend on later packets, every packet's departure and arrival are
known at enqueue time: the same object schedules the simulator and a real-time relay.

Small batches (a frame's packets: up to ``PLAIN_MAX_PACKETS``, or ``PLAIN_MAX_DROPTAIL`` under a
drop-tail limit, whose vectorised form falls back to a loop anyway) run the same recursion and
drop-tail packet by packet on Python numbers, cheaper there than numpy's per-call overhead, with
the very same floats (integer byte arithmetic, then one subtraction and one addition per packet,
as in the vectorised path). :meth:`Link.send_list` is that path on plain lists.

``Link(backend="compiled")`` runs every batch through one compiled kernel instead
(:mod:`~artic_rl.net._link_kernels`, numba: the packet-by-packet rules over arrays), with the very
same arrivals, drops and losses; a batch the kernel declines (invalid, or past its integer range)
takes the reference path, which raises or handles it.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import deque
from dataclasses import dataclass
from itertools import compress
from operator import le

import numpy as np

from artic_rl.backend import check_backend
from artic_rl.net.loss import LossModel, as_loss_model
from artic_rl.net.trace import MTU_BYTES, Trace

_min = np.minimum.reduce
_max = np.maximum.reduce

PLAIN_MAX_PACKETS = 24  # batches up to this size take the plain-Python path (same results)
PLAIN_MAX_DROPTAIL = 256  # ... up to this size under a drop-tail limit (numpy's drops loop is slow)
PLAIN_GATHER_PACKETS = 16  # from this size on, the plain path does its look-ups with numpy
PLAIN_MAX_QUEUE = 512  # ... when at most this many packets wait (else numpy is cheaper)
_INF = float("inf")
_NO_TABLE = np.empty(0, dtype=np.int64)
_NO_TABLE.flags.writeable = False


@dataclass(frozen=True)
class Delivery:
    """What happened to one batch of packets (all arrays in input order).

    Attributes:
        departure_ms: Time each packet left the bottleneck (NaN = dropped by the queue).
        arrival_ms: Departure + one-way delay (NaN = dropped or lost).
        dropped: True where the drop-tail queue refused the packet.
        lost: True where random loss after the bottleneck took it.
    """

    departure_ms: np.ndarray
    arrival_ms: np.ndarray
    dropped: np.ndarray
    lost: np.ndarray


class Link:
    """Trace-driven bottleneck (mm-link), then a fixed delay (mm-delay) and random loss (mm-loss).

    Args:
        trace: Delivery opportunities; the trace repeats with its period.
        delay_ms: One-way delay added after the bottleneck.
        queue_packets: Drop-tail limit in packets (``None`` = unlimited), not counting the
            packet in transit.
        queue_bytes: Drop-tail limit in bytes (``None`` = unlimited), same counting.
        loss: Random loss after the bottleneck: a probability (independent loss) or a
            :class:`~artic_rl.net.loss.LossModel`; ``None`` uses the trace's per-segment loss
            when it has one.
        start_ms: Offset into the trace: link time 0 is trace time ``start_ms``.
        np_random: Generator for random loss (required when there is any).
        trace_rtt: Add half the trace's per-segment RTT to ``delay_ms`` (JSON traces).
        backend: ``"python"`` (the reference) or ``"compiled"`` (the same numbers, faster).
    """

    def __init__(
        self,
        trace: Trace,
        delay_ms: float = 0.0,
        queue_packets: int | None = None,
        queue_bytes: int | None = None,
        loss: float | LossModel | None = None,
        start_ms: float = 0.0,
        np_random: np.random.Generator | None = None,
        trace_rtt: bool = False,
        backend: str = "python",
    ) -> None:
        if delay_ms < 0:
            raise ValueError(f"delay_ms must be >= 0, got {delay_ms}")
        if queue_packets is not None and queue_packets < 1:
            raise ValueError(f"queue_packets must be >= 1, got {queue_packets}")
        if queue_bytes is not None and queue_bytes < 1:
            raise ValueError(f"queue_bytes must be >= 1, got {queue_bytes}")
        if start_ms < 0:
            raise ValueError(f"start_ms must be >= 0, got {start_ms}")
        self.trace = trace
        self.delay_ms = float(delay_ms)
        self.queue_packets = queue_packets
        self.queue_bytes = queue_bytes
        self.start_ms = float(start_ms)
        self.loss = as_loss_model(loss)
        seg_loss = trace.segment_loss if loss is None else None
        self._segment_loss = (
            seg_loss if seg_loss is not None and bool(np.any(seg_loss > 0)) else None
        )
        self._segment_rtt = trace.segment_rtt_ms if trace_rtt else None
        if (self.loss is not None or self._segment_loss is not None) and np_random is None:
            raise ValueError("a link with random loss needs np_random")
        self.np_random = np_random
        self._opps = trace.opportunities_ms
        self._table = trace.opportunities_through
        self._n_opps = int(self._opps.size)
        self._period_ms = int(trace.period_ms)
        self._end_byte = 0  # byte coordinate where the last accepted packet ends
        # accepted packets whose first byte may not be served yet: buffer[head:tail]
        self._q_start = np.empty(256, dtype=np.int64)
        self._q_size = np.empty(256, dtype=np.int64)
        self._head = 0
        self._tail = 0
        self._last_send_ms = 0.0
        self.packets_sent = 0
        self.packets_dropped = 0
        self.packets_lost = 0
        self.bytes_sent = 0
        self.backend = check_backend(backend)
        if self.backend == "compiled":
            from artic_rl.net import _link_kernels

            self._kernels = _link_kernels
            # no look-up table: an empty one (read-only like the trace's, so one compiled form)
            self._kernel_table = _NO_TABLE if self._table is None else self._table
            self._cursor = np.zeros(3, dtype=np.int64)  # the kernel's HEAD, TAIL, END_BYTE out

    # ------------------------------------------------------------ trace geometry

    def first_opportunity(self, send_ms: np.ndarray) -> np.ndarray:
        """Global index of the first opportunity strictly after each link time (int64)."""
        trace_ms = np.asarray(send_ms, dtype=np.float64) + self.start_ms
        return self._first_after(np.floor(trace_ms).astype(np.int64))

    def _first_after(self, trace_ms: np.ndarray) -> np.ndarray:
        """First opportunity later than each whole trace millisecond (non-decreasing input)."""
        period = self._period_ms
        wraps = int(trace_ms[0]) // period
        if int(trace_ms[-1]) // period == wraps:  # one period: no division per packet
            phase = trace_ms - wraps * period if wraps else trace_ms
            base: int | np.ndarray = wraps * self._n_opps
        else:
            wraps_arr, phase = np.divmod(trace_ms, period)
            base = wraps_arr * self._n_opps
        if self._table is not None:
            return self._table[phase] + base
        return np.searchsorted(self._opps, phase, side="right") + base

    def opportunity_ms(self, index: np.ndarray) -> np.ndarray:
        """Link time (float64) of global opportunity indices (non-decreasing input)."""
        n_opps = self._n_opps
        wraps = int(index[0]) // n_opps
        if int(index[-1]) // n_opps == wraps:
            if not wraps:
                return self._opps[index] - self.start_ms
            return (self._opps[index - wraps * n_opps] + wraps * self._period_ms) - self.start_ms
        wraps_arr, idx = np.divmod(index, n_opps)
        return (self._opps[idx] + wraps_arr * self._period_ms) - self.start_ms

    def capacity_bytes(self, t0_ms: float, t1_ms: float) -> int:
        """Bytes the link can carry in ``(t0_ms, t1_ms]`` (opportunities times ``MTU_BYTES``)."""
        k = self.first_opportunity(np.array([t0_ms, t1_ms]))
        return int(k[1] - k[0]) * MTU_BYTES

    # ------------------------------------------------------------ state

    def _queued_from(self, now_ms: float) -> int:
        a = int(self.first_opportunity(np.array([now_ms]))[0]) * MTU_BYTES
        pending = self._q_start[self._head : self._tail]
        return self._head + int(np.searchsorted(pending, a, side="left"))

    def queue_packets_at(self, now_ms: float) -> int:
        """Packets waiting in the queue at ``now_ms`` (>= the last send), in transit excluded."""
        return self._tail - self._queued_from(now_ms)

    def queue_bytes_at(self, now_ms: float) -> int:
        """Bytes waiting in the queue at ``now_ms`` (>= the last send), in transit excluded."""
        return int(self._q_size[self._queued_from(now_ms) : self._tail].sum())

    @property
    def drain_ms(self) -> float:
        """Link time the last accepted packet leaves the bottleneck (when the queue empties)."""
        if self._end_byte == 0:
            return 0.0
        return float(self.opportunity_ms(np.array([(self._end_byte - 1) // MTU_BYTES]))[0])

    # ------------------------------------------------------------ sending

    def send(self, send_ms: np.ndarray, size_bytes: np.ndarray) -> np.ndarray:
        """Enqueue a batch; returns each packet's arrival (float64 link ms, NaN = dropped/lost).

        Args:
            send_ms: Non-decreasing send times, not before the previous batch's last.
            size_bytes: Packet sizes, 1..``MTU_BYTES``.
        """
        send = np.asarray(send_ms, dtype=np.float64)
        size = np.asarray(size_bytes, dtype=np.int64)
        if self.backend == "compiled":
            compiled = self._run_compiled(send, size)
            if compiled is not None:
                return compiled[1]
        if 0 < send.size <= self._plain_max and send.ndim == 1 and send.shape == size.shape:
            plain = self._run_plain(send.tolist(), size.tolist(), send, ints=True)
            if plain is not None:
                return np.array(plain, dtype=np.float64)
        return self._run(send, size)[1]

    @property
    def _plain_max(self) -> int:
        """Largest batch the plain path takes (a module setting, so tests can force either path)."""
        limited = self.queue_packets is not None or self.queue_bytes is not None
        return PLAIN_MAX_DROPTAIL if limited else PLAIN_MAX_PACKETS

    def send_list(self, send_ms: list[float], size_bytes: list[int]) -> list[float]:
        """:meth:`send` on plain lists (a frame's packets): the same arrivals, as a list.

        Args:
            send_ms: Non-decreasing send times (float or int), not before the previous batch's last.
            size_bytes: Packet sizes (int), 1..``MTU_BYTES``.
        """
        if self.backend == "compiled":
            send, size = np.array(send_ms, dtype=np.float64), np.array(size_bytes, dtype=np.int64)
            compiled = self._run_compiled(send, size)
            if compiled is not None:
                return compiled[1].tolist()
        if 0 < len(send_ms) <= self._plain_max and len(send_ms) == len(size_bytes):
            plain = self._run_plain(send_ms, size_bytes)
            if plain is not None:
                return plain
        return self.send(send_ms, size_bytes).tolist()  # type: ignore[arg-type]

    def send_one(self, send_ms: float, size_bytes: int) -> float:
        """One packet (the real-time relay's path): its arrival time, NaN if dropped or lost."""
        return self.send_list([send_ms], [size_bytes])[0]

    def transmit(self, send_ms: np.ndarray, size_bytes: np.ndarray) -> Delivery:
        """Like :meth:`send`, with departures and the drop / loss masks."""
        compiled = None
        if self.backend == "compiled":
            compiled = self._run_compiled(
                np.asarray(send_ms, dtype=np.float64), np.asarray(size_bytes, dtype=np.int64)
            )
        if compiled is not None:
            departure, arrival, dropped, lost = compiled
        else:
            departure, arrival, dropped, lost = self._run(send_ms, size_bytes)
        n = departure.size
        return Delivery(
            departure,
            arrival,
            np.zeros(n, dtype=bool) if dropped is None else dropped,
            np.zeros(n, dtype=bool) if lost is None else lost,
        )

    def _run(
        self, send_ms: np.ndarray, size_bytes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Departure, arrival, dropped mask (None = none), lost mask (None = none)."""
        send, size = self._validate(send_ms, size_bytes)
        if send.size == 0:
            empty = np.empty(0, dtype=np.float64)
            return empty, empty, None, None
        trace_ms = (send + self.start_ms if self.start_ms else send).astype(np.int64)
        start, accepted = self._enqueue(self._first_after(trace_ms) * MTU_BYTES, size)
        last_byte = start + size
        last_byte -= 1
        last_byte //= MTU_BYTES
        dropped = None
        if accepted is None:
            departure = self.opportunity_ms(last_byte)
        else:
            dropped = ~accepted
            departure = self._departure_with_drops(last_byte, accepted)
            self.packets_dropped += int(dropped.sum())
        arrival = departure + self.delay_ms
        lost = self._after_bottleneck(departure, dropped, arrival)
        self._last_send_ms = float(send[-1])
        self.packets_sent += send.size
        return departure, arrival, dropped, lost

    def _after_bottleneck(
        self, departure: np.ndarray, dropped: np.ndarray | None, arrival: np.ndarray
    ) -> np.ndarray | None:
        """The per-segment RTT (into ``arrival``) and random loss; the lost mask (None = none)."""
        if self._segment_rtt is not None:
            arrival += 0.5 * self._segment_rtt[self.trace.segment_at(departure + self.start_ms)]
        return self._apply_loss(departure, dropped, arrival)

    def _run_compiled(
        self, send: np.ndarray, size: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None] | None:
        """:meth:`_run` by the compiled kernel; None (nothing observable changed) when it declines
        the batch."""
        n = send.size
        if send.ndim != 1 or send.shape != size.shape or n == 0:
            return None
        self._reserve(n)
        departure = np.empty(n, dtype=np.float64)
        arrival = np.empty(n, dtype=np.float64)
        k, cursor = self._kernels, self._cursor
        limit_packets, limit_bytes = self.queue_packets, self.queue_bytes
        n_dropped = k.link_send(
            send,
            size,
            self._opps,
            self._kernel_table,
            self._period_ms,
            self.start_ms,
            self.delay_ms,
            self._last_send_ms,
            MTU_BYTES,
            k.NO_LIMIT if limit_packets is None else limit_packets,
            k.NO_LIMIT if limit_bytes is None else limit_bytes,
            self._q_start,
            self._q_size,
            self._head,
            self._tail,
            self._end_byte,
            cursor,
            departure,
            arrival,
        )
        if n_dropped == k.DECLINED:
            return None
        self._head, self._tail, self._end_byte = cursor.tolist()
        dropped = None
        if n_dropped:
            dropped = np.isnan(departure)
            self.packets_dropped += n_dropped
        lost = self._after_bottleneck(departure, dropped, arrival)
        self._last_send_ms = float(send[-1])
        self.packets_sent += n
        return departure, arrival, dropped, lost

    def _run_plain(
        self,
        send: list[float],
        size: list[int],
        send_arr: np.ndarray | None = None,
        ints: bool = False,
    ) -> list[float] | None:
        """Arrivals of a small batch computed packet by packet; None: let :meth:`_run` handle it.

        Declines (before touching any state) what the vectorised path must decide: invalid input
        (it raises the error), per-segment loss or RTT, and a long queue under a drop-tail limit.
        From ``PLAIN_GATHER_PACKETS`` packets on, the two table look-ups per packet are one numpy
        gather each (the vectorised path's own functions); the recursion stays a loop.
        """
        if self._segment_loss is not None or self._segment_rtt is not None:
            return None
        if not (
            self._last_send_ms <= send[0]
            and send[-1] < _INF
            and all(map(le, send, send[1:]))  # non-decreasing, no NaN
            and (ints or all(map(int.__instancecheck__, size)))  # ints (no floats, no np.int64)
            and min(size) > 0
            and max(size) <= MTU_BYTES
        ):
            return None
        limited = self.queue_packets is not None or self.queue_bytes is not None
        if limited and self._tail - self._head > PLAIN_MAX_QUEUE:
            return None
        n = len(send)
        gather = n >= PLAIN_GATHER_PACKETS
        self._reserve(n)
        head, tail = self._head, self._tail
        if gather:
            arr = np.array(send, dtype=np.float64) if send_arr is None else send_arr
            trace_ms = (arr + self.start_ms if self.start_ms else arr).astype(np.int64)
            firsts: list[int] = (self._first_after(trace_ms) * MTU_BYTES).tolist()
        else:
            firsts = self._plain_first_bytes(send)
        if limited:
            starts, sizes, accepted, popped = self._plain_droptail(firsts, size)
        else:
            starts, sizes, accepted, popped = self._plain_fifo(firsts, size), size, None, 0
        m = len(starts)
        if m:
            self._q_start[tail : tail + m] = starts
            self._q_size[tail : tail + m] = sizes
            self._end_byte = starts[-1] + sizes[-1]
        self._tail = tail + m
        if limited:
            self._head = head + popped
        else:  # the packets whose first byte is not served by the last packet's first byte
            self._head = bisect_left(self._q_start, firsts[-1], head, self._tail)
        if gather and m:
            last = (
                np.array(starts, dtype=np.int64) + np.array(sizes, dtype=np.int64) - 1
            ) // MTU_BYTES
            served: list[float] = (self.opportunity_ms(last) + self.delay_ms).tolist()
        else:
            served = self._plain_arrivals(starts, sizes)
        if accepted is None:
            arrival = served
        else:
            it = iter(served)
            arrival = [next(it) if ok else math.nan for ok in accepted]
        dropped = n - m
        self.packets_dropped += dropped
        self._last_send_ms = float(send[-1])
        self.packets_sent += n
        if self.np_random is not None and self.loss is not None:
            out = np.array(arrival, dtype=np.float64)
            self._apply_loss(out, np.isnan(out) if dropped else None, out)
            return out.tolist()
        return arrival

    def _plain_first_bytes(self, send: list[float]) -> list[int]:
        """First byte each packet may use (``MTU_BYTES`` x the first opportunity after it)."""
        start_ms, period, n_opps = self.start_ms, self._period_ms, self._n_opps
        trace_ms = [int(s + start_ms) for s in send]
        wraps = trace_ms[0] // period
        if self._table is not None and trace_ms[-1] // period == wraps:  # one period
            item, offset, base = self._table.item, wraps * period, wraps * n_opps
            return [(item(t - offset) + base) * MTU_BYTES for t in trace_ms]
        w = [t // period for t in trace_ms]
        phase = [t - x * period for t, x in zip(trace_ms, w, strict=True)]
        if self._table is not None:
            k = [self._table.item(p) for p in phase]
        else:
            k = np.searchsorted(self._opps, phase, side="right").tolist()
        return [(i + x * n_opps) * MTU_BYTES for i, x in zip(k, w, strict=True)]

    def _plain_arrivals(self, starts: list[int], sizes: list[int]) -> list[float]:
        """Arrival (departure + delay) of accepted packets from their first bytes and sizes."""
        start_ms, delay_ms, n_opps, period = (
            self.start_ms,
            self.delay_ms,
            self._n_opps,
            self._period_ms,
        )
        item = self._opps.item
        out: list[float] = []
        last_opp, last_arrival = -1, 0.0
        for st, z in zip(starts, sizes, strict=True):
            last = (st + z - 1) // MTU_BYTES
            if last != last_opp:  # a new opportunity: look its time up
                last_opp = last
                if last < n_opps:
                    last_arrival = item(last) - start_ms + delay_ms
                else:
                    w, i = divmod(last, n_opps)
                    last_arrival = (item(i) + w * period) - start_ms + delay_ms
            out.append(last_arrival)
        return out

    def _plain_fifo(self, firsts: list[int], size: list[int]) -> list[int]:
        """Lindley's recursion without a queue limit: each packet's first byte."""
        end = self._end_byte
        starts: list[int] = []
        for a, z in zip(firsts, size, strict=True):
            if end < a:
                end = a
            starts.append(end)
            end += z
        return starts

    def _plain_droptail(
        self, firsts: list[int], size: list[int]
    ) -> tuple[list[int], list[int], list[bool] | None, int]:
        """Drop-tail FIFO: accepted packets' first bytes and sizes, the accepted mask (None: all),
        packets served."""
        head, tail = self._head, self._tail
        limit_p = self.queue_packets if self.queue_packets is not None else 1 << 62
        limit_b = self.queue_bytes if self.queue_bytes is not None else 1 << 62
        queue: list[int] = self._q_start[head:tail].tolist()  # + the accepted packets' starts
        base = q_len = len(queue)
        popped = 0
        end = self._end_byte
        drops: list[int] = []
        if self.queue_bytes is None:  # the usual limit, in packets: no byte bookkeeping
            for i, (a, z) in enumerate(zip(firsts, size, strict=True)):
                while popped < q_len and queue[popped] < a:
                    popped += 1
                if q_len - popped >= limit_p:
                    drops.append(i)
                    continue
                if end < a:
                    end = a
                queue.append(end)
                q_len += 1
                end += z
        else:
            q_size: list[int] = self._q_size[head:tail].tolist()
            q_bytes = sum(q_size)
            for i, (a, z) in enumerate(zip(firsts, size, strict=True)):
                while popped < q_len and queue[popped] < a:
                    q_bytes -= q_size[popped]
                    popped += 1
                if q_len - popped >= limit_p or q_bytes + z > limit_b:
                    drops.append(i)
                    continue
                if end < a:
                    end = a
                queue.append(end)
                q_len += 1
                q_size.append(z)
                q_bytes += z
                end += z
        if not drops:
            return queue[base:], size, None, popped
        accepted = [True] * len(size)
        for i in drops:
            accepted[i] = False
        return queue[base:], list(compress(size, accepted)), accepted, popped

    def _departure_with_drops(self, last_opp: np.ndarray, accepted: np.ndarray) -> np.ndarray:
        departure = np.full(last_opp.size, np.nan)
        if bool(accepted.any()):
            departure[accepted] = self.opportunity_ms(last_opp[accepted])
        return departure

    def _validate(
        self, send_ms: np.ndarray, size_bytes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        send = np.asarray(send_ms, dtype=np.float64)
        size = np.asarray(size_bytes, dtype=np.int64)
        if send.ndim != 1 or send.shape != size.shape:
            raise ValueError("send_ms and size_bytes must be 1-D arrays of the same length")
        if send.size:
            if send[0] < self._last_send_ms or (send.size > 1 and _min(send[1:] - send[:-1]) < 0):
                raise ValueError("send_ms must be non-decreasing, also across batches")
            if _min(size) < 1 or _max(size) > MTU_BYTES:
                raise ValueError(f"size_bytes must be in 1..{MTU_BYTES}")
        return send, size

    def _reserve(self, n: int) -> None:
        """Room for ``n`` more pending packets: compact, or grow the buffer."""
        if self._tail + n <= self._q_start.size:
            return
        live = self._tail - self._head
        capacity = self._q_start.size
        while live + n > capacity // 2:
            capacity *= 2
        starts, sizes = (
            self._q_start[self._head : self._tail],
            self._q_size[self._head : self._tail],
        )
        if capacity != self._q_start.size:
            self._q_start = np.empty(capacity, dtype=np.int64)
            self._q_size = np.empty(capacity, dtype=np.int64)
        self._q_start[:live] = starts.copy()
        self._q_size[:live] = sizes.copy()
        self._head, self._tail = 0, live

    def _enqueue(
        self, arrive: np.ndarray, size: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """First byte of each packet; the accepted mask, or None when all were accepted."""
        n = size.size
        csum = np.cumsum(size)
        before = csum - size
        start = np.maximum.accumulate(arrive - before)
        np.maximum(start, self._end_byte, out=start)
        start += before
        self._reserve(n)
        head, tail = self._head, self._tail
        self._q_start[tail : tail + n] = start
        self._q_size[tail : tail + n] = size
        if self.queue_packets is not None or self.queue_bytes is not None:
            bad = self._first_overflow(arrive, size)
            if bad >= 0:
                return self._enqueue_loop(arrive, size, start, bad)
        self._end_byte = int(start[-1] + size[-1])
        self._tail = tail + n
        self._head = head + int(
            np.searchsorted(self._q_start[head : self._tail], arrive[-1], side="left")
        )
        return start, None

    def _first_overflow(self, arrive: np.ndarray, size: np.ndarray) -> int:
        """Index of the first packet the drop-tail queue refuses (-1 if none), assuming no drops."""
        head, own_first = self._head, self._tail
        n = size.size
        queue = self._q_start[head : own_first + n]
        started = np.searchsorted(queue, arrive, side="left")
        own = np.arange(own_first - head, own_first - head + n)
        ok = np.ones(n, dtype=bool)
        if self.queue_packets is not None:
            ok &= own - started < self.queue_packets
        if self.queue_bytes is not None:
            cum = np.concatenate(([0], np.cumsum(self._q_size[head : own_first + n])))
            ok &= cum[own] - cum[started] + size <= self.queue_bytes
        return -1 if bool(ok.all()) else int(np.argmin(ok))

    def _enqueue_loop(
        self, arrive: np.ndarray, size: np.ndarray, start: np.ndarray, first: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Packet-by-packet drop-tail from ``first`` on (everything before it was accepted)."""
        limit_p = self.queue_packets if self.queue_packets is not None else 1 << 62
        limit_b = self.queue_bytes if self.queue_bytes is not None else 1 << 62
        tail = self._tail + first
        queue = deque(
            zip(
                self._q_start[self._head : tail].tolist(),
                self._q_size[self._head : tail].tolist(),
                strict=True,
            )
        )
        queued_bytes = sum(s for _, s in queue)
        end = int(start[first - 1] + size[first - 1]) if first > 0 else self._end_byte
        starts, sizes, arrives = start.tolist(), size.tolist(), arrive.tolist()
        accepted = [True] * size.size
        for i in range(first, size.size):
            a, s = arrives[i], sizes[i]
            while queue and queue[0][0] < a:
                queued_bytes -= queue.popleft()[1]
            if len(queue) >= limit_p or queued_bytes + s > limit_b:
                accepted[i] = False
                starts[i] = 0
                continue
            st = end if end > a else a
            end = st + s
            starts[i] = st
            queue.append((st, s))
            queued_bytes += s
        self._end_byte = end
        self._head, self._tail = 0, 0
        self._reserve(len(queue))
        if queue:
            self._q_start[: len(queue)] = [q[0] for q in queue]
            self._q_size[: len(queue)] = [q[1] for q in queue]
        self._tail = len(queue)
        return np.array(starts, dtype=np.int64), np.array(accepted, dtype=bool)

    def _apply_loss(
        self, departure: np.ndarray, dropped: np.ndarray | None, arrival: np.ndarray
    ) -> np.ndarray | None:
        if self.np_random is None or (self.loss is None and self._segment_loss is None):
            return None
        carried = np.arange(departure.size) if dropped is None else np.flatnonzero(~dropped)
        if self.loss is not None:
            hit = self.loss.sample(carried.size, self.np_random)
        else:
            assert self._segment_loss is not None
            p = self._segment_loss[self.trace.segment_at(departure[carried] + self.start_ms)]
            hit = self.np_random.random(carried.size) < p
        lost = np.zeros(departure.size, dtype=bool)
        lost[carried[hit]] = True
        arrival[lost] = np.nan
        self.packets_lost += int(hit.sum())
        return lost


class FeedbackPath:
    """The return path of the receiver's reports: a fixed delay, or a trace-driven :class:`Link`.

    Args:
        delay_ms: One-way delay of the return path.
        trace: Optional trace of the return bottleneck (e.g. a Mahimahi ``.down`` file); without
            one the path has unlimited capacity.
        queue_packets: Drop-tail limit of a trace-driven return path.
        loss: Random loss of reports (probability or model).
        start_ms: Offset into the return trace.
        np_random: Generator for loss.
        backend: The trace-driven link's backend (``"python"`` or ``"compiled"``).
    """

    def __init__(
        self,
        delay_ms: float = 0.0,
        trace: Trace | None = None,
        queue_packets: int | None = None,
        loss: float | LossModel | None = None,
        start_ms: float = 0.0,
        np_random: np.random.Generator | None = None,
        backend: str = "python",
    ) -> None:
        if delay_ms < 0:
            raise ValueError(f"delay_ms must be >= 0, got {delay_ms}")
        self.delay_ms = float(delay_ms)
        self.loss = as_loss_model(loss)
        if self.loss is not None and np_random is None:
            raise ValueError("a feedback path with loss needs np_random")
        self.np_random = np_random
        self.link = (
            None
            if trace is None
            else Link(
                trace,
                delay_ms,
                queue_packets,
                None,
                self.loss,
                start_ms,
                np_random,
                backend=backend,
            )
        )

    def send(self, send_ms: np.ndarray, size_bytes: np.ndarray) -> np.ndarray:
        """Arrival time of each report at the sender (NaN = lost)."""
        if self.link is not None:
            return self.link.send(send_ms, size_bytes)
        arrival = np.asarray(send_ms, dtype=np.float64) + self.delay_ms
        if self.loss is not None and self.np_random is not None:
            arrival[self.loss.sample(arrival.size, self.np_random)] = np.nan
        return arrival
