"""What each world sends against its agent's target bitrate, per fidelity cell.

The sender's first observation feature is the rate it sent over the last control interval
(``artic_rl.sender.observation``, feature 0, ``log_rate``); each session's report keeps the
stream's and the simulator's observations and targets side by side. This prints, per trace and
agent, the bytes sent over the bytes targeted in both worlds, pooled over the sessions of every
sweep given (``artic-rl fidelity --out`` folders, or their ``seed-N`` folders)::

    python scripts/sent_vs_target.py outputs/fidelity

The streamer sends less than its target, the more so at a high ROI level; the simulator sends its
codec profile's frame sizes.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from pathlib import Path

from artic_rl.sender.actions import MAX_RATE_KBPS, MIN_RATE_KBPS


def sent_kbps(feature: float) -> float:
    """Feature 0 (``log_rate``) back to kbps (its floor of 10 kbps reads as 10)."""
    return MIN_RATE_KBPS * math.exp(feature * math.log(MAX_RATE_KBPS / MIN_RATE_KBPS))


def ratios(report: dict) -> tuple[float, float]:
    """(stream, simulator): kbps sent over kbps targeted, each interval against the target set
    at the start of it."""
    stream_obs = report["observations"]
    stream_target = [d["rate_kbps"] for d in report["bitrate"]["decisions"]]
    sim = report["fidelity"]["simulator"]
    sim_target = [a[0] if isinstance(a, list) else a for a in sim["actions"]]
    out = []
    for obs, target in ((stream_obs, stream_target), (sim["observations"], sim_target)):
        n = min(len(obs), len(target) + 1)
        sent = sum(sent_kbps(obs[i][0]) for i in range(1, n))
        out.append(sent / sum(target[: n - 1]))
    return out[0], out[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("sweeps", type=Path, nargs="+", help="artic-rl fidelity --out folders")
    args = ap.parse_args()
    cells: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for sweep in args.sweeps:
        for path in sorted(sweep.glob("**/runs/*/report.json")):
            report = json.loads(path.read_text())
            if "fidelity" not in report:
                continue
            cells[path.parent.name.split("-", 1)[1]].append(ratios(report))
    if not cells:
        ap.error(f"no fidelity reports under {' '.join(map(str, args.sweeps))}")
    print("| cell | sessions | sent / target, streamed | simulated |")
    print("|---|---|---|---|")
    for cell, rows in cells.items():
        stream = sum(r[0] for r in rows) / len(rows)
        sim = sum(r[1] for r in rows) / len(rows)
        print(f"| {cell} | {len(rows)} | {stream:.2f} | {sim:.2f} |")


if __name__ == "__main__":
    main()
