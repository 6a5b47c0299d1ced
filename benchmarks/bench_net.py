"""Speed of the link emulator: batch API vs a plain per-packet loop, simulated s per wall s, replay,
and the reference (``backend="python"``) vs the compiled kernel (``backend="compiled"``).

Run: ``python benchmarks/bench_net.py [--quick] [--backends-only]``. Uses the shipped LTE traces
(traces/lte) and, when present, the real Mahimahi LTE uplinks in ../shared/data. Figures are
wall-clock on a shared machine: other processes on the same cores depress them (the backends are
timed alternately, so both see the same load).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from artic_rl.cli import main as artic_rl
from artic_rl.net import Link, Trace, load_trace, load_trace_dir
from artic_rl.net.reference import plain_loop

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "traces" / "mahimahi"
STEP_MS = 200.0


def schedule(
    n_steps: int, per_step: int, np_random: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``per_step`` packets in each 200 ms step, sizes 200..1504 bytes (an encoder's frames)."""
    offsets = np.sort(np_random.uniform(0, STEP_MS, size=(n_steps, per_step)), axis=1)
    send = (offsets + STEP_MS * np.arange(n_steps)[:, None]).ravel()
    size = np_random.integers(200, 1505, size=send.size)
    return send, size


def bench_batch(
    trace: Trace, send: np.ndarray, size: np.ndarray, per_call: int, queue: int | None
) -> float:
    """Packets per second through ``Link.send`` called with ``per_call`` packets at a time."""
    link = Link(trace, delay_ms=20.0, queue_packets=queue)
    chunks = [
        (send[i : i + per_call], size[i : i + per_call]) for i in range(0, send.size, per_call)
    ]
    t0 = time.perf_counter()
    for s, z in chunks:
        link.send(s, z)
    return send.size / (time.perf_counter() - t0)


def bench_plain(trace: Trace, send: np.ndarray, size: np.ndarray, queue: int | None) -> float:
    s, z = send.tolist(), size.tolist()
    t0 = time.perf_counter()
    plain_loop(trace, s, z, queue, 20.0)
    return send.size / (time.perf_counter() - t0)


def bench_backend(
    trace: Trace,
    backend: str,
    chunks: list[tuple[np.ndarray, np.ndarray]],
    queue: int | None,
    lists: bool,
) -> float:
    """Seconds per call of ``Link.send_list`` (plain lists, the env's call) or ``Link.send``."""
    link = Link(trace, delay_ms=20.0, queue_packets=queue, backend=backend)
    if lists:
        plain = [(s.tolist(), z.tolist()) for s, z in chunks]
        t0 = time.perf_counter()
        for s, z in plain:
            link.send_list(s, z)
    else:
        t0 = time.perf_counter()
        for s, z in chunks:
            link.send(s, z)
    return (time.perf_counter() - t0) / len(chunks)


def compare_backends(trace: Trace, rng: np.random.Generator, scale: float, repeats: int) -> None:
    """Reference vs compiled per call, side by side: backends alternate in each repeat (same
    load on both), best repeat shown with the ratio."""
    Link(trace, queue_packets=30, backend="compiled").send_list([0.0], [100])  # compile / load
    cases = [(10, 30, True), (35, 30, True), (70, 30, True), (35, None, True)]
    cases += [(1000, None, False), (1000, 30, False), (100_000, None, False)]
    for per_call, queue, lists in cases:
        n_steps = max(int(20000 * scale * 35 / per_call), 3)
        send, size = schedule(n_steps, per_call, rng)
        chunks = [
            (send[i : i + per_call], size[i : i + per_call]) for i in range(0, send.size, per_call)
        ]
        best = {"python": float("inf"), "compiled": float("inf")}
        for _ in range(repeats):
            for backend in best:
                best[backend] = min(
                    best[backend], bench_backend(trace, backend, chunks, queue, lists)
                )
        ref, fast = best["python"], best["compiled"]
        call = "send_list" if lists else "send"
        print(
            f"{call:9s} {per_call:6d} pkts queue={queue!s:4}: python {ref * 1e6:9.1f} us/call, compiled {fast * 1e6:8.1f} us/call, x{ref / fast:5.1f}"
        )


