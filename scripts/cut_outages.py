"""Uplink traces with outages cut in: the real walking 5G runs as the Artic paper's example trace.

Each trace of ``SRC`` gets outages at the gaps of a Poisson process (one every ``--mean-gap-s``
seconds on average), each lasting a uniform ``--min-s`` to ``--max-s`` seconds: every delivery
opportunity inside one is removed. Nothing is fitted to a measurement. The traces are written in
Mahimahi format under ``DST`` (made if missing; keep it outside the project, e.g. under /tmp), one
``NAME.up`` per input, seeded so that the same call writes the same traces::

    python scripts/cut_outages.py ../shared/data/traces/mmwave-uplink/walking/5g /tmp/h5g/walking-5g-outages

The 5G page's regime map and GCC's ceiling read these (docs/results-5g.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from artic_rl.net import Trace, load_trace_dir, save_trace


def cut_outages(
    trace: Trace,
    rng: np.random.Generator,
    mean_gap_ms: float = 10_000.0,
    min_ms: float = 500.0,
    max_ms: float = 1_200.0,
) -> Trace:
    """``trace`` without the opportunities inside outages drawn from ``rng`` over one period."""
    opp = trace.opportunities_ms
    keep = np.ones(opp.size, dtype=bool)
    t = 0.0
    while True:
        t += rng.exponential(mean_gap_ms)
        if t >= trace.period_ms:
            break
        end = t + rng.uniform(min_ms, max_ms)
        keep &= ~((opp >= t) & (opp < end))
        t = end
    return Trace(trace.name, opp[keep], trace.period_ms)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("src", type=Path, help="a folder of uplink traces")
    ap.add_argument("dst", type=Path, help="where the traces with outages go (Mahimahi .up)")
    ap.add_argument("--mean-gap-s", type=float, default=10.0, help="mean time between outages (10)")
    ap.add_argument("--min-s", type=float, default=0.5, help="shortest outage (0.5)")
    ap.add_argument("--max-s", type=float, default=1.2, help="longest outage (1.2)")
    ap.add_argument("--seed", type=int, default=17, help="the outages' random seed (17)")
    args = ap.parse_args(argv)
    if not (args.mean_gap_s > 0 and 0 < args.min_s <= args.max_s):
        ap.error(
            f"--mean-gap-s {args.mean_gap_s}, --min-s {args.min_s}, --max-s {args.max_s}: "
            "need a positive gap and 0 < min <= max"
        )
    if not args.src.is_dir():
        ap.error(f"{args.src}: not a folder")
    try:
        traces = load_trace_dir(args.src)
    except (OSError, ValueError) as exc:
        ap.error(str(exc))
    if not traces:
        ap.error(f"{args.src}: no uplink traces")
    if args.dst.resolve() == args.src.resolve():
        ap.error(f"{args.dst}: the same folder as the source; write elsewhere")
    args.dst.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    for trace in traces:
        out = cut_outages(trace, rng, 1000 * args.mean_gap_s, 1000 * args.min_s, 1000 * args.max_s)
        save_trace(out, args.dst / f"{trace.name}.up")
        kept = out.opportunities_ms.size / max(trace.opportunities_ms.size, 1)
        print(f"{trace.name}: {100 * kept:.1f}% of the opportunities kept")


if __name__ == "__main__":
    main()
