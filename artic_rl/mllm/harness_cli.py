"""``artic-rl devibench``: the DeViBench harness on degraded video (argument parsing only)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from artic_rl.errors import InputError


def _parse_levels(text: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError as err:
        raise InputError(f"--roi-levels expects comma-separated integers, got {text!r}") from err
    if not levels or min(levels) < 0:
        raise InputError(f"--roi-levels expects integers >= 0, got {text!r}")
    return levels


def _parse_rates(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError as err:
        raise InputError(f"--kbps expects comma-separated numbers, got {text!r}") from err
    if not values or min(values) < 0:
        raise InputError(f"--kbps expects numbers >= 0 (0 = original), got {text!r}")
    return values


def _parse_reference(text: str) -> int | None:
    if text.strip().lower() == "none":
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError as err:
        raise InputError(f"--reference expects WxH or none, got {text!r}") from err
    return w * h


def make_judge(args: argparse.Namespace) -> tuple[Any, Any]:
    """The judge and grader the arguments ask for."""
    from artic_rl.mllm.judges import ExactMatchGrader

    if args.judge == "ocr":
        from artic_rl.mllm.ocr_judge import OcrJudge

        if args.grader == "llm":
            raise InputError("--grader llm needs --judge openai (it asks the same server)")
        return OcrJudge(frames_to_read=args.ocr_frames), ExactMatchGrader(ignore_spaces=True)
    from artic_rl.mllm.openai_judge import ChatClient, LLMGrader, OpenAIJudge

    if not args.base_url or not args.model:
        raise InputError("--judge openai needs --base-url and --model")
    client = ChatClient(
        args.base_url,
        args.model,
        api_key_env=args.api_key_env,
        timeout_s=args.timeout_s,
        max_concurrency=args.concurrency,
    )
    grader = LLMGrader(client) if args.grader == "llm" else ExactMatchGrader()
    return OpenAIJudge(client), grader


def _cmd_devibench(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from artic_rl.mllm.devibench import load_samples
    from artic_rl.mllm.harness import AnswerCache, HarnessConfig, run_harness, write_outputs
    from artic_rl.mllm.media import ProjectDegrader

    samples = load_samples(args.csv)
    if args.categories:
        wanted = set(args.categories.split(","))
        samples = [s for s in samples if s.category in wanted]
    samples = samples[: args.limit] if args.limit else samples
    judge, grader = make_judge(args)
    degrader = ProjectDegrader()
    config = HarnessConfig(
        kbps=_parse_rates(args.kbps),
        roi_levels=_parse_levels(args.roi_levels),
        judge_fps=args.judge_fps,
        max_frames=args.max_frames,
        max_height=args.max_height,
        reference_pixels=_parse_reference(args.reference),
    )
    out = Path(args.out)
    cache = AnswerCache(args.cache or out / "answers.jsonl")
    per_sample = sum(1 for k in config.kbps for lvl in config.roi_levels if k > 0 or lvl == 0)
    total = len(samples) * per_sample  # an upper bound: ROI levels need a region
    bar = tqdm(total=total, unit="answer", disable=args.quiet, dynamic_ncols=True)

    def progress(done: int, calls: int) -> None:
        bar.update(done - bar.n)
        rate = calls / max(bar.format_dict["elapsed"], 1e-9)
        bar.set_postfix(calls=calls, calls_per_s=f"{rate:.2f}", refresh=False)

    result = run_harness(samples, args.videos, judge, grader, degrader, config, cache,
                         workers=args.concurrency, progress=progress)  # fmt: skip
    bar.close()
    meta = {
        "title": f"{Path(args.csv).name}: {judge.name}",
        "csv": str(args.csv),
        "judge": judge.name,
        "encoder": degrader.name,
        "samples": len(samples),
        "kbps": list(config.kbps),
        "roi_levels": list(config.roi_levels),
        "judge_fps": config.judge_fps,
    }
    paths = write_outputs(out, result, meta)
    print(
        f"{len(result.rows)} answers ({result.calls} judge calls, {len(cache)} cached), "
        f"{len(result.missing_videos)} of {len(samples)} samples without video; "
        f"wrote {paths['summary_json']}",
        file=sys.stderr,
    )
    return 0


def register_devibench(subparsers: argparse._SubParsersAction) -> None:
    """Add ``devibench`` to the dispatcher."""
    p = subparsers.add_parser(
        "devibench",
        help="run the DeViBench harness on degraded video",
        description="Ask an MLLM judge DeViBench questions about degraded video; grade; tabulate "
        "per-category accuracy against bitrate (CSV, JSON, plot). Resumable through the cache.",
    )
    p.add_argument("--csv", type=Path, required=True, help="DeViBench datasets.csv (either schema)")
    p.add_argument("--videos", type=Path, required=True, help="folder of the benchmark's videos")
    p.add_argument("--kbps", default="0,200,400,610,910,1710,3150", help="bitrates; 0 = original")
    p.add_argument("--roi-levels", default="0", help="ROI levels (0 = uniform); >0 needs regions")
    p.add_argument("--judge", choices=("ocr", "openai"), default="ocr", help="who answers")
    p.add_argument("--grader", choices=("exact", "llm"), default="exact", help="how to grade")
    p.add_argument("--base-url", default=None, help="OpenAI-compatible server, e.g. .../v1")
    p.add_argument("--model", default=None, help="model name on that server")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", help="env variable with the key")
    p.add_argument("--timeout-s", type=float, default=60.0, help="per-request timeout")
    p.add_argument("--concurrency", type=int, default=4, help="judge calls in flight")
    p.add_argument("--judge-fps", type=float, default=2.0, help="frames per second the judge sees")
    p.add_argument("--max-frames", type=int, default=10, help="newest frames sent per question")
    p.add_argument("--ocr-frames", type=int, default=1, help="OCR judge: frames it reads")
    p.add_argument("--max-height", type=int, default=1080, help="scale taller videos down")
    p.add_argument("--reference", default="1920x1080",
                   help="bitrates are for this resolution (same bits per pixel); none: as given")  # fmt: skip
    p.add_argument("--categories", default=None, help="only these categories, comma-separated")
    p.add_argument("--limit", type=int, default=0, help="only the first N samples")
    p.add_argument("--out", type=Path, default=Path("outputs/devibench"), help="output folder")
    p.add_argument(
        "--cache", type=Path, default=None, help="answer cache (default OUT/answers.jsonl)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_devibench)
