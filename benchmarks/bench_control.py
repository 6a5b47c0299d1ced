"""Speed of GCC's delay-based detector per feedback report: reference vs compiled backend.

    python benchmarks/bench_control.py [--reports 4000] [--repeats 5]

The environment runs one GCC (observation feature 17) and hands it one feedback report per
200 ms step: about 35 packets in 6 or 7 send groups (30 fps frames of a few packets each, paced
over 2 ms, through a queue that fills and drains). The same reports go through each backend's
detector (``InterArrival`` + ``TrendlineEstimator``) and whole ``GccController.on_feedback``;
backends alternate within each repeat, so both see the same load, and the best repeat is shown
with the ratio. Wall-clock figures on a shared machine: other processes depress both sides.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from artic_rl.control.delay_based import InterArrival, TrendlineEstimator
from artic_rl.control.gcc import GccController
from artic_rl.sender.feedback import PacketReports

INTERVAL_MS = 200.0
FRAME_MS = 1000.0 / 30.0


def reports(n_reports: int, np_random: np.random.Generator) -> list[PacketReports]:
    """200 ms reports of 30 fps frames (3 to 9 packets each) through a wandering FIFO queue."""
    out, seq, queue_ms, frame, last_ms = [], 0, 0.0, 0, 0.0
    for k in range(n_reports):
        send: list[float] = []
        while frame * FRAME_MS < (k + 1) * INTERVAL_MS:
            n = int(np_random.integers(3, 10))
            send += (frame * FRAME_MS + np.linspace(0.0, 2.0, n)).tolist()
            frame += 1
        steps = np_random.normal(0.0, 1.5, len(send))
        owd = []
        for s in steps.tolist():
            queue_ms = min(max(queue_ms + s, 0.0), 300.0)
            owd.append(30.0 + queue_ms)
        # FIFO: in order, also across reports
        arrival = np.maximum.accumulate(np.maximum(np.array(send) + np.array(owd), last_ms))
        last_ms = float(arrival[-1])
        arrival[np_random.random(len(send)) < 0.01] = np.nan  # a lost packet now and then
        n = len(send)
        out.append(
            PacketReports(
                seq=np.arange(seq, seq + n, dtype=np.int64),
                send_ms=np.array(send),
                arrival_ms=arrival,
                size_bytes=np.full(n, 1200, dtype=np.int64),
            )
        )
        seq += n
    return out


def detector_pass(backend: str, batches: list[tuple[list[float], list[float]]]) -> float:
    """Seconds for the detector alone over every report's received packets in arrival order,
    in each backend's form (GCC's): lists of pairs for the reference, arrays for the kernels."""
    ia, tl = InterArrival(backend=backend), TrendlineEstimator(backend=backend)
    if backend == "compiled":
        arrays = [(np.array(arrival), np.array(send)) for arrival, send in batches]
        t0 = time.perf_counter()
        for arrival_ms, send_ms in arrays:
            tl.update_all(ia.group_deltas(arrival_ms, send_ms))
    else:
        t0 = time.perf_counter()
        for arrival, send in batches:
            for delta in ia.packets(zip(arrival, send, strict=True)):
                tl.update(delta)
    return time.perf_counter() - t0


def gcc_pass(backend: str, feed: list[PacketReports]) -> float:
    """Seconds for ``GccController.on_feedback`` over every report."""
    gcc = GccController(backend=backend)
    t0 = time.perf_counter()
    for k, report in enumerate(feed):
        gcc.on_feedback(report, (k + 1) * INTERVAL_MS)
    return time.perf_counter() - t0


def side_by_side(label: str, n: int, repeats: int, run: Callable[[str], float]) -> None:
    best = {"python": float("inf"), "compiled": float("inf")}
    for _ in range(repeats):
        for backend in best:
            best[backend] = min(best[backend], run(backend))
    ref, fast = (best[b] / n * 1e6 for b in ("python", "compiled"))
    print(f"{label:34s} python {ref:7.2f} us  compiled {fast:6.2f} us  x{ref / fast:5.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=4000, help="feedback reports per pass")
    parser.add_argument("--repeats", type=int, default=5, help="passes per backend (best shown)")
    args = parser.parse_args()
    feed = reports(args.reports, np.random.default_rng(0))
    batches = []
    for report in feed:
        d = report.delivered
        order = np.argsort(d.arrival_ms, kind="stable")
        batches.append(
            (np.array(d.arrival_ms)[order].tolist(), np.array(d.send_ms)[order].tolist())
        )
    t0 = time.perf_counter()
    gcc_pass("compiled", feed[:2])
    print(
        f"first compiled call (numba: cache load, or compilation): {time.perf_counter() - t0:.2f} s"
    )
    n_packets = sum(len(r) for r in feed)
    groups = InterArrival().group_deltas(
        [a for b in batches for a in b[0]], [s for b in batches for s in b[1]]
    )
    print(
        f"{args.reports} reports, {n_packets / args.reports:.1f} packets and "
        f"{len(groups) / args.reports:.1f} groups per report; per report, best of {args.repeats}:"
    )
    side_by_side(
        "InterArrival + TrendlineEstimator", args.reports, args.repeats,
        lambda b: detector_pass(b, batches),
    )  # fmt: skip
    side_by_side(
        "GccController.on_feedback", args.reports, args.repeats, lambda b: gcc_pass(b, feed)
    )


if __name__ == "__main__":
    main()
