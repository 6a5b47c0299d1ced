"""Speed of the mllm part: accuracy-model queries, the OCR judge, the harness's encode + ask.

    .venv/bin/python benchmarks/bench_mllm.py [--quick]

Figures are wall-clock on whatever cores are free; on the shared 2-core machine they may be
depressed by other engineers' work.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from artic_rl.mllm import load_accuracy_model
from artic_rl.mllm.judges import Box, ExactMatchGrader


def per_call_us(fn, n: int) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def bench_model(n: int) -> None:
    model = load_accuracy_model("artic")
    rng = np.random.default_rng(0)
    q = model.sample_question(rng)
    k = np.array([200.0, 400.0, 610.0, 910.0, 1710.0, 3150.0])
    print(f"p_correct (fresh)          {per_call_us(lambda: model.p_correct(q, 450.0), n):7.2f} us")
    print(
        f"p_correct (stale, 1 fps)   "
        f"{per_call_us(lambda: model.p_correct(q, 450.0, 900.0, 1.0), n):7.2f} us"
    )
    print(
        f"sample_question            {per_call_us(lambda: model.sample_question(rng), n):7.2f} us"
    )
    print(f"confidence_at (6 tiers)    {per_call_us(lambda: model.confidence_at(q, k), n):7.2f} us")
    grader = ExactMatchGrader()
    us = per_call_us(lambda: grader.grade("q", "The year is 1949.", "1949"), n)
    print(f"exact-match grade          {us:7.2f} us")


def bench_ocr(repeats: int) -> None:
    from PIL import Image, ImageDraw, ImageFont

    from artic_rl.mllm.ocr_judge import OcrJudge

    img = Image.new("RGB", (1920, 1080), (190, 190, 180))
    ImageDraw.Draw(img).text((800, 500), "PLATFORM 7B", fill=(10, 10, 10),
                             font=ImageFont.load_default(size=36))  # fmt: skip
    frame, box = np.asarray(img), Box(780 / 1920, 480 / 1080, 1120 / 1920, 560 / 1080)
    for label, judge, region in (
        ("region, detect + rec", OcrJudge(), box),
        ("region, rec only", OcrJudge(detect=False, upscale=1.0), box),
        ("whole 1080p frame", OcrJudge(), None),
    ):
        judge.answer([frame], "q", region)  # warm-up: sessions load on first use
        lat = [judge.answer([frame], "q", region).latency_ms for _ in range(repeats)]
        text = judge.answer([frame], "q", region).text
        print(f"OCR judge {label:22s} {np.median(lat):8.1f} ms/question  read {text!r}")


def bench_harness_encode(seconds: float) -> None:
    from artic_rl.mllm.media import ProjectDegrader

    rng = np.random.default_rng(0)
    n = int(30 * seconds)
    frames = [rng.integers(0, 256, size=(360, 640, 3), dtype=np.uint8) for _ in range(n)]
    degrader = ProjectDegrader()
    start = time.perf_counter()
    out = list(degrader.degrade(frames, 30.0, 300.0, 0, None))
    wall = time.perf_counter() - start
    print(f"degrade {degrader.name:15s} 640x360 {len(out)} frames: {len(out) / wall:6.1f} frames/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    bench_model(20_000 if args.quick else 200_000)
    bench_ocr(3 if args.quick else 10)
    bench_harness_encode(1.0 if args.quick else 3.0)


if __name__ == "__main__":
    main()