def bench_sim_seconds(traces: list[Trace], per_step: int, seconds: float) -> float:
    """Simulated seconds per wall second: one ``send`` per 200 ms step, queue of 30 packets."""
    rng = np.random.default_rng(1)
    total_sim = 0.0
    t0 = time.perf_counter()
    for trace in traces:
        send, size = schedule(int(seconds * 1000 / STEP_MS), per_step, rng)
        link = Link(trace, delay_ms=20.0, queue_packets=30)
        for i in range(0, send.size, per_step):
            link.send(send[i : i + per_step], size[i : i + per_step])
        total_sim += seconds
    return total_sim / (time.perf_counter() - t0)


def bench_replay(trace_path: Path, n_packets: int) -> float:
    """Wall seconds of ``artic-rl link`` on ``n_packets``, CSV reading and writing included."""
    rng = np.random.default_rng(2)
    send = np.sort(rng.uniform(0, n_packets * 1.0, size=n_packets)).round(3)
    size = rng.integers(1, 1505, size=n_packets)
    with tempfile.TemporaryDirectory() as tmp:
        sends = Path(tmp) / "sends.csv"
        sends.write_text(
            "send_ms,size_bytes\n"
            + "".join(f"{s},{z}\n" for s, z in zip(send.tolist(), size.tolist(), strict=True))
        )
        t0 = time.perf_counter()
        code = artic_rl(
            [
                "link",
                "--trace",
                str(trace_path),
                "--delay-ms",
                "20",
                "--queue-packets",
                "100",
                "--input",
                str(sends),
                "--output",
                str(Path(tmp) / "out.csv"),
            ]
        )
        elapsed = time.perf_counter() - t0
    assert code == 0
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs (about 20 s)")
    parser.add_argument(
        "--backends-only", action="store_true", help="only reference vs compiled per call"
    )
    parser.add_argument("--repeats", type=int, default=5, help="backend passes (best shown)")
    args = parser.parse_args()
    scale = 0.2 if args.quick else 1.0
    shipped = load_trace_dir(ROOT / "traces" / "lte" / "train")
    real = (
        [load_trace(SHARED / f) for f in ("TMobile-LTE-short.up", "Verizon-LTE-short.up")]
        if SHARED.is_dir()
        else []
    )
    trace = real[0] if real else shipped[3]
    print(f"trace for packet rates: {trace.name} ({trace.mean_mbps:.1f} Mbps)")
    rng = np.random.default_rng(0)
    print("reference vs compiled link, per call (shared machine: wall clock, noisy):")
    compare_backends(trace, np.random.default_rng(10), scale, args.repeats)
    if args.backends_only:
        return
    n_steps = int(20000 * scale)
    for per_step in (10, 70):
        send, size = schedule(n_steps, per_step, rng)
        for queue in (None, 30):
            batch = bench_batch(trace, send, size, per_step, queue)
            plain = bench_plain(trace, send, size, queue)
            print(
                f"{per_step:4d} pkts/call queue={queue!s:4}: batch {batch / 1e6:6.2f} M pkt/s, plain loop {plain / 1e6:5.2f} M pkt/s, x{batch / plain:4.1f}"
            )
    send, size = schedule(int(2000 * scale), 1000, rng)
    for per_call in (1000, 100_000):
        batch = bench_batch(trace, send, size, per_call, None)
        plain = bench_plain(trace, send, size, None)
        print(
            f"{per_call:6d} pkts/call (no queue limit): batch {batch / 1e6:6.2f} M pkt/s, plain loop {plain / 1e6:5.2f} M pkt/s, x{batch / plain:4.1f}"
        )
    for label, traces in (("shipped LTE", shipped), ("real LTE", real)):
        if traces:
            rate = bench_sim_seconds(traces, 70, 120.0 * scale)
            print(f"simulated s per wall s, {label} traces, 70 pkts per 200 ms step: {rate:,.0f}")
    n_replay = int(500_000 * (0.4 if args.quick else 1.0))
    print(
        f"artic-rl link replay of {n_replay:,} packets (CSV in and out): {bench_replay(ROOT / 'traces' / 'lte' / 'train' / 'lte-03.up', n_replay):.2f} s"
    )


if __name__ == "__main__":
    main()
