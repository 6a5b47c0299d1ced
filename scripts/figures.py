"""Regenerate the figures in docs/img/ from the evaluate.py runs they show (``make figures``).

Each entry of :data:`RUNS` is one ``evaluate.py`` command (printed as it starts); its run folder is
``outputs/figures/<name>/``. A folder that already holds a ``summary.json`` is reused, so an
interrupted ``make figures`` resumes and ``--draw-only`` redraws without evaluating; ``--fresh``
runs every evaluation again. The evaluations are the ones docs/results.md reports (30 paired
60-second episodes per agent: tens of CPU-minutes in all); the ``mahimahi`` run needs the real
uplinks in ../shared/data (skipped when absent).

Writes, from the ``lte`` run: ``accuracy_latency_lte.png`` (the README's figure: every agent on
the accuracy-latency plane, response latency and the paper's frame latency), ``lte_latency_cdf.png``,
``lte_accuracy_vs_bitrate.png``, ``lte_timeline.png`` (evaluate.py's own plots); from the
``mahimahi`` run: ``accuracy_latency_mahimahi.png`` and ``mahimahi_latency_cdf.png``. Each run
folder also gets ``headline_table.md``, the README's table (accuracy, both latencies, bitrate,
reward and the paired differences from ``gcc``).

    python scripts/figures.py                 # evaluate what is missing, then draw
    python scripts/figures.py --draw-only     # draw from the runs in outputs/figures/
    python scripts/figures.py --fresh         # evaluate everything again
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "docs" / "img"
SHARED_UPLINKS = ROOT.parent / "shared" / "data" / "traces" / "mahimahi"
AGENTS = "agents=[fixed,fixed_roi,random,gcc,rate,mpc,recap,artic,oracle,ppo]"
COMMON = [AGENTS, "eval.episodes=30", "eval.headline=[ppo,gcc]"]

# name -> (evaluate.py overrides, a path the run needs, or None)
RUNS: dict[str, tuple[list[str], Path | None]] = {
    "lte": (["env=lte", *COMMON], None),
    "mahimahi": (
        ["env=lte", "traces.dir=../shared/data/traces/mahimahi", *COMMON],
        SHARED_UPLINKS,
    ),
}
# run name -> {file evaluate.py wrote: name in docs/img}
COPIES = {
    "lte": {
        "latency_cdf.png": "lte_latency_cdf.png",
        "accuracy_vs_bitrate.png": "lte_accuracy_vs_bitrate.png",
        "timeline.png": "lte_timeline.png",
    },
    "mahimahi": {"latency_cdf.png": "mahimahi_latency_cdf.png"},
}
TITLES = {"lte": "lte test traces", "mahimahi": "real Mahimahi cellular uplinks"}


def evaluate(name: str, overrides: list[str], run_dir: Path) -> None:
    """Run ``python evaluate.py OVERRIDES`` into ``run_dir``; exit on failure."""
    cmd = [sys.executable, "evaluate.py", *overrides, f"hydra.run.dir={run_dir}"]
    print(f"[{name}] python evaluate.py {shlex.join(overrides)}", flush=True)
    if subprocess.run(cmd, cwd=ROOT).returncode != 0:
        sys.exit(f"figures.py: error: the {name} evaluation failed (log: {run_dir}/evaluate.log)")


def plot_accuracy_latency(summary: dict[str, dict[str, Any]], title: str, path: Path) -> None:
    """Every agent on the accuracy-latency plane: mean response latency (left) and the Artic
    paper's frame latency (right) against accuracy; marker by receiver, the learned policy in red,
    the Pareto front of each panel in green."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    panels = (
        ("latency_mean_ms", "mean response latency (ms): question -> answer"),
        ("frame_latency_ms", "mean frame latency (ms): the paper's metric"),
    )
    for ax, (key, label) in zip(axes, panels, strict=True):
        points = []
        for agent, row in summary.items():
            receiver = row.get("receiver", "artic")
            learned = agent.split("@")[0] == "ppo"
            x, y = row[key], row["accuracy_pct"]
            ax.scatter(
                x,
                y,
                marker="o" if receiver == "artic" else "s",
                s=70 if learned else 40,
                color="tab:red" if learned else "tab:blue" if receiver == "artic" else "tab:gray",
                zorder=3,
            )
            points.append((agent, x, y))
        front = pareto_front([(x, y) for _, x, y in points])
        ax.step(*zip(*front, strict=True), where="post", color="tab:green", alpha=0.6, zorder=2)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(label)
        ax.grid(True, which="both", alpha=0.3)
        label_points(ax, points)
    axes[0].set_ylabel("accuracy (%)")
    handles = [
        plt.Line2D([], [], marker="o", ls="", color="tab:blue", label="receiver: artic"),
        plt.Line2D([], [], marker="s", ls="", color="tab:gray", label="receiver: webrtc"),
        plt.Line2D([], [], marker="o", ls="", color="tab:red", label="learned policy (ppo)"),
        plt.Line2D([], [], color="tab:green", alpha=0.6, label="Pareto front"),
    ]
    axes[0].legend(handles=handles, loc="lower right", fontsize=8)
    fig.suptitle(f"accuracy against latency, {title} (up and left is better)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The (latency, accuracy) points no other point beats on both (lower latency, higher
    accuracy), by increasing latency."""
    front: list[tuple[float, float]] = []
    for x, y in sorted(points, key=lambda p: (p[0], -p[1])):
        if not front or y > front[-1][1]:
            front.append((x, y))
    return front


def headline_table(summary: dict[str, dict[str, Any]], reference: str = "gcc") -> str:
    """The README's table: per agent accuracy, both latencies, bitrate, reward, and the paired
    differences from ``reference`` with their 95 % CIs (from ``summary.json``)."""

    def ci(d: dict[str, float], fmt: str) -> str:
        return f"{d['diff']:{fmt}} [{d['ci_low']:{fmt}}, {d['ci_high']:{fmt}}]"

    lines = [
        "| agent | receiver | accuracy % | response latency ms | frame latency ms | bitrate kbps "
        f"| reward | Δaccuracy vs {reference} (pp) | Δresponse latency (ms) | Δframe latency (ms) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for agent, row in summary.items():
        vs = row.get(f"vs_{reference}")
        cells = [
            f"**{agent}**" if agent.split("@")[0] == "ppo" else agent,
            str(row.get("receiver", "")),
            f"{row['accuracy_pct']:.1f}",
            f"{row['latency_mean_ms']:,.0f}",
            f"{row['frame_latency_ms']:,.0f}",
            f"{row['bitrate_kbps']:,.0f}",
            f"{row['reward']:.1f}",
        ]
        if vs:
            cells += [ci(vs["accuracy_pct"], "+.1f")]
            cells += [ci(vs[m], "+,.0f") for m in ("latency_mean_ms", "frame_latency_ms")]
        else:
            cells += ["—"] * 3
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def label_points(ax: Any, points: list[tuple[str, float, float]]) -> None:
    """Name each point beside it: the first of a few places (right, below right, left, below
    left, ...) where the label covers no other point and no label already placed."""
    ax.autoscale_view()
    xy = {name: tuple(ax.transData.transform((x, y))) for name, x, y in points}
    boxes: list[tuple[float, float, float, float]] = []  # placed labels, display coordinates
    places = [(6, 2), (6, -12), (-6, 2), (-6, -12), (6, 12), (-6, 12), (6, -22), (-6, -22)]
    for name, x, y in sorted(points, key=lambda p: -p[2]):
        px, py = xy[name]
        width = 5.5 * len(name)
        dots = [q for other, q in xy.items() if other != name]
        for dx, dy in places:
            x0 = px + dx if dx > 0 else px + dx - width
            box = (x0, py + dy, x0 + width, py + dy + 9)
            free = not any(
                box[0] < qx + 5 and qx - 5 < box[2] and box[1] < qy + 5 and qy - 5 < box[3]
                for qx, qy in dots
            ) and not any(
                box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in boxes
            )
            if free:
                break
        boxes.append(box)
        ax.annotate(name, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=8,
                    ha="left" if dx > 0 else "right")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "figures",
                        help="where the evaluate.py run folders live")  # fmt: skip
    parser.add_argument("--draw-only", action="store_true", help="evaluate nothing")
    parser.add_argument("--fresh", action="store_true", help="evaluate every run again")
    args = parser.parse_args(argv)
    IMG.mkdir(parents=True, exist_ok=True)
    for name, (overrides, needs) in RUNS.items():
        run_dir = args.out / name
        if needs is not None and not needs.exists():
            print(f"[{name}] skipped: {needs} not found")
            continue
        if args.fresh or not (run_dir / "summary.json").is_file():
            if args.draw_only:
                print(f"[{name}] skipped: no {run_dir / 'summary.json'}")
                continue
            if run_dir.exists():
                shutil.rmtree(run_dir)
            evaluate(name, overrides, run_dir)
        summary = json.loads((run_dir / "summary.json").read_text())
        target = IMG / f"accuracy_latency_{name}.png"
        plot_accuracy_latency(summary, TITLES[name], target)
        print(f"[{name}] wrote {target}")
        for src, dst in COPIES[name].items():
            shutil.copyfile(run_dir / src, IMG / dst)
            print(f"[{name}] wrote {IMG / dst} (from {run_dir / src})")
        table = run_dir / "headline_table.md"
        table.write_text(headline_table(summary))
        print(f"[{name}] tables: {table}, {run_dir / 'summary.md'}, {run_dir / 'per_trace.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
