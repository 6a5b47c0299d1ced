"""The library behind ``python export.py``: unpack the config, export, print the figures."""

from __future__ import annotations

import json
from pathlib import Path

from omegaconf import DictConfig

from artic_rl.runtime.export import ExportResult, export_policy

GOAL_P99_US = 100.0
GOAL_SIZE_BYTES = 1 << 20


def export(cfg: DictConfig) -> ExportResult:
    """Export, print parity / latency / size against the goals, and leave ``export.json`` in the
    hydra output directory."""
    result = export_policy(
        policy=str(cfg.policy),
        out=str(cfg.out),
        preset=cfg.get("preset"),
        parity_n=int(cfg.parity_n),
        bench_runs=int(cfg.bench_runs),
        seed=int(cfg.seed),
    )
    summary = {
        "out": str(result.path),
        "size_bytes": result.size_bytes,
        "parity": result.parity,
        "latency": result.latency,
        "goals": {"p99_us": GOAL_P99_US, "size_bytes": GOAL_SIZE_BYTES},
    }
    try:
        from hydra.core.hydra_config import HydraConfig

        run_dir = Path(HydraConfig.get().runtime.output_dir)
        (run_dir / "export.json").write_text(json.dumps(summary, indent=2) + "\n")
    except ValueError:  # called outside @hydra.main (tests)
        pass
    lat = result.latency
    print(f"wrote {result.path} ({result.size_bytes / 1024:.1f} KiB, goal < 1024 KiB)")
    print(
        f"parity vs SB3: identical actions on {result.parity['identical']} of "
        f"{result.parity['observations']} observations, {result.parity['ties']} float32 ties, "
        f"{result.parity['mismatched']} mismatched; max logit diff {result.parity['max_logit_diff']:.2e}"
    )
    if lat:
        print(
            f"onnxruntime, 1 thread: p50 {lat['p50_us']:.1f} us, p99 {lat['p99_us']:.1f} us "
            f"(goal p99 < {GOAL_P99_US:.0f} us)"
        )
    return result
