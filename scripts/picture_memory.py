"""How long a picture keeps the quality its chain gave it after the encoder gives it less.

A static part of a scene keeps the picture an earlier frame coded for it (the encoder skips or
barely refines its blocks), so a frame's picture of a region is not only what that frame's own
settings buy. Two changes make this matter to the simulator:

- ``--switch roi``: the sender's ROI leaves question A's region for the next question's (B) once
  B's region is known, sometimes before A is answered;
- ``--switch rate``: the sender drops its bitrate (to ``kbps / --drop``).

This encodes the clip for real (libx264 CBR, the harness's bits per pixel), switching ``t``
seconds before the judged frame (the newest at the judge's 2 fps), and judges question A on that
frame (the OCR judge, the stream's grader)::

    python scripts/picture_memory.py --video outputs/clips/synth-0007.mp4 --switch roi
    python scripts/picture_memory.py --video outputs/clips/synth-0007.mp4 --switch rate

``t = 0`` is the picture before the switch (the hit), ``t`` = the segment is the picture after it
throughout (the miss); the share read in between is the picture's memory, and the script fits
``share = miss + (hit - miss) exp(-t / tau)`` (the simulator's ``picture_memory_ms``).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

import numpy as np

from artic_rl.mllm.judges import Box, ExactMatchGrader
from artic_rl.mllm.media import read_segment, sample_indices
from artic_rl.mllm.ocr_judge import OcrJudge
from artic_rl.video.roi import Region

REFERENCE_PIXELS = 1920 * 1080
MIN_CONTRAST = 0.25  # rows whose hit reads at least this much more than their miss are fitted


class Setting(NamedTuple):
    kbps: float  # 1080p-equivalent
    roi_level: int
    region: Region | None


def encode_switching(
    frames: list[np.ndarray], fps: float, before: Setting, after: Setting, at: int
) -> list[np.ndarray]:
    """Decoded frames of one CBR encode with ``before``'s settings until frame ``at`` and
    ``after``'s from it on."""
    import av

    from artic_rl.video.encoder import Encoder, EncoderSettings

    h, w = (frames[0].shape[0] // 2) * 2, (frames[0].shape[1] // 2) * 2
    scale = w * h / REFERENCE_PIXELS
    settings = EncoderSettings(width=w, height=h, nominal_fps=fps, preset="veryfast")
    first = before if at > 0 else after
    enc = Encoder(settings, first.kbps * scale, fps, first.roi_level, first.region)
    dec = av.CodecContext.create("h264", "r")
    out: list[np.ndarray] = []
    for i, rgb in enumerate(frames):
        if i == at:
            enc.set_bitrate(after.kbps * scale)
            enc.set_roi(after.roi_level, after.region)
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[:h, :w]), format="rgb24")
        pkt = enc.encode(vf.reformat(format="yuv420p"), now_ms=i * 1000.0 / fps)
        if pkt is not None and pkt.data:
            out += [d.to_ndarray(format="rgb24") for d in dec.decode(av.Packet(pkt.data))]
    out += [d.to_ndarray(format="rgb24") for d in dec.decode(None)]
    return out


