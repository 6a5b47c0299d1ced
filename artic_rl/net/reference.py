"""A literal, one-packet-at-a-time transcription of Mahimahi's ``LinkQueue`` (link_queue.cc).

It is the oracle the batched :class:`~artic_rl.net.link.Link` is tested against, and the plain
loop the benchmark compares it with. Slow on purpose: it walks every delivery opportunity.
"""

from __future__ import annotations

import bisect
import math
from collections import deque

from artic_rl.net.trace import MTU_BYTES, Trace


class MmLinkReference:
    """mm-link's ``rationalize`` / ``read_packet`` / drop-tail, packet by packet.

    Times are link milliseconds; ``start_ms`` offsets into the trace like :class:`Link`.
    ``send`` returns the departure time of the packet from the bottleneck, or NaN if the
    drop-tail queue refused it.
    """

    def __init__(
        self,
        trace: Trace,
        queue_packets: int | None = None,
        queue_bytes: int | None = None,
        start_ms: float = 0.0,
    ) -> None:
        self.schedule = trace.opportunities_ms.tolist()
        self.period_ms = trace.period_ms
        self.queue_packets = queue_packets
        self.queue_bytes = queue_bytes
        self.start_ms = start_ms
        # like mm-link, skip the opportunities before the start offset
        self.base_ms = 0
        self.next_delivery = 0
        self.queue: deque[list[int]] = deque()  # [packet id, size]
        self.queue_size_bytes = 0
        self.in_transit: list[int] | None = None  # [packet id, bytes left]
        self.departures: dict[int, float] = {}
        self.next_id = 0
        self.rationalize(math.floor(start_ms))

    def next_delivery_time(self) -> int:
        return self.schedule[self.next_delivery] + self.base_ms

    def use_a_delivery_opportunity(self) -> None:
        self.next_delivery = (self.next_delivery + 1) % len(self.schedule)
        if self.next_delivery == 0:
            self.base_ms += self.period_ms

    def rationalize(self, now: int) -> None:
        while self.next_delivery_time() <= now:
            this_delivery = self.next_delivery_time()
            left = MTU_BYTES
            self.use_a_delivery_opportunity()
            while left > 0:
                if self.in_transit is None:
                    if not self.queue:
                        break
                    pid, size = self.queue.popleft()
                    self.queue_size_bytes -= size
                    self.in_transit = [pid, size]
                amount = min(left, self.in_transit[1])
                self.in_transit[1] -= amount
                left -= amount
                if self.in_transit[1] == 0:
                    self.departures[self.in_transit[0]] = this_delivery - self.start_ms
                    self.in_transit = None

    def enqueue(self, send_ms: float, size_bytes: int) -> None:
        """mm-link's ``read_packet``: burn opportunities up to now, then drop-tail enqueue."""
        self.rationalize(math.floor(send_ms + self.start_ms))
        pid = self.next_id
        self.next_id += 1
        packets_ok = self.queue_packets is None or len(self.queue) + 1 <= self.queue_packets
        bytes_ok = (
            self.queue_bytes is None or self.queue_size_bytes + size_bytes <= self.queue_bytes
        )
        if packets_ok and bytes_ok:
            self.queue.append([pid, size_bytes])
            self.queue_size_bytes += size_bytes

    def run(self, send_ms: list[float], size_bytes: list[int]) -> list[float]:
        """Enqueue every packet in order, drain the link; departure per packet (NaN = dropped)."""
        first = self.next_id
        for t, size in zip(send_ms, size_bytes, strict=True):
            self.enqueue(t, size)
        while self.queue or self.in_transit is not None:
            self.rationalize(self.next_delivery_time())
        return [self.departures.get(pid, math.nan) for pid in range(first, self.next_id)]


def plain_loop(
    trace: Trace,
    send_ms: list[float],
    size_bytes: list[int],
    queue_packets: int | None = None,
    delay_ms: float = 0.0,
) -> list[float]:
    """The link's semantics one packet at a time in plain Python (the benchmark's baseline).

    Same byte-axis recursion as :class:`~artic_rl.net.link.Link`, with ``bisect`` instead of
    numpy: arrival per packet (NaN = dropped).
    """
    opps = trace.opportunities_ms.tolist()
    n_opps, period = len(opps), trace.period_ms
    end = 0
    queue: deque[int] = deque()
    limit = queue_packets if queue_packets is not None else 1 << 62
    out = []
    for t, size in zip(send_ms, size_bytes, strict=True):
        wraps, phase = divmod(math.floor(t), period)
        arrive = (wraps * n_opps + bisect.bisect_right(opps, phase)) * MTU_BYTES
        while queue and queue[0] < arrive:
            queue.popleft()
        if len(queue) >= limit:
            out.append(math.nan)
            continue
        start = end if end > arrive else arrive
        end = start + size
        queue.append(start)
        k_wraps, idx = divmod((end - 1) // MTU_BYTES, n_opps)
        out.append(opps[idx] + k_wraps * period + delay_ms)
    return out
