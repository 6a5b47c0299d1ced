"""The library behind ``python export.py``: unpack the config, export, print the figures."""

from __future__ import annotations

import json
from pathlib import Path

from omegaconf import DictConfig

from artic_rl.errors import ConfigError, check
from artic_rl.runtime.export import PARITY_SEQUENCE_STEPS, ExportResult, export_policy

GOAL_P99_US = 100.0
GOAL_SIZE_BYTES = 1 << 20


def validate_export(cfg: DictConfig) -> None:
    """Everything ``export.py`` can check before any work (raises an ArticError naming the key)."""
    from artic_rl.agents.ppo import MODEL_FILE, ObsNorm

    policy = Path(str(cfg.policy))
    check(policy.is_dir(), "policy", f"{policy}: not a policy folder (model.zip + obs_norm.npz)")
    check(
        (policy / MODEL_FILE).is_file(),
        "policy",
        f"{policy}: no {MODEL_FILE} (a run folder or policies/<preset>)",
    )
    try:
        ObsNorm.load(policy)
    except (FileNotFoundError, OSError, ValueError, KeyError) as err:
        raise ConfigError("policy", f"{policy}: normalisation: {err}") from None
    try:
        import zipfile

        with zipfile.ZipFile(policy / MODEL_FILE) as zf:
            check(
                "policy.pth" in zf.namelist(), "policy", f"{policy / MODEL_FILE}: not an SB3 model"
            )
    except zipfile.BadZipFile:
        raise ConfigError(
            "policy", f"{policy / MODEL_FILE}: not an SB3 model (not a zip file)"
        ) from None
    out = Path(str(cfg.out))
    check(out.suffix == ".onnx", "out", f"{out}: the file name must end in .onnx")
    check(not out.is_dir(), "out", f"{out}: is a directory")
    check(int(cfg.parity_n) >= 1, "parity_n", "must be >= 1 (parity is required)")
    check(int(cfg.bench_runs) >= 0, "bench_runs", "must be >= 0")


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
    if "max_state_diff" in result.parity:
        print(
            f"recurrent: compared over sequences of {PARITY_SEQUENCE_STEPS} steps, the LSTM state "
            f"carried by both; max state diff {result.parity['max_state_diff']:.2e}"
        )
    if lat:
        print(
            f"onnxruntime, 1 thread: p50 {lat['p50_us']:.1f} us, p99 {lat['p99_us']:.1f} us "
            f"(goal p99 < {GOAL_P99_US:.0f} us)"
        )
    return result
