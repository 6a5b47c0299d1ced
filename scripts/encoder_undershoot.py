"""The streamer's encoder on a clip: bytes sent against the target, with the bitrate held or moving.

``artic_rl.runtime.encoder.make_encoder`` (the streamer's encoder, in 1080p-equivalent kbps, its
P frames padded to the 1080p stream's bytes) encodes the clip as the streamer's camera plays it,
at a ROI level on the clip's first question's region, the bitrate held for ``--hold-s`` at each
value of ``--kbps`` in turn. It prints the bytes over the target's bytes after the first second,
for the live-rate encoder the streamer uses (x264 opened once, every later bitrate applied live)
and for the base encoder (re-opened, a fresh rate control and an IDR, on each rise past its maxrate)::

    python scripts/encoder_undershoot.py --video outputs/clips/synth-0007.mp4
    python scripts/encoder_undershoot.py --video outputs/clips/synth-0007.mp4 --kbps 443   # held

``--step A B`` instead holds A for 4 s, then B, and prints the bytes of each 250 ms (``--window-s``)
of the 4 s (``--after-s``) after the step over B's target, and below them the same windows of the
encoder held at B from the start (the clip's own content at those seconds, without the step): how
fast the live encoder's rate control reaches a new bitrate::

    python scripts/encoder_undershoot.py --video outputs/clips/synth-0007.mp4 --step 400 600
    python scripts/encoder_undershoot.py --video outputs/clips/synth-0007.mp4 --step 389 473 --after-s 12 --window-s 1

``--vbv-buffer-s S`` opens it with a VBV buffer of S seconds instead of the streamer's 0.5 s.

The simulator sends its codec profile's frame sizes, measured at a fixed bitrate per cell.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from artic_rl.runtime.encoder import make_encoder
from artic_rl.runtime.sender import video_frames
from artic_rl.video.encoder import EncoderSettings
from artic_rl.video.profile import CodecProfile
from artic_rl.video.roi import Region


def sent_share(
    video: Path,
    kbps: list[float],
    fps: float,
    roi_level: int,
    hold_s: float,
    seconds: float,
    live: bool,
) -> float:
    """Bytes sent over the target's bytes, after the first second (its keyframe)."""
    meta = json.loads(video.with_suffix(".json").read_text())
    box = meta["questions"][0]["region"]
    width, height, clip_fps = int(meta["width"]), int(meta["height"]), float(meta["fps"])
    enc = make_encoder(
        EncoderSettings(width=width, height=height),
        kbps=kbps[0],
        fps=fps,
        live_rate=live,
        profile=CodecProfile.default(),
    )
    enc.set_fps(fps)
    enc.set_roi(roi_level, Region(box["x"], box["y"], box["w"], box["h"]))
    frames = video_frames(video, width, height)
    step, hold = round(clip_fps / fps), max(1, round(hold_s * clip_fps))
    sent = target = 0.0
    rate = kbps[0]
    for i in range(round(seconds * clip_fps)):
        frame = next(frames)
        if i % hold == 0:
            rate = kbps[(i // hold) % len(kbps)]
            enc.set_bitrate(rate)
        if i % step:
            continue
        out = enc.encode(frame, i * 1000.0 / clip_fps)
        if out is None or i < clip_fps:
            continue
        sent += out.record.size_bytes
        target += rate * 1000.0 / 8.0 / fps
    return sent / target


def step_response(
    video: Path,
    before: float,
    after: float,
    fps: float = 30.0,
    vbv_buffer_s: float | None = None,
    after_s: float = 4.0,
    window_s: float = 0.25,
) -> list[float]:
    """Bytes over ``after``'s target in each ``window_s`` of the ``after_s`` after the bitrate
    steps from ``before`` (held 4 s) to ``after``, the live-rate encoder at ROI level 0 (its VBV
    buffer ``vbv_buffer_s`` seconds of the opening bitrate; None: the streamer's)."""
    meta = json.loads(video.with_suffix(".json").read_text())
    width, height, clip_fps = int(meta["width"]), int(meta["height"]), float(meta["fps"])
    settings = EncoderSettings(width=width, height=height)
    if vbv_buffer_s is not None:
        settings = replace(settings, vbv_buffer_s=vbv_buffer_s)
    enc = make_encoder(
        settings,
        kbps=before,
        fps=fps,
        profile=CodecProfile.default(),
    )
    frames = video_frames(video, width, height)
    step, at = round(clip_fps / fps), round(4 * clip_fps)
    shares: list[float] = []
    for i in range(at + round(after_s * clip_fps)):
        frame = next(frames)
        if i == at:
            enc.set_bitrate(after)
        if i % step:
            continue
        out = enc.encode(frame, i * 1000.0 / clip_fps)
        if out is not None and i >= at:
            shares.append(out.record.size_bytes / (after * 1000.0 / 8.0 / fps))
    window = max(1, round(fps * window_s))
    return [
        sum(shares[k : k + window]) / window for k in range(0, len(shares) - window + 1, window)
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--video", type=Path, required=True, help="an artic-rl clips clip")
    ap.add_argument(
        "--kbps",
        type=float,
        nargs="+",
        default=[321.0, 389.0, 473.0, 264.0, 574.0, 697.0, 846.0, 473.0],
        help="bitrates in turn (1080p-equivalent kbps; default: GCC's tiers as on a congested link)",
    )
    ap.add_argument("--hold-s", type=float, default=1.0, help="seconds at each bitrate (1)")
    ap.add_argument("--seconds", type=float, default=40.0, help="seconds encoded (40)")
    ap.add_argument(
        "--step", type=float, nargs=2, metavar=("A", "B"), help="a step from A to B kbps"
    )
    ap.add_argument(
        "--after-s", type=float, default=4.0, help="with --step: seconds shown after the step (4)"
    )
    ap.add_argument(
        "--window-s", type=float, default=0.25, help="with --step: seconds per printed share (0.25)"
    )
    ap.add_argument(
        "--vbv-buffer-s",
        type=float,
        help="with --step: the VBV buffer in seconds of the opening bitrate (default: the streamer's)",
    )
    args = ap.parse_args()
    if not args.video.with_suffix(".json").is_file():
        ap.error(f"{args.video}: no clip metadata beside it ({args.video.with_suffix('.json')})")
    if args.vbv_buffer_s is not None and not (args.step and args.vbv_buffer_s > 0):
        ap.error(f"--vbv-buffer-s {args.vbv_buffer_s}: a positive number of seconds, with --step")
    if not (args.after_s > 0 and 0 < args.window_s <= args.after_s):
        ap.error(f"--after-s {args.after_s} --window-s {args.window_s}: 0 < window <= after")
    if args.step:
        a, b = args.step
        kw = dict(vbv_buffer_s=args.vbv_buffer_s, after_s=args.after_s, window_s=args.window_s)
        stepped = step_response(args.video, a, b, **kw)
        held = step_response(args.video, b, b, **kw)
        per = f"{args.window_s * 1000:.0f} ms" if args.window_s < 1 else f"{args.window_s:g} s"
        print(f"{a:.0f} -> {b:.0f} kbps, bytes over the target per {per}:")
        print(" ".join(f"{x:.2f}" for x in stepped))
        print(f"held at {b:.0f} kbps, the same seconds of the clip:")
        print(" ".join(f"{x:.2f}" for x in held))
        return
    print(
        "| frame rate | ROI level | live-rate encoder (the streamer's) | re-opened on each rise |"
    )
    print("|---|---|---|---|")
    for fps, level in ((30.0, 0), (10.0, 3)):
        live = sent_share(args.video, args.kbps, fps, level, args.hold_s, args.seconds, live=True)
        base = sent_share(args.video, args.kbps, fps, level, args.hold_s, args.seconds, live=False)
        print(f"| {fps:.0f} | {level} | {live:.2f} | {base:.2f} |")


if __name__ == "__main__":
    main()
