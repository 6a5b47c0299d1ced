"""What each world sends against its agent's target bitrate, per fidelity cell.

The sender's first observation feature is the rate it sent over the last control interval
(``artic_rl.sender.observation``, feature 0, ``log_rate``); each session's report keeps the
stream's and the simulator's observations and targets side by side. This prints, per trace and
agent, the bytes sent over the bytes targeted in both worlds, pooled over the sessions of every
sweep given (``artic-rl fidelity --out`` folders, or their ``seed-N`` folders)::

    python scripts/sent_vs_target.py outputs/fidelity

and the same split by when the interval falls: within ``--after-s`` (2 s) of the target's last
rise, of its last drop, or later (held). The simulator sends its codec profile's frame sizes,
measured at held bitrates, from the first frame at a new target; the streamer's x264 reaches a new
target over seconds. Where the reports hold the open-loop replay's bitrate (``artic-rl fidelity``
writes it), the last column is the stream's bytes over the simulator's on the stream's own
decisions: the encoder against the codec profile, without either closed loop.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from pathlib import Path

from artic_rl.sender.actions import MAX_RATE_KBPS, MIN_RATE_KBPS

PHASES = ("rise", "drop", "held")  # and "start": before the target first changes (not printed)


def sent_kbps(feature: float) -> float:
    """Feature 0 (``log_rate``) back to kbps (its floor of 10 kbps reads as 10)."""
    return MIN_RATE_KBPS * math.exp(feature * math.log(MAX_RATE_KBPS / MIN_RATE_KBPS))


def phases(target: list[float], after: int) -> list[str]:
    """Each interval's phase: ``rise`` / ``drop`` within ``after`` intervals of the target's last
    change (the change's own interval counts), ``held`` after that, ``start`` before the first
    change (the session's first keyframe is there)."""
    out, last, kind = [], -1, "start"
    for i, t in enumerate(target):
        if i and t != target[i - 1]:
            last, kind = i, "rise" if t > target[i - 1] else "drop"
        out.append("start" if last < 0 else kind if i - last < after else "held")
    return out


def sums(obs: list, target: list[float], after: int) -> dict[str, tuple[float, float]]:
    """Per phase and ``all``: (kbps sent, kbps targeted) summed over intervals, each interval
    against the target set at the start of it (its sent rate is the next observation's)."""
    n = min(len(obs), len(target) + 1)
    out = {k: (0.0, 0.0) for k in (*PHASES, "start", "all")}
    for i, phase in enumerate(phases(target[: n - 1], after)):
        sent = sent_kbps(obs[i + 1][0])
        for key in (phase, "all"):
            s, t = out[key]
            out[key] = (s + sent, t + target[i])
    return out


def worlds(report: dict, after: int) -> tuple[dict, dict]:
    """(stream, simulator) :func:`sums` of one session's report."""
    stream_target = [d["rate_kbps"] for d in report["bitrate"]["decisions"]]
    sim = report["fidelity"]["simulator"]
    sim_target = [a[0] if isinstance(a, list) else a for a in sim["actions"]]
    return (
        sums(report["observations"], stream_target, after),
        sums(sim["observations"], sim_target, after),
    )


def _ratio(rows: list[dict], key: str) -> str:
    sent, target = sum(r[key][0] for r in rows), sum(r[key][1] for r in rows)
    return f"{sent / target:.2f}" if target > 0 else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("sweeps", type=Path, nargs="+", help="artic-rl fidelity --out folders")
    ap.add_argument(
        "--after-s", type=float, default=2.0, help="how long after a change counts as its phase"
    )
    args = ap.parse_args()
    if not args.after_s > 0:
        ap.error(f"--after-s must be > 0 s, got {args.after_s}")
    cells: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for sweep in args.sweeps:
        for path in sorted(sweep.glob("**/runs/*/report.json")):
            try:
                report = json.loads(path.read_text())
            except (OSError, ValueError) as err:
                ap.error(f"{path}: not a readable report: {err}")
            if "fidelity" not in report:
                continue
            interval_ms = report.get("settings", {}).get("interval_ms", 200.0)
            stream, sim = worlds(report, max(1, round(args.after_s * 1000.0 / interval_ms)))
            cell = cells[path.parent.name.split("-", 1)[1]]
            cell["stream"].append(stream)
            cell["sim"].append(sim)
            replayed = report["fidelity"].get("replayed", {}).get("bitrate_kbps")
            if replayed:
                cell["replay"].append(
                    {"all": (report["bitrate"]["sent_kbps"], replayed)}  # stream over replayed
                )
    if not cells:
        ap.error(f"no fidelity reports under {' '.join(map(str, args.sweeps))}")
    after = f"{args.after_s:g} s"
    print(
        f"| cell | sessions | sent / target, streamed / simulated | within {after} of a rise | "
        f"within {after} of a drop | held | streamed / replayed |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, cell in cells.items():
        st, sim = cell["stream"], cell["sim"]
        cols = [f"{_ratio(st, k)} / {_ratio(sim, k)}" for k in ("all", *PHASES)]
        replay = _ratio(cell["replay"], "all") if len(cell["replay"]) == len(st) else "-"
        print(f"| {name} | {len(st)} | {' | '.join(cols)} | {replay} |")


if __name__ == "__main__":
    main()
