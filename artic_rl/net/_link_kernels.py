"""Compiled kernel of the trace-driven link: :meth:`~artic_rl.net.link.Link.send`'s rules over arrays.

The rules are those of :mod:`~artic_rl.net.link` (read its docstring first): a packet sent at
``t`` may use bytes from ``A = MTU_BYTES * k_a(t)`` on, ``k_a(t)`` the first opportunity after
``t``; FIFO service starts it at ``S = max(E_prev, A)`` (Lindley's recursion) and it leaves at the
opportunity of its last byte; the drop-tail queue holds the accepted packets whose first byte is
not served yet (``S_j >= A``). The reference runs them packet by packet on Python numbers (small
batches) or as numpy closed forms (large ones); this kernel runs the packet-by-packet form for
every batch, with the same integer byte arithmetic and the same float operations, so every
departure and arrival is the reference's bit for bit (the tests compare them).

numba compiles it on first use and caches the machine code beside this file (``__pycache__``);
the link's settings and ``MTU_BYTES`` come in as arguments, so a stale cache cannot hold them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# link_send's cursor (out): the queue buffer's live slice [HEAD, TAIL) and the byte where the
# last accepted packet ends
HEAD, TAIL, END_BYTE = 0, 1, 2
NO_LIMIT = 1 << 62  # a drop-tail limit that never binds (the reference's)
MAX_TRACE_MS = 1 << 40  # later sends are left to the reference (its Python ints do not overflow)
DECLINED = -1  # link_send's answer to a batch it leaves to the reference, state untouched


@njit(cache=True)
def first_opportunity(trace_ms: int, opps: np.ndarray, table: np.ndarray, period_ms: int) -> int:
    """Global index of the first opportunity later than a whole trace millisecond.

    ``table`` (the trace's ``opportunities_through``) turns it into one look-up; an empty one
    means a binary search in ``opps``.
    """
    wraps = trace_ms // period_ms
    phase = trace_ms - wraps * period_ms
    if table.shape[0] > 0:
        return table[phase] + wraps * opps.shape[0]
    return np.searchsorted(opps, phase, side="right") + wraps * opps.shape[0]


@njit(cache=True)
def opportunity_ms(index: int, opps: np.ndarray, period_ms: int, start_ms: float) -> float:
    """Link time of a global opportunity index (its trace time less the link's start offset)."""
    wraps = index // opps.shape[0]
    return float(opps[index - wraps * opps.shape[0]] + wraps * period_ms) - start_ms


@njit(cache=True)
def valid_batch(
    send_ms: np.ndarray,
    size_bytes: np.ndarray,
    last_send_ms: float,
    start_ms: float,
    mtu_bytes: int,
) -> bool:
    """Whether the kernel takes the batch: non-empty, sends non-decreasing (no NaN) from the last
    batch's last and not past ``MAX_TRACE_MS``, sizes in ``1..mtu_bytes``."""
    n = send_ms.shape[0]
    if n == 0 or not last_send_ms <= send_ms[0] or not send_ms[n - 1] + start_ms < MAX_TRACE_MS:
        return False
    for i in range(n):
        if (i > 0 and not send_ms[i - 1] <= send_ms[i]) or not 1 <= size_bytes[i] <= mtu_bytes:
            return False
    return True


@njit(cache=True)
def link_send(
    send_ms: np.ndarray,
    size_bytes: np.ndarray,
    opps: np.ndarray,
    table: np.ndarray,
    period_ms: int,
    start_ms: float,
    delay_ms: float,
    last_send_ms: float,
    mtu_bytes: int,
    limit_packets: int,
    limit_bytes: int,
    q_start: np.ndarray,
    q_size: np.ndarray,
    head: int,
    tail: int,
    end: int,
    cursor: np.ndarray,
    departure_ms: np.ndarray,
    arrival_ms: np.ndarray,
) -> int:
    """Enqueue a batch: each packet's departure and arrival (departure + ``delay_ms``; NaN both
    when the drop-tail queue refuses it). Returns the number of drops, or ``DECLINED``.

    The queue buffer ``q_start``/``q_size`` (first byte and size of the accepted packets; the
    live ones in ``[head, tail)``) must have room for ``len(send_ms)`` more after ``tail``. The
    new ``head``, ``tail`` and ``end`` (the byte where the last accepted packet ends) go to
    ``cursor[HEAD]``, ``cursor[TAIL]``, ``cursor[END_BYTE]``.
    """
    if not valid_batch(send_ms, size_bytes, last_send_ms, start_ms, mtu_bytes):
        return DECLINED
    queued_bytes = 0  # counted only under a byte limit
    if limit_bytes < NO_LIMIT:
        for j in range(head, tail):
            queued_bytes += q_size[j]
    dropped = 0
    for i in range(send_ms.shape[0]):
        size = size_bytes[i]
        first = first_opportunity(int(send_ms[i] + start_ms), opps, table, period_ms)
        first_byte = first * mtu_bytes
        while head < tail and q_start[head] < first_byte:  # served: leaves the queue
            queued_bytes -= q_size[head]
            head += 1
        if tail - head >= limit_packets or queued_bytes + size > limit_bytes:
            departure_ms[i] = np.nan
            arrival_ms[i] = np.nan
            dropped += 1
            continue
        start = end if end > first_byte else first_byte
        q_start[tail] = start
        q_size[tail] = size
        tail += 1
        queued_bytes += size
        end = start + size
        departure = opportunity_ms((end - 1) // mtu_bytes, opps, period_ms, start_ms)
        departure_ms[i] = departure
        arrival_ms[i] = departure + delay_ms
    cursor[HEAD] = head
    cursor[TAIL] = tail
    cursor[END_BYTE] = end
    return dropped
