"""Real-time UDP relay on 127.0.0.1 that applies the project's link emulator in wall-clock time.

One :class:`EmulatedPath` is one direction: it listens on its own port, asks its path model
(:class:`artic_rl.net.Link` for the trace-driven uplink, :class:`artic_rl.net.FeedbackPath` for
the return path)
when each datagram would arrive (departures are fixed at enqueue time, so the arrival is known at
once), and sends it on to the target at that instant, or drops it (NaN). :class:`LinkRelay` pairs
two paths: media from the sender to the receiver and feedback back. The relay is the only place
where the emulator meets a clock; the emulator itself stays pure.
"""

from __future__ import annotations

import heapq
import math
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

LOCALHOST = "127.0.0.1"
IP_UDP_OVERHEAD_BYTES = 28  # IPv4 + UDP headers the emulated link carries with every datagram
MAX_DATAGRAM_BYTES = 65_535


class Clock:
    """Milliseconds since a shared epoch on the monotonic clock (the one clock of a session)."""

    def __init__(self, epoch_s: float | None = None) -> None:
        self.epoch_s = time.monotonic() if epoch_s is None else epoch_s

    def now_ms(self) -> float:
        return (time.monotonic() - self.epoch_s) * 1000.0

    def sleep_until(self, t_ms: float, stop: threading.Event | None = None) -> None:
        """Sleep until ``t_ms`` (returns early when ``stop`` is set)."""
        delay_s = (t_ms - self.now_ms()) / 1000.0
        if delay_s > 0:
            if stop is None:
                time.sleep(delay_s)
            else:
                stop.wait(delay_s)


class PathModel(Protocol):
    """The emulator contract (:class:`artic_rl.net.Link`, :class:`artic_rl.net.FeedbackPath`): arrival
    times of a batch of packets (NaN = dropped or lost), departures fixed at enqueue time."""

    def send(self, send_ms: np.ndarray, size_bytes: np.ndarray) -> np.ndarray: ...


@dataclass
class PathStats:
    """What one direction carried; ``lateness_ms`` is how far behind schedule deliveries went out."""

    received: int = 0
    delivered: int = 0
    dropped: int = 0
    overflow: int = 0  # refused because the relay's own bound was reached
    bytes_in: int = 0
    max_lateness_ms: float = 0.0
    sum_lateness_ms: float = 0.0
    arrivals: list[tuple[float, float, int]] = field(default_factory=list)  # (send, arrival, size)

    @property
    def mean_lateness_ms(self) -> float:
        return self.sum_lateness_ms / self.delivered if self.delivered else 0.0


class EmulatedPath:
    """One direction of the relay: listen, schedule through the path model, deliver on time.

    Args:
        model: Path model (``send``); called with the datagram size plus IP/UDP overhead.
        target: Address the delivered datagrams go to.
        clock: The session clock; link time 0 is its epoch.
        host: Address to bind (127.0.0.1 unless told otherwise).
        max_pending: Bound on scheduled, undelivered datagrams (beyond it they are dropped).
        record: Keep (send, arrival, size) per datagram, for the fidelity comparison (bounded).
    """

    def __init__(
        self,
        model: PathModel,
        target: tuple[str, int],
        clock: Clock,
        host: str = LOCALHOST,
        max_pending: int = 20_000,
        record: int = 0,
    ) -> None:
        self.model = model
        self.target = target
        self.clock = clock
        self.max_pending = max_pending
        self.record = record
        self.stats = PathStats()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.setblocking(False)
        self._heap: list[tuple[float, int, bytes]] = []
        self._count = 0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()[:2]
        return str(host), int(port)

    @property
    def pending(self) -> int:
        return len(self._heap)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"relay->{self.target}", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=5.0)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self.sock.close()

    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ)
        self._ready.set()
        try:
            while not self._stop.is_set():
                wait_ms = 50.0
                if self._heap:
                    wait_ms = min(wait_ms, max(self._heap[0][0] - self.clock.now_ms(), 0.0))
                if sel.select(timeout=wait_ms / 1000.0):
                    self._receive_all()
                self._deliver_due()
        finally:
            sel.close()

    def _receive_all(self) -> None:
        while True:
            try:
                data = self.sock.recv(MAX_DATAGRAM_BYTES)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # e.g. ICMP port unreachable reported on a previous send
                continue
            self._admit(data, self.clock.now_ms())

    def _admit(self, data: bytes, now_ms: float) -> None:
        s = self.stats
        s.received += 1
        s.bytes_in += len(data)
        if len(self._heap) >= self.max_pending:
            s.overflow += 1
            return
        size = len(data) + IP_UDP_OVERHEAD_BYTES
        arrival = float(self.model.send(np.array([now_ms]), np.array([size], dtype=np.int64))[0])
        if len(s.arrivals) < self.record:
            s.arrivals.append((now_ms, arrival, len(data)))
        if math.isnan(arrival):
            s.dropped += 1
            return
        self._count += 1
        heapq.heappush(self._heap, (arrival, self._count, data))

    def _deliver_due(self) -> None:
        now = self.clock.now_ms()
        while self._heap and self._heap[0][0] <= now:
            arrival, _, data = heapq.heappop(self._heap)
            try:
                self.sock.sendto(data, self.target)
            except OSError:
                continue
            late = now - arrival
            self.stats.delivered += 1
            self.stats.sum_lateness_ms += late
            self.stats.max_lateness_ms = max(self.stats.max_lateness_ms, late)


class LinkRelay:
    """Both directions: ``media`` (sender -> receiver) and ``feedback`` (receiver -> sender).

    The sender sends media to ``media.address`` and listens for feedback on ``sender_addr``; the
    receiver listens on ``receiver_addr`` and sends feedback to ``feedback.address``.
    """

    def __init__(
        self,
        uplink: PathModel,
        downlink: PathModel,
        receiver_addr: tuple[str, int],
        sender_addr: tuple[str, int],
        clock: Clock,
        host: str = LOCALHOST,
        record: int = 0,
    ) -> None:
        self.media = EmulatedPath(uplink, receiver_addr, clock, host, record=record)
        self.feedback = EmulatedPath(downlink, sender_addr, clock, host)

    def start(self) -> None:
        self.media.start()
        self.feedback.start()

    def stop(self) -> None:
        self.media.stop()
        self.feedback.stop()
