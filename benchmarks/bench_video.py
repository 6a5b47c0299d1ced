"""Video-path figures: encoder speed at 640x360, rate accuracy and ROI gain on the real clips,
CodecProfile lookup cost. Run: .venv/bin/python benchmarks/bench_video.py [--quick]
(figures are depressed when other jobs share the cores)."""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from artic_rl.video import CodecProfile
from artic_rl.video.encoder import Encoder, EncoderSettings, achieved_kbps
from artic_rl.video.profiler import ClipSpec, load_clip

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"


def encoder_speed(frames: np.ndarray, w: int, h: int) -> float:
    enc = Encoder(EncoderSettings(w, h), kbps=910)
    start = time.perf_counter()
    for i, f in enumerate(frames):
        enc.encode(f, i * 1000 / 30)
    return len(frames) / (time.perf_counter() - start)


def encode(clip, kbps: float, fps: float, level: int) -> tuple[float, float, float]:
    """Achieved kbps (bits of the sent frames over the time they cover), mean ROI PSNR, mean QP."""
    region = clip.regions[0]
    s = EncoderSettings(
        clip.width, clip.height, nominal_fps=clip.fps, measure_quality=True,
        full_frame_ssim=False, export_qp=True,
    )  # fmt: skip
    enc = Encoder(
        s,
        kbps=kbps,
        fps=fps,
        roi_level=level,
        region=region if level else None,
        quality_regions=(region,),
    )
    recs = [
        o.record for i, f in enumerate(clip.frames) if (o := enc.encode(f, i * 1000 / clip.fps))
    ]
    kbps_actual = achieved_kbps([r.size_bytes for r in recs], enc.sent_fps)
    qp = float(np.nanmean([r.qp_frame for r in recs[1:]])) if len(recs) > 1 else math.nan
    return kbps_actual, float(np.mean([r.psnr_regions_db[0] for r in recs])), qp


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    seconds = 2.0 if args.quick else 5.0
    kbps_grid = (200, 400, 910, 1710) if args.quick else (200, 400, 610, 910, 1710, 3150)
    fps_grid = (2, 30) if args.quick else (1, 2, 5, 10, 15, 30)
    prof = CodecProfile.default()
    rng = np.random.default_rng(0)
    n = 20000
    t = time.perf_counter()
    for _ in range(n):
        prof.frame_sizes_bytes(400, 10, 2, 1, rng)
    print(f"CodecProfile.frame_sizes_bytes(n=1): {(time.perf_counter() - t) / n * 1e6:.1f} us/call")
    t = time.perf_counter()
    for _ in range(n):
        prof.equivalent_kbps(450, 10, 2, 0.03)
    print(f"CodecProfile.equivalent_kbps: {(time.perf_counter() - t) / n * 1e6:.1f} us/call")
    if not VIDEOS.is_dir():
        print(f"real clips not found at {VIDEOS}; skipping encoder figures")
        return
    bottle = load_clip(ClipSpec(path=str(VIDEOS / "bottle-detection.mp4"), seconds=seconds))
    print(
        f"libx264 veryfast encode, 640x360, 1 thread: {encoder_speed(bottle.frames, 640, 360):.0f} frames/s"
    )
    within, total, floor = 0, 0, 0
    for name in sorted(p.name for p in VIDEOS.iterdir() if p.suffix in (".mp4", ".mkv")):
        clip = load_clip(ClipSpec(path=str(VIDEOS / name), seconds=seconds))
        print(f"{name} ({clip.width}x{clip.height}, {clip.fps:g} fps, {len(clip.frames)} frames)")
        print("  achieved/target per fps; * = x264 at its QP floor (<= 2), undershoot unreachable")
        print("  fps  " + " ".join(f"{k:>6d}" for k in kbps_grid))
        for f in fps_grid:
            cells = []
            for k in kbps_grid:
                actual, _, qp = encode(clip, k, f, 0)
                ratio = actual / k
                at_floor = ratio < 0.85 and qp <= 2.0
                total += 1
                within += abs(ratio - 1) <= 0.15
                floor += at_floor
                cells.append(f"{ratio:5.2f}{'*' if at_floor else ' '}")
            print(f"  {f:3g}  " + " ".join(cells))
        _, p0, _ = encode(clip, 200, clip.fps, 0)
        _, p2, _ = encode(clip, 200, clip.fps, 2)
        print(f"  ROI level 2 vs uniform at 200 kbps: {p2 - p0:+.2f} dB ROI PSNR")
    print(
        f"bitrate within +-15% of target: {within}/{total} cells >= 200 kbps "
        f"({100 * within / total:.0f}%); {floor} cells at the QP floor; "
        f"{within}/{total - floor} of the others ({100 * within / max(1, total - floor):.0f}%)"
    )


if __name__ == "__main__":
    main()
