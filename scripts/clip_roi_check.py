"""The clip's questions judged at an ROI level, against what the simulator predicts for them.

The simulator answers a question on an ROI encode with the clip's ROI-0 curve
(``artic-rl accuracy clip-curves``) at the codec profile's equivalent bitrate for that ROI level
(``CodecProfile.equivalent_kbps``, the question's region area, a hit). This encodes the clip's
segments (1 s unless --segment-s) at the ROI level for real (the harness's libx264 encodes, the OCR judge, the
stream's grader) and prints, per question and bitrate, the share read correctly next to that
prediction::

    python scripts/clip_roi_check.py --video outputs/clips/synth-0007.mp4 [--roi-level 3] [--kbps 200 300 400 610]
        [--segment-s 16 --every-s 4]   # an older picture: the simulator reads the curves at its age

Answers are cached beside the clip (``<clip>.roi<L>-answers-veryfast.jsonl``), so a second run
only prints.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from artic_rl.mllm.accuracy import Question, curve_value
from artic_rl.mllm.clipcurves import clip_samples, judged_age_s, load_clip_curves, segment_starts
from artic_rl.mllm.harness import AnswerCache, HarnessConfig, run_harness
from artic_rl.mllm.judges import ExactMatchGrader
from artic_rl.mllm.media import ProjectDegrader
from artic_rl.mllm.ocr_judge import OcrJudge
from artic_rl.video.probe import video_fps
from artic_rl.video.profile import CodecProfile


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--video", type=Path, required=True, help="an artic-rl clips clip")
    ap.add_argument("--curves", type=Path, help="its clip curves (default: <clip>.curves.json)")
    ap.add_argument("--roi-level", type=int, default=3, help="ROI level of the encodes (3)")
    ap.add_argument("--kbps", type=float, nargs="+", default=[200.0, 300.0, 400.0, 610.0])
    ap.add_argument("--segment-s", type=float, default=1.0, help="segment length (1 s)")
    ap.add_argument("--every-s", type=float, default=1.0, help="a segment starts every this (1 s)")
    args = ap.parse_args()
    questions = args.video.with_suffix(".json")
    doc = json.loads(questions.read_text())
    w, h = float(doc["width"]), float(doc["height"])
    area = {q["question"]: q["region"]["w"] * q["region"]["h"] / (w * h) for q in doc["questions"]}
    curves_path = args.curves or args.video.with_suffix(".curves.json")
    curves = load_clip_curves(curves_path)
    samples = clip_samples(questions, str(args.video), args.every_s, args.segment_s)
    played = segment_starts(args.video, args.every_s, args.segment_s)[1]
    config = HarnessConfig(
        kbps=tuple(args.kbps), roi_levels=(args.roi_level,), max_frames=1,
        segment_s=args.segment_s, max_height=None, played=played,
    )  # fmt: skip
    suffix = "" if args.segment_s == 1.0 else f"-{args.segment_s:g}s"
    cache = AnswerCache(
        args.video.with_name(
            f"{args.video.stem}.roi{args.roi_level}-answers-veryfast{suffix}.jsonl"
        )
    )
    age_ms = 1000.0 * judged_age_s(args.segment_s, video_fps(args.video))
    result = run_harness(
        samples, args.video.parent, OcrJudge(threads=1), ExactMatchGrader(ignore_spaces=True),
        ProjectDegrader("veryfast"), config, cache,
    )  # fmt: skip
    text = {s.key: s.question for s in samples}
    read: dict[tuple[str, float], list[bool]] = {}
    for row in result.rows:
        if row.roi_level == args.roi_level:
            read.setdefault((text[row.sample], float(row.kbps)), []).append(bool(row.correct))
    profile = CodecProfile.default()
    for (q, kbps), correct in sorted(read.items()):
        c = curves[q]
        curve = Question(
            "text", False, area[q], c["floor"], c["ceiling"], c["mid_kbps"], c["steepness"],
            aged=c.get("aged", ()),
        )  # fmt: skip
        eq = profile.equivalent_kbps(kbps, 30.0, args.roi_level, area[q], True)
        print(
            f"{q[:34]:34s} {kbps:5.0f} kbps ROI {args.roi_level}: read {np.mean(correct):.2f} "
            f"of {len(correct)}; simulator {curve_value(curve, eq, age_ms):.2f} "
            f"(equivalent {eq:.0f} kbps, picture age {age_ms / 1000.0:g} s)"
        )


if __name__ == "__main__":
    main()
