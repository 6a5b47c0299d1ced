"""What an evaluation writes and prints: tables, the headline, CSV / JSON / markdown files."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from artic_rl.evaluation.paired import BREAKDOWN, REWARD_TERMS, pareto_disagreements, per_trace
from artic_rl.evaluation.rollout import EpisodeResult

TABLE_COLUMNS: tuple[str, ...] = (
    "accuracy_pct",
    "latency_mean_ms",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "frame_delay_ms",
    "frame_latency_ms",
    "bitrate_kbps",
    "utilisation",
    "stale_share",
    "reward",
)


def headline(summary: dict[str, dict[str, Any]], system: str, baseline: str) -> str:
    """The authors' style: accuracy gain and mean-latency reduction of ``system`` over ``baseline``:
    response latency (question to answer, the project's measure) and, where the episodes carry it,
    the paper's own per-frame latency (``frame_latency_ms``)."""
    if system not in summary or baseline not in summary:
        return f"headline: needs both {system!r} and {baseline!r} among the agents"
    s, b = summary[system], summary[baseline]
    ci = s.get(f"vs_{baseline}", {})
    acc = ci.get("accuracy_pct", {})
    lat = ci.get("latency_mean_ms", {})
    rel = 100.0 * (s["accuracy_pct"] / b["accuracy_pct"] - 1.0) if b["accuracy_pct"] else math.nan

    def bracket(d: dict[str, float]) -> str:
        return f" [95% CI {d['ci_low']:+.2f}, {d['ci_high']:+.2f}]" if d else ""

    text = (
        f"{system} vs {baseline}: accuracy {s['accuracy_pct'] - b['accuracy_pct']:+.2f} pp"
        f"{bracket(acc)} ({rel:+.1f}% relative; {b['accuracy_pct']:.2f}% -> {s['accuracy_pct']:.2f}%), "
        f"mean latency {s['latency_mean_ms'] - b['latency_mean_ms']:+.2f} ms{bracket(lat)} "
        f"({b['latency_mean_ms']:.1f} -> {s['latency_mean_ms']:.1f} ms)"
    )
    fs, fb = s.get("frame_latency_ms", math.nan), b.get("frame_latency_ms", math.nan)
    if not (math.isnan(fs) or math.isnan(fb)):
        text += (
            f", frame latency (the paper's metric) {fs - fb:+.2f} ms"
            f"{bracket(ci.get('frame_latency_ms', {}))} ({fb:.1f} -> {fs:.1f} ms)"
        )
    return text


def markdown_table(summary: dict[str, dict[str, Any]], reference: str) -> str:
    """One row per agent; differences from the reference with their CI for accuracy and latency."""
    head = ["agent", "receiver", *TABLE_COLUMNS]
    head += [f"Δacc vs {reference} (pp)", f"Δlatency vs {reference} (ms)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, row in summary.items():
        cells = [name, str(row.get("receiver", "—"))] + [_fmt(row[c]) for c in TABLE_COLUMNS]
        vs = row.get(f"vs_{reference}")
        for m in ("accuracy_pct", "latency_mean_ms"):
            if vs is None:
                cells.append("—")
            else:
                d = vs[m]
                cells.append(f"{d['diff']:+.2f} [{d['ci_low']:+.2f}, {d['ci_high']:+.2f}]")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def pareto_check(summary: dict[str, dict[str, Any]]) -> str:
    """Whether the reward's ranking agrees with Pareto dominance on (accuracy, mean response
    latency) for every pair of agents in the table; the pairs where it does not."""
    pairs = pareto_disagreements(summary)
    if not pairs:
        return "Reward ranking agrees with Pareto dominance on (accuracy, response latency) for every pair."
    listed = "; ".join(
        f"{a} dominates {b} but scores {summary[a]['reward']:.2f} <= {summary[b]['reward']:.2f}"
        for a, b in pairs
    )
    return f"Reward ranking disagrees with Pareto dominance on {len(pairs)} pair(s): {listed}."


def latency_breakdown_table(summary: dict[str, dict[str, Any]]) -> str:
    """Per agent: its receiver and where its latency goes (mean per episode): the wait of a shown
    frame for retransmissions, its jitter-buffer hold, and the time frozen."""
    head = ["agent", "receiver", "retransmission wait (ms/frame)", "jitter hold (ms/frame)"]
    head.append("frozen (ms/episode)")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, row in summary.items():
        cells = [name, str(row.get("receiver", "—"))]
        cells += [_fmt(row.get(f"{k}_ms", math.nan)) for k in BREAKDOWN]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def reward_terms_table(summary: dict[str, dict[str, Any]]) -> str:
    """Where each agent's reward comes from: the mean per episode of each weighted term."""
    head = ["agent", *(f"{t}" for t in REWARD_TERMS), "reward"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, row in summary.items():
        cells = [name] + [_fmt(row.get(f"reward_{t}", math.nan)) for t in REWARD_TERMS]
        lines.append("| " + " | ".join([*cells, _fmt(row["reward"])]) + " |")
    return "\n".join(lines) + "\n"


def per_trace_table(table: dict[str, dict[str, dict[str, float]]]) -> str:
    """Agents as rows, traces as columns: ``reward (accuracy %, latency ms)``."""
    traces = sorted({t for rows in table.values() for t in rows})
    counts = {t: next(int(r[t]["episodes"]) for r in table.values() if t in r) for t in traces}
    head = ["agent", *(f"{t} (n={counts[t]})" for t in traces)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, rows in table.items():
        cells = [name]
        for t in traces:
            r = rows.get(t)
            cells.append(
                "—"
                if r is None
                else f"{_fmt(r['reward'])} ({r['accuracy_pct']:.1f}%, {r['latency_mean_ms']:.0f} ms)"
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _fmt(x: float) -> str:
    if isinstance(x, float) and math.isnan(x):
        return "—"
    return f"{x:.3f}" if abs(x) < 10 else f"{x:.1f}"


def write_outputs(
    run_dir: Path,
    results: dict[str, list[EpisodeResult]],
    summary: dict[str, dict[str, Any]],
    reference: str,
    headline_text: str,
) -> None:
    """``episodes.csv``, ``episodes.json``, ``summary.json``, ``summary.md``, ``headline.txt``,
    ``per_trace.json`` and ``per_trace.md``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    rows = [{"agent": n, **e.summary()} for n, eps in results.items() for e in eps]
    if rows:
        with (run_dir / "episodes.csv").open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    full = {n: [e.to_dict() for e in eps] for n, eps in results.items()}
    (run_dir / "episodes.json").write_text(json.dumps(full))
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    table = markdown_table(summary, reference)
    terms = "Reward terms, mean per episode:\n\n" + reward_terms_table(summary)
    where = "Where the latency goes:\n\n" + latency_breakdown_table(summary)
    text = "\n".join([table, terms, where, pareto_check(summary) + "\n", headline_text])
    (run_dir / "summary.md").write_text(text + "\n")
    (run_dir / "headline.txt").write_text(headline_text + "\n")
    traces = per_trace(results)
    (run_dir / "per_trace.json").write_text(json.dumps(traces, indent=2))
    (run_dir / "per_trace.md").write_text(
        "Per trace: reward (accuracy %, mean latency ms)\n\n" + per_trace_table(traces)
    )
