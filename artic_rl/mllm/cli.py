"""``artic-rl accuracy`` (fit, curve) and ``artic-rl devibench``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from artic_rl.errors import InputError

ARTIC_TIERS_KBPS = "200,400,610,910,1710,3150"


def parse_kbps_list(text: str) -> list[float]:
    """``"200,400,610"`` -> [200.0, 400.0, 610.0]; loud on anything else."""
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError as err:
        raise InputError(f"--kbps expects comma-separated numbers, got {text!r}") from err
    if not values or any(v <= 0 for v in values):
        raise InputError(f"--kbps expects positive numbers, got {text!r}")
    return values


def _cmd_curve(args: argparse.Namespace) -> int:
    from artic_rl.mllm.accuracy import load_accuracy_model

    model = load_accuracy_model(args.model)
    kbps = np.array(parse_kbps_list(args.kbps))
    result = model.table(kbps, threshold=args.threshold)
    out = {
        "model": args.model,
        "questions": len(model.curves),
        "threshold": args.threshold,
        "kbps": result["kbps"],
        "mean_accuracy": [round(v, 4) for v in result["mean"]],
        "share_at_threshold": [round(v, 4) for v in result["share_at_threshold"]],
    }
    print(json.dumps(out))
    return 0


def _cmd_fit(args: argparse.Namespace) -> int:
    from artic_rl.mllm.fit import category_mix, fit_params, load_confidence_csv, save_params

    table = load_confidence_csv(args.confidence)
    mix = category_mix(args.devibench)
    source = (
        "fitted by `artic-rl accuracy fit` to the Artic authors' confidence.csv "
        "(github.com/pku-netvideo/Artic, Apache-2.0); category mix counted from "
        "DeViBench datasets.csv (MIT)"
    )
    doc = fit_params(table, mix, args.name, source)
    save_params(doc, args.out)
    print(f"wrote {len(doc['curves'])} curves to {args.out}", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``accuracy`` and ``devibench`` to the ``artic-rl`` dispatcher."""
    acc = subparsers.add_parser(
        "accuracy",
        help="MLLM accuracy models: fit, inspect curves",
        description="Accuracy models of the simulator: per-question saturation curves.",
    )
    acc_sub = acc.add_subparsers(dest="accuracy_command", metavar="ACTION", required=True)
    curve = acc_sub.add_parser(
        "curve",
        help="per-tier mean accuracy and share >= threshold, as JSON",
        description="Evaluate every fitted curve of a model at uniform bitrates; print JSON.",
    )
    curve.add_argument("--model", default="artic", help="artic, ocr, or a parameter .json")
    curve.add_argument("--kbps", default=ARTIC_TIERS_KBPS, help="comma-separated bitrates")
    curve.add_argument("--threshold", type=float, default=0.8, help="share counted at >= this")
    curve.set_defaults(func=_cmd_curve)
    fit = acc_sub.add_parser(
        "fit",
        help="fit per-question curves to a confidence table",
        description="Fit saturation curves to confidence.csv and write the parameter JSON.",
    )
    fit.add_argument("--confidence", type=Path, required=True, help="the authors' confidence.csv")
    fit.add_argument("--devibench", type=Path, required=True, help="DeViBench datasets.csv")
    fit.add_argument("--out", type=Path, required=True, help="output parameter JSON")
    fit.add_argument("--name", default="artic", help="model name stored in the file")
    fit.set_defaults(func=_cmd_fit)
    from artic_rl.mllm.harness_cli import register_devibench

    register_devibench(subparsers)
