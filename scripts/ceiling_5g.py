"""The tables of GCC's ceiling on the 5G page: ``artic`` against ``gcc`` at GCC's 4 and 32 Mbps
ceilings, and ``gcc`` at 32 Mbps against itself at 4 Mbps.

Reads ``evaluate.py -m`` sweeps over ``env.kwargs.max_rate_kbps=4000,32000`` and
``env.kwargs.capacity_scale`` (runs with ``gcc`` and ``artic``; ``agent_kwargs.gcc.start_kbps``,
where a run sets it, names its trace set apart). Prints two markdown tables, one row per trace
set and capacity scale:

1. GCC's mean and peak bitrate (5-step moving average) and accuracy at 4 → 32 Mbps, ``artic``'s
   accuracy, and ``artic`` − ``gcc`` in accuracy, mean response latency and frame latency at each
   ceiling, with the run's own paired CIs (``summary.json``);
2. ``gcc`` at 32 Mbps − ``gcc`` at 4 Mbps in the same three metrics, paired by episode across the
   two runs of a scale (1,000 resamples, seed 0)::

    python scripts/ceiling_5g.py /tmp/h17c/ceiling_5g /tmp/h17c/ceiling_real /tmp/h17c/ceiling_outages
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from artic_rl.evaluation.paired import paired_bootstrap_ci, pooled_metrics
from artic_rl.evaluation.rollout import EpisodeResult
from artic_rl.evaluation.sweep import trace_set

CEILINGS_KBPS = (4000, 32000)
METRICS = ("accuracy_pct", "latency_mean_ms", "frame_latency_ms")
Key = tuple[str, float, int]  # trace set, capacity scale, GCC's ceiling


def load(sweeps: list[Path]) -> tuple[dict[Key, dict[str, list[EpisodeResult]]], dict[Key, Any]]:
    """Each run's episodes per agent and its summary, by (trace set, scale, ceiling)."""
    runs: dict[Key, dict[str, list[EpisodeResult]]] = {}
    summaries: dict[Key, Any] = {}
    for sweep in sweeps:
        found = sorted(p for p in sweep.iterdir() if (p / "episodes.json").is_file())
        if not found:
            raise ValueError(f"{sweep}: no runs (no */episodes.json)")
        for run in found:
            try:
                cfg = yaml.safe_load((run / "config.yaml").read_text())
                kw = cfg["env"]["kwargs"]
                key = (
                    trace_set(cfg, ("agent_kwargs.gcc.start_kbps",)),
                    float(kw["capacity_scale"]),
                    int(kw["max_rate_kbps"]),
                )
                eps = json.loads((run / "episodes.json").read_text())
                runs[key] = {a: [EpisodeResult(**e) for e in es] for a, es in eps.items()}
                summaries[key] = json.loads((run / "summary.json").read_text())
            except (OSError, KeyError, TypeError, json.JSONDecodeError, yaml.YAMLError) as exc:
                what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
                raise ValueError(f"{run}: {what}") from exc
    return runs, summaries


def _ci(diff: float, low: float, high: float) -> str:
    return f"{diff:+.1f} [{low:+.1f}, {high:+.1f}]"


def tables(runs: dict[Key, dict[str, list[EpisodeResult]]], summaries: dict[Key, Any]) -> list[str]:
    """The two tables' rows (a blank line between them)."""
    order = sorted({k[:2] for k in runs}, key=lambda k: (k[0], -k[1]))
    for t, x in order:
        for ceiling in CEILINGS_KBPS:
            if (t, x, ceiling) not in runs:
                raise ValueError(f"{t}, capacity scale {x:g}: no run at max_rate_kbps={ceiling}")
            if not {"gcc", "artic"} <= set(runs[(t, x, ceiling)]):
                raise ValueError(f"{t}, capacity scale {x:g}, {ceiling} kbps: needs gcc and artic")
    rows = []
    for t, x in order:
        lo, hi = (t, x, CEILINGS_KBPS[0]), (t, x, CEILINGS_KBPS[1])
        g = [pooled_metrics(runs[k]["gcc"]) for k in (lo, hi)]
        peak = [
            max(np.convolve(e.bitrate_kbps, np.ones(5) / 5, "valid").max() for e in runs[k]["gcc"])
            for k in (lo, hi)
        ]
        acc = pooled_metrics(runs[lo]["artic"])["accuracy_pct"]
        cells = [
            f"{g[0]['bitrate_kbps']:.0f} → {g[1]['bitrate_kbps']:.0f}",
            f"{peak[0]:.0f} → {peak[1]:.0f}",
            f"{g[0]['accuracy_pct']:.1f} → {g[1]['accuracy_pct']:.1f}",
            f"{acc:.1f}",
        ]
        for metric in METRICS:
            for k in (lo, hi):
                d = summaries[k]["artic"]["vs_gcc"][metric]
                cells.append(_ci(d["diff"], d["ci_low"], d["ci_high"]))
        rows.append(f"| {t} | {x:g} | " + " | ".join(cells) + " |")
    rows.append("")
    for t, x in order:
        hi_eps, lo_eps = (
            runs[(t, x, CEILINGS_KBPS[1])]["gcc"],
            runs[(t, x, CEILINGS_KBPS[0])]["gcc"],
        )
        cells = [
            _ci(*paired_bootstrap_ci(hi_eps, lo_eps, m, 1000, np.random.default_rng(0)))
            for m in METRICS
        ]
        rows.append(f"| {t} | {x:g} | " + " | ".join(cells) + " |")
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("sweeps", type=Path, nargs="+", help="evaluate.py -m sweep folders")
    args = ap.parse_args(argv)
    for sweep in args.sweeps:
        if not sweep.is_dir():
            ap.error(f"{sweep}: not a folder")
    try:
        print("\n".join(tables(*load(args.sweeps))))
    except (ValueError, KeyError) as exc:  # a summary without artic's comparison to gcc
        ap.error(str(exc) if not isinstance(exc, KeyError) else f"a summary lacks the key {exc}")


if __name__ == "__main__":
    main()
