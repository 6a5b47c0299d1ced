"""``artic-rl accuracy`` (fit, curve) and ``artic-rl devibench``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from artic_rl.errors import InputError

ARTIC_TIERS_KBPS = "200,400,610,910,1710,3150"
DEFAULT_CLIP_KBPS = (100.0, 150.0, 200.0, 300.0, 400.0, 610.0, 910.0, 1710.0, 3150.0)  # ocr's fit


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


def _cmd_synth_bench(args: argparse.Namespace) -> int:
    from artic_rl.mllm.synthbench import write_synth_bench

    path = write_synth_bench(args.out, range(args.first_seed, args.first_seed + args.clips),
                             seconds=args.seconds)  # fmt: skip
    print(path)
    return 0


def _cmd_fit_ocr(args: argparse.Namespace) -> int:
    from artic_rl.mllm.accuracy import shipped_params_path
    from artic_rl.mllm.fit import save_params
    from artic_rl.mllm.synthbench import fit_ocr_params, read_results

    mix = json.loads(shipped_params_path("artic").read_text(encoding="utf-8"))["category_mix"]
    source = (
        "fitted by `artic-rl accuracy fit-ocr` to the offline OCR judge (rapidocr PP-OCRv4) on "
        "the project's synthetic chat scenes (artic-rl accuracy synth-bench, then artic-rl devibench "
        "--judge ocr --roi-levels 0); bitrates are 1080p-equivalent (same bits per pixel); "
        "category mix: DeViBench's"
    )
    doc = fit_ocr_params(read_results(args.results), mix, source)
    save_params(doc, args.out)
    print(f"wrote {len(doc['curves'])} curves to {args.out}", file=sys.stderr)
    return 0


def _cmd_clip_curves(args: argparse.Namespace) -> int:
    from artic_rl.mllm.clipcurves import (
        clip_samples,
        measure_clip_curves,
        merge_aged,
        write_clip_curves,
    )
    from artic_rl.mllm.judges import ExactMatchGrader
    from artic_rl.mllm.ocr_judge import OcrJudge
    from artic_rl.video.probe import video_fps

    video = Path(args.video)
    if not video.is_file():
        raise InputError("no such video file", video)
    questions = Path(args.questions) if args.questions else video.with_suffix(".json")
    if not questions.is_file():
        raise InputError("no questions file (give --questions)", questions)
    kbps = parse_kbps_list(args.kbps)
    every = list(args.every_s)
    if len(every) == 1:
        every *= len(args.segment_s)
    if len(every) != len(args.segment_s):
        raise InputError(
            f"--every-s: one value, or one per --segment-s length ({len(args.segment_s)}); "
            f"got {len(args.every_s)}"
        )
    for value in every:
        if not value > 0:
            raise InputError(f"--every-s must be positive, got {value:g}")
    for length in args.segment_s:
        if not length > 0:
            raise InputError(f"--segment-s must be positive, got {length:g}")
    if len(set(args.segment_s)) != len(args.segment_s):
        raise InputError(f"--segment-s: a length given twice: {args.segment_s}")
    for length, step in zip(args.segment_s, every, strict=True):  # each fits, before any work
        clip_samples(questions, str(video), step, length)
    out = Path(args.out) if args.out else video.with_suffix(".curves.json")
    from tqdm import tqdm

    docs = []
    for length, step in sorted(zip(args.segment_s, every, strict=True)):
        with tqdm(desc=f"judged ({length:g} s)", unit="answer", disable=None) as bar:
            docs.append(measure_clip_curves(
                video, questions, OcrJudge(threads=1), ExactMatchGrader(ignore_spaces=True), kbps,
                every_s=step, segment_s=length, preset=args.preset,
                progress=lambda done, _calls: bar.update(done - bar.n),
            ))  # fmt: skip
    doc = merge_aged(docs, video_fps(video))
    write_clip_curves(doc, out)
    for entry in doc.get("aged", [doc]):
        age = f"  picture age {entry['age_s']:g} s" if "age_s" in entry else ""
        for q in entry["questions"]:
            print(f"{q['answer']!r:14s} original {q.get('original')}  measured {q['measured']}  "
                  f"mid {q['mid_kbps']:.0f} kbps, steepness {q['steepness']:.1f}{age}")  # fmt: skip
    print(out)
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    from artic_rl.mllm.plots import plot_models

    plot_models([m for m in args.models.split(",") if m], args.out)
    print(args.out)
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
    synth = acc_sub.add_parser(
        "synth-bench",
        help="write the synthetic chat-scene question set (clips + questions.csv)",
        description="Render synthetic chat-scene clips (lossless) and a DeViBench-style CSV.",
    )
    synth.add_argument("--out", type=Path, required=True, help="output folder")
    synth.add_argument("--clips", type=int, default=16, help="number of clips (3 questions each)")
    synth.add_argument("--first-seed", type=int, default=1, help="seed of the first clip")
    synth.add_argument("--seconds", type=float, default=3.0, help="clip length")
    synth.set_defaults(func=_cmd_synth_bench)
    fit_ocr = acc_sub.add_parser(
        "fit-ocr",
        help="fit the ocr model to a harness run on the synthetic set",
        description="Fit per-question curves to a devibench results.csv (uniform encodes).",
    )
    fit_ocr.add_argument("--results", type=Path, required=True, help="harness results.csv")
    fit_ocr.add_argument("--out", type=Path, required=True, help="output parameter JSON")
    fit_ocr.set_defaults(func=_cmd_fit_ocr)
    clip = acc_sub.add_parser(
        "clip-curves",
        help="measure the OCR judge on one clip's own questions (for the fidelity comparison)",
        description="Encode a clip at each bitrate, ask the OCR judge each question on one frame "
        "per segment (as the streamer asks), fit one curve per question; writes JSON.",
    )
    clip.add_argument("--video", required=True, help="clip (e.g. from artic-rl clips)")
    clip.add_argument("--questions", default=None, help="its questions JSON (default: beside it)")
    clip.add_argument("--out", default=None, help="output JSON (default: <video>.curves.json)")
    clip.add_argument("--kbps", default=",".join(f"{k:g}" for k in DEFAULT_CLIP_KBPS),
                      help="1080p-equivalent bitrates (comma-separated)")  # fmt: skip
    clip.add_argument("--every-s", type=float, nargs="+", default=[1.0],
                      help="a segment starts every this (s); one value, or one per --segment-s "
                      "length")  # fmt: skip
    clip.add_argument("--segment-s", type=float, nargs="+", default=[1.0],
                      help="segment lengths (s); several: one curve per picture age; a clip "
                      "the streamer plays forwards then backwards is measured so, and a segment "
                      "may outlast it")  # fmt: skip
    clip.add_argument("--preset", default="veryfast", help="libx264 preset")
    clip.set_defaults(func=_cmd_clip_curves)
    plot = acc_sub.add_parser(
        "plot",
        help="plot models' mean accuracy against bitrate beside the authors' table",
        description="Mean accuracy and share >= 0.8 of accuracy models against bitrate (PNG).",
    )
    plot.add_argument("--models", default="artic,ocr", help="comma-separated model names")
    plot.add_argument("--out", type=Path, default=Path("accuracy_models.png"), help="PNG path")
    plot.set_defaults(func=_cmd_plot)
    from artic_rl.mllm.harness_cli import register_devibench

    register_devibench(subparsers)