def fit_memory(
    read: dict[tuple[float, float], list[bool]], kbps: list[float], after_s: list[float]
) -> float:
    """Least-squares ``tau`` (ms) of ``exp(-t / tau)`` through every row's shares between its hit
    (the shortest ``t``) and its miss (the longest), normalised to run from 1 to 0."""
    t_hit, t_miss = min(after_s), max(after_s)
    points = []
    for k in kbps:
        hit, miss = np.mean(read[(k, t_hit)]), np.mean(read[(k, t_miss)])
        if hit - miss < MIN_CONTRAST:
            continue
        points += [(1000.0 * a, (np.mean(read[(k, a)]) - miss) / (hit - miss))
                   for a in after_s if t_hit < a < t_miss]  # fmt: skip
    if not points:
        return float("nan")
    t, y = np.array(points).T
    grid = np.geomspace(10.0, 100_000.0, 2000)
    err = [float(np.sum((y - np.exp(-t / g)) ** 2)) for g in grid]
    return float(grid[int(np.argmin(err))])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--video", type=Path, required=True, help="an artic-rl clips clip")
    ap.add_argument("--switch", choices=("roi", "rate"), required=True)
    ap.add_argument("--kbps", type=float, nargs="+", default=[300.0, 600.0, 900.0],
                    help="1080p-equivalent bitrates (before a rate drop)")  # fmt: skip
    ap.add_argument("--drop", type=float, default=3.0, help="--switch rate: kbps / this after")
    ap.add_argument("--roi-level", type=int, default=3, help="--switch roi: the ROI level")
    ap.add_argument("--segment-s", type=float, default=4.0)
    ap.add_argument("--starts", type=float, nargs="+", default=[0.0, 4.0, 8.0, 12.0])
    ap.add_argument("--after-s", type=float, nargs="+", default=[0.0, 0.25, 0.5, 1.0, 2.0, 4.0],
                    help="seconds since the switch at the judged frame")  # fmt: skip
    args = ap.parse_args()
    doc = json.loads(args.video.with_suffix(".json").read_text())
    w, h = int(doc["width"]), int(doc["height"])
    qs = doc["questions"]
    regions = [Region(q["region"]["x"], q["region"]["y"], q["region"]["w"], q["region"]["h"])
               for q in qs]  # fmt: skip
    judge, grader = OcrJudge(threads=1), ExactMatchGrader(ignore_spaces=True)
    read: dict[tuple[float, float], list[bool]] = defaultdict(list)
    per_q: dict[tuple[str, float, float], list[bool]] = defaultdict(list)
    for start in args.starts:
        frames, fps = read_segment(args.video, start, args.segment_s)
        judged = sample_indices(len(frames), fps, 2.0, 1)[0]
        frames = frames[: judged + 1]  # the judged frame is the newest
        for ia, qa in enumerate(qs):
            r = qa["region"]
            box = Box(r["x"] / w, r["y"] / h, (r["x"] + r["w"]) / w, (r["y"] + r["h"]) / h)
            if args.switch == "roi":  # from A's region to each other question's
                pairs = [(Setting(k, args.roi_level, regions[ia]),
                          Setting(k, args.roi_level, regions[ib]))
                         for ib in range(len(qs)) if ib != ia for k in args.kbps]  # fmt: skip
            else:  # uniform, from kbps to kbps / drop
                pairs = [(Setting(k, 0, None), Setting(k / args.drop, 0, None)) for k in args.kbps]
            for before, after in pairs:
                for t in args.after_s:
                    at = max(judged + 1 - int(round(t * fps)), 0)
                    dec = encode_switching(frames, fps, before, after, at)
                    ans = judge.answer([dec[-1]], qa["question"], box)
                    ok = bool(ans.text) and grader.grade(qa["question"], ans.text, qa["answer"])
                    read[(before.kbps, t)].append(ok)
                    per_q[(qa["answer"], before.kbps, t)].append(ok)
        print(f"start {start:g} s done", flush=True)
    what = (f"the ROI (level {args.roi_level}) moved from A's region to B's"
            if args.switch == "roi" else f"the bitrate dropped to kbps / {args.drop:g}")  # fmt: skip
    print(f"share of question A read t seconds after {what} (every question and start):")
    for kbps in args.kbps:
        row = "  ".join(f"t={a:g}: {np.mean(read[(kbps, a)]):.2f}" for a in args.after_s)
        print(f"{kbps:5.0f} kbps  {row}")
        for q in qs:
            cells = "  ".join(f"{np.mean(per_q[(q['answer'], kbps, a)]):.2f}" for a in args.after_s)
            print(f"      {q['answer']:10s} {cells}")
    tau = fit_memory(read, args.kbps, args.after_s)
    print(f"picture_memory_ms fitted (share = miss + (hit - miss) exp(-t / tau), the rows whose "
          f"hit reads at least {MIN_CONTRAST:g} more than their miss): {tau:.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
