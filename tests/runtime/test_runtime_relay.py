"""The real-time UDP relay: it applies the emulator's schedule in wall-clock time, both directions."""

from __future__ import annotations

import socket
import threading
import time

import numpy as np

from artic_rl.net import FeedbackPath, Link
from artic_rl.net.trace import opportunities_from_rate
from artic_rl.runtime.relay import IP_UDP_OVERHEAD_BYTES, Clock, LinkRelay


def _socket() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(2.0)
    return s


def _drain(
    sock: socket.socket, n: int, clock: Clock, timeout_s: float = 3.0
) -> list[tuple[float, bytes]]:
    out: list[tuple[float, bytes]] = []
    deadline = time.monotonic() + timeout_s
    sock.settimeout(0.05)
    while len(out) < n and time.monotonic() < deadline:
        try:
            data = sock.recv(2048)
        except TimeoutError:
            continue
        out.append((clock.now_ms(), data))
    return out


def test_relay_applies_delay_both_ways() -> None:
    clock = Clock()
    rx, tx = _socket(), _socket()
    relay = LinkRelay(
        FeedbackPath(delay_ms=40.0),
        FeedbackPath(delay_ms=15.0),
        rx.getsockname(),
        tx.getsockname(),
        clock,
    )
    relay.start()
    try:
        sent = {}
        got: list[tuple[float, bytes]] = []
        reader = threading.Thread(target=lambda: got.extend(_drain(rx, 20, clock)))
        reader.start()
        for k in range(20):
            sent[k] = clock.now_ms()
            tx.sendto(k.to_bytes(2, "big"), relay.media.address)
            time.sleep(0.005)
        reader.join()
        assert sorted(int.from_bytes(d, "big") for _, d in got) == list(range(20))
        delays = np.array([t - sent[int.from_bytes(d, "big")] for t, d in got])
        assert delays.min() >= 39.0 and np.median(delays) < 50.0
        t0 = clock.now_ms()
        rx.sendto(b"fb", relay.feedback.address)
        ((t1, data),) = _drain(tx, 1, clock)
        assert data == b"fb" and 14.0 <= t1 - t0 < 40.0
    finally:
        relay.stop()
        rx.close()
        tx.close()


def test_relay_drops_exactly_what_the_emulator_drops() -> None:
    """A 1.2 Mbps bottleneck with a 4-packet queue, hit by a burst of 30 packets."""
    trace = opportunities_from_rate(np.array([0.0, 10_000.0]), np.array([1200.0]))
    clock = Clock()
    rx, tx = _socket(), _socket()
    relay = LinkRelay(
        Link(trace, delay_ms=10.0, queue_packets=4),
        FeedbackPath(delay_ms=5.0),
        rx.getsockname(),
        tx.getsockname(),
        clock,
        record=100,
    )
    relay.start()
    try:
        for k in range(30):
            tx.sendto(k.to_bytes(2, "big") + bytes(998), relay.media.address)
        got = _drain(rx, 30, clock, timeout_s=1.5)
    finally:
        relay.stop()
        rx.close()
        tx.close()
    rec = np.array(relay.media.stats.arrivals)
    assert rec.shape == (30, 3)
    # replaying the recorded send times through a fresh emulator gives the same fate per packet
    replay = Link(trace, delay_ms=10.0, queue_packets=4).send(
        rec[:, 0], rec[:, 2].astype(np.int64) + IP_UDP_OVERHEAD_BYTES
    )
    assert np.array_equal(np.isnan(replay), np.isnan(rec[:, 1]))
    kept = int((~np.isnan(replay)).sum())
    assert 4 <= kept < 30 and relay.media.stats.dropped == 30 - kept
    assert len(got) == kept
    assert relay.media.stats.mean_lateness_ms < 10.0
