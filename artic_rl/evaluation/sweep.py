"""Several ``evaluate.py`` runs side by side (``artic-rl sweep-table RUN_OR_SWEEP_DIR ...``).

Each run folder holds ``config.yaml`` and ``summary.json``; a sweep folder holds numbered run
folders. The table has one row per run and agent: the run's trace set (``traces.dir`` or the
preset), the swept value (``--x``, a dotted config key such as ``env.kwargs.loss_rate``), the agent
and its receiver, accuracy, response and frame latency with the paired difference from the
reference agent and its 95 % CI, and where the latency goes. ``--plot`` draws accuracy and
response latency against the swept value, one panel per trace set, one line per agent;
``--delta`` draws instead each agent's paired difference from the reference (accuracy, response
latency, the paper's frame latency) with its 95 % CI as error bars. ``--group KEY`` (repeatable)
splits the trace sets by further config keys (a loss rate beside a swept capacity scale),
``--hue KEY`` draws the runs that differ in one more config key as lines of the same panel (the
rate ceiling ``env.kwargs.max_rate_kbps``: one line style per value), ``--agents`` keeps only the
named agents' lines, and ``--logx`` puts the swept value on a log axis.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from artic_rl.errors import ArticError
from artic_rl.evaluation.plots import pyplot


def find_runs(paths: list[Path]) -> list[Path]:
    """Run folders (holding summary.json) among ``paths`` and their immediate subfolders."""
    runs = []
    for path in paths:
        if (path / "summary.json").is_file():
            runs.append(path)
            continue
        found = sorted(p for p in path.iterdir() if (p / "summary.json").is_file())
        if not found:
            raise ArticError(f"{path}: no evaluate.py run (summary.json) here or one level down")
        runs += found
    return runs


def dotted(doc: dict[str, Any], key: str) -> Any:
    """``doc["a"]["b"]`` for ``key`` ``a.b`` (None when absent)."""
    node: Any = doc
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def trace_set(config: dict[str, Any], group: tuple[str, ...] = ()) -> str:
    """What the run's traces were: the folder's name (with its parent's, ``walking/5g``), or
    ``<preset> <split>``; then ``key=value`` for each ``group`` key (its last dotted part) that
    the run's config sets (an ``agent_kwargs`` override only some runs have)."""
    folder = dotted(config, "env.kwargs.traces_dir")
    if folder:
        paths = [Path(str(f)) for f in ([folder] if isinstance(folder, str) else folder)]
        label = "+".join(f"{p.parent.name}/{p.name}" if p.parent.name else p.name for p in paths)
    else:
        label = f"{dotted(config, 'env.kwargs.preset')} {dotted(config, 'env.kwargs.split')}"
    for key in group:
        value = dotted(config, key)
        if value is not None:
            label += f", {key.rsplit('.', 1)[-1]}={value}"
    return label


def load_rows(
    runs: list[Path], x: str, group: tuple[str, ...] = (), hue: str | None = None
) -> list[dict[str, Any]]:
    """One row per run and agent; ``hue``: the config key whose value (``hue``, as
    ``name=value``) tells apart runs drawn in the same panel."""
    import yaml

    rows = []
    for run in runs:
        config = yaml.safe_load((run / "config.yaml").read_text())
        summary = json.loads((run / "summary.json").read_text())
        reference = str(dotted(config, "eval.reference"))
        for agent, s in summary.items():
            vs = s.get(f"vs_{reference}", {})
            value = None if hue is None else dotted(config, hue)
            rows.append(
                {
                    "hue": None if hue is None else f"{hue.rsplit('.', 1)[-1]}={value}",
                    "hue_order": _order(value),
                    "traces": trace_set(config, group),
                    "x": dotted(config, x),
                    "agent": agent,
                    "reference": reference,
                    "episodes": int(s["episodes"]),
                    "summary": s,
                    "vs": vs,
                }
            )
    return sorted(rows, key=lambda r: (r["traces"], r["hue_order"], float(r["x"] or 0)))


def _order(value: Any) -> tuple[float, str]:
    """Sort key of a config value: numbers by value (4000 before 32000), then the rest by text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value), ""
    return math.inf, str(value)


def _ci(vs: dict[str, Any], metric: str) -> str:
    d = vs.get(metric)
    if not d:
        return "—"
    return f"{d['diff']:+.1f} [{d['ci_low']:+.1f}, {d['ci_high']:+.1f}]"


def markdown(rows: list[dict[str, Any]], x: str) -> str:
    head = [
        "traces",
        x.rsplit(".", 1)[-1],
        "agent",
        "receiver",
        "accuracy %",
        "response latency ms",
        "frame latency ms",
        "Δacc (pp)",
        "Δresponse (ms)",
        "Δframe (ms)",
        "rtx wait ms/frame",
        "jitter hold ms/frame",
        "frozen s/episode",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        s, vs = r["summary"], r["vs"]
        frozen = s.get("frozen_ms", math.nan) / 1000.0
        cells = [
            r["traces"] if r.get("hue") is None else f"{r['traces']}, {r['hue']}",
            str(r["x"]),
            r["agent"],
            str(s.get("receiver", "—")),
            f"{s['accuracy_pct']:.1f}",
            f"{s['latency_mean_ms']:.0f}",
            f"{s['frame_latency_ms']:.0f}",
            _ci(vs, "accuracy_pct"),
            _ci(vs, "latency_mean_ms"),
            _ci(vs, "frame_latency_ms"),
            f"{s.get('retransmission_wait_ms', math.nan):.1f}",
            f"{s.get('jitter_hold_ms', math.nan):.1f}",
            f"{frozen:.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict[str, Any]], x: str, path: Path) -> None:
    """Accuracy (top) and mean response latency (bottom) against ``x``, a column per trace set."""
    plt = pyplot()

    sets = list(dict.fromkeys(r["traces"] for r in rows))
    agents = list(dict.fromkeys(r["agent"] for r in rows))
    fig, axes = plt.subplots(2, len(sets), figsize=(4.2 * len(sets), 6), squeeze=False)
    for col, name in enumerate(sets):
        for agent in agents:
            pts = [
                (float(r["x"]), r["summary"])
                for r in rows
                if (r["traces"], r["agent"]) == (name, agent)
            ]
            if not pts:
                continue
            xs = [p[0] for p in pts]
            style = "--" if "@" in agent else "-"
            axes[0][col].plot(
                xs, [p[1]["accuracy_pct"] for p in pts], style, marker="o", label=agent
            )
            axes[1][col].plot(
                xs, [p[1]["latency_mean_ms"] for p in pts], style, marker="o", label=agent
            )
        axes[0][col].set_title(name)
        axes[1][col].set_xlabel(x.rsplit(".", 1)[-1])
    axes[0][0].set_ylabel("question accuracy (%)")
    axes[1][0].set_ylabel("mean response latency (ms)")
    for ax in axes.flat:
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


DELTAS = (
    ("accuracy_pct", "Δ accuracy (pp)"),
    ("latency_mean_ms", "Δ response latency (ms)"),
    ("frame_latency_ms", "Δ frame latency (ms)"),
)
"""The paired differences ``--delta`` draws, top to bottom."""


def plot_delta(rows: list[dict[str, Any]], x: str, path: Path, logx: bool = False) -> None:
    """Each agent's paired difference from the reference against ``x``, with 95 % CIs.

    One row of panels per metric of :data:`DELTAS`, one column per trace set, one line per
    agent other than the reference (and per ``hue`` value of :func:`load_rows`, one line style
    each, the agent's colour); the error bars are the paired-bootstrap CIs of
    ``summary.json``. Points of an agent that has no difference for a metric are left out.
    """
    plt = pyplot()

    sets = list(dict.fromkeys(r["traces"] for r in rows))
    agents = list(dict.fromkeys(r["agent"] for r in rows if r["agent"] != r["reference"]))
    hues = list(dict.fromkeys(r.get("hue") for r in rows))
    references = sorted({r["reference"] for r in rows})
    fig, axes = plt.subplots(
        len(DELTAS), len(sets), figsize=(4.4 * len(sets), 2.6 * len(DELTAS)), squeeze=False
    )
    for col, name in enumerate(sets):
        for k, agent in enumerate(agents):
            for h, hue in enumerate(hues):
                style = HUE_STYLES[h % len(HUE_STYLES)] if len(hues) > 1 else "-"
                if len(hues) == 1 and "@" in agent:
                    style = "--"
                label = agent if hue is None else f"{agent}, {hue}"
                line = (name, agent, hue)
                _delta_line(axes, col, rows, line, style, f"C{k}", label)
        for row in range(len(DELTAS)):
            ax = axes[row][col]
            ax.axhline(0.0, color="0.3", linewidth=0.8)
            if logx:
                ax.set_xscale("log")
            ax.grid(alpha=0.3)
        axes[0][col].set_title(name)
        axes[-1][col].set_xlabel(x.rsplit(".", 1)[-1])
    for row, (_, label) in enumerate(DELTAS):
        axes[row][0].set_ylabel(f"{label}\nvs {', '.join(references)}")
    legend: dict[str, Any] = {}  # every agent once, whichever panel drew it
    for ax in axes[0]:
        for handle, name in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(name, handle)
    axes[0][-1].legend(list(legend.values()), list(legend), fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


HUE_STYLES = ("-", "--", ":", "-.")
"""Line styles of the ``--hue`` values, in the order the runs bring them."""


def _delta_line(
    axes: Any,
    col: int,
    rows: list[dict[str, Any]],
    line: tuple[str, str, str | None],
    style: str,
    color: str,
    label: str,
) -> None:
    """One agent's (trace set, agent, hue) paired differences in column ``col``, a panel per
    metric of :data:`DELTAS`; points without a difference are left out."""
    for row, (metric, _) in enumerate(DELTAS):
        pts = sorted(
            (float(r["x"]), r["vs"][metric])
            for r in rows
            if (r["traces"], r["agent"], r.get("hue")) == line and metric in r["vs"]
        )
        if not pts:
            continue
        err = [  # a percentile CI need not hold the mean: clip the bars at the point
            [max(0.0, p[1]["diff"] - p[1]["ci_low"]) for p in pts],
            [max(0.0, p[1]["ci_high"] - p[1]["diff"]) for p in pts],
        ]
        axes[row][col].errorbar(
            [p[0] for p in pts],
            [p[1]["diff"] for p in pts],
            yerr=err,
            fmt=style,
            marker="o",
            markersize=4,
            capsize=3,
            color=color,
            label=label,
        )


def register(sub: Any) -> None:
    p = sub.add_parser(
        "sweep-table",
        help="several evaluate.py runs side by side: a markdown table and a plot",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("runs", nargs="+", type=Path, help="evaluate.py run or sweep folders")
    p.add_argument("--x", default="env.kwargs.loss_rate", help="the swept config key")
    p.add_argument("--plot", type=Path, help="also draw accuracy and latency against --x here")
    p.add_argument("--out", type=Path, help="also write the table here (markdown)")
    p.add_argument(
        "--delta",
        action="store_true",
        help="the plot shows each agent's paired difference from the reference, with 95%% CIs",
    )
    p.add_argument(
        "--group",
        action="append",
        default=[],
        help="a further config key that splits the trace sets (repeatable)",
    )
    p.add_argument(
        "--hue", help="a config key whose values are drawn as lines of the same panel (--delta)"
    )
    p.add_argument(
        "--agents", help="comma-separated agents to keep (the reference's row stays in the table)"
    )
    p.add_argument("--logx", action="store_true", help="a log axis for --x in the plot")
    p.set_defaults(func=_cmd)


def _cmd(args: argparse.Namespace) -> int:
    for path in args.runs:
        if not path.is_dir():
            raise ArticError(f"{path}: no such folder")
    rows = load_rows(find_runs(args.runs), args.x, tuple(args.group), args.hue)
    if args.agents:
        keep = set(args.agents.split(","))
        rows = [r for r in rows if r["agent"] in keep or r["agent"] == r["reference"]]
    table = markdown(rows, args.x)
    print(table)
    if args.out is not None:
        args.out.write_text(table)
    if args.plot is not None:
        if args.delta:
            plot_delta(rows, args.x, args.plot, logx=args.logx)
        else:
            plot(rows, args.x, args.plot)
        print(f"wrote {args.plot}")
    return 0
