"""``artic-rl profile`` (and ``profile show``) and ``artic-rl clips``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from artic_rl.errors import ArticError, InputError
from artic_rl.video.profile import read_profile_doc, write_profile


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``profile`` and ``clips`` to the ``artic-rl`` dispatcher."""
    p = subparsers.add_parser(
        "profile",
        help="profile a real encoder over a bitrate / fps / ROI grid",
        description="Encode clips over a (kbps, fps, ROI level, region) grid and write one "
        "versioned profile. VIDEO is a video file or synthetic:SEED. "
        "`artic-rl profile show PROFILE` prints one JSON object per grid cell.",
    )
    p.add_argument(
        "inputs", nargs="*", metavar="VIDEO", help="video files, synthetic:SEED, or: show PROFILE"
    )
    p.add_argument("--out", type=Path, help="profile to write (.json or .json.gz)")
    p.add_argument("--kbps", default="100,150,200,300,400,610,910,1300,1710,2400,3150,4000")
    p.add_argument("--fps", default="1,2,5,10,15,30")
    p.add_argument("--roi-levels", default="0,1,2,3")
    p.add_argument("--seconds", type=float, default=4.0, help="seconds of each clip to encode")
    p.add_argument("--roi", action="append", default=[], help="x,y,w,h region (pixels) for files")
    p.add_argument(
        "--reference",
        default="",
        help="WxH: grid kbps are bitrates at this resolution (bits per pixel)",
    )
    p.add_argument("--size", default="640x360", help="WxH of synthetic clips")
    p.add_argument("--preset", default="veryfast")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_profile)

    c = subparsers.add_parser(
        "clips",
        help="generate the synthetic chat-scene clips and their questions",
        description="Write synthetic clips (synth-NNNN.mp4, near-lossless H.264) and their questions (synth-NNNN.json).",
    )
    c.add_argument("--out", type=Path, required=True, help="output folder")
    c.add_argument("--seeds", default="1,2,3", help="comma-separated seeds, one clip each")
    c.add_argument("--seconds", type=float, default=5.0)
    c.add_argument("--size", default="640x360")
    c.set_defaults(func=_clips)


def _floats(text: str, name: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"--{name} must be comma-separated numbers, got {text!r}") from None


def _size(text: str, name: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputError(f"--{name} must be WxH, got {text!r}") from None
    return w, h


def _profile(args: argparse.Namespace) -> int:
    if args.inputs and args.inputs[0] == "show":
        return _show(args.inputs[1:])
    from artic_rl.video import profiler as pr
    from artic_rl.video.roi import Region

    if not args.inputs or args.out is None:
        raise InputError("give VIDEO... and --out PROFILE (or: profile show PROFILE)")
    try:
        regions = tuple(Region.parse(r) for r in args.roi)
    except ValueError as err:
        raise InputError(str(err), field="--roi") from None
    width, height = _size(args.size, "size")
    reference = _size(args.reference, "reference") if args.reference else None
    clips, failed = [], 0
    for name in args.inputs:
        if name.startswith("synthetic:"):
            spec = pr.ClipSpec(
                synthetic_seed=int(name.split(":", 1)[1]),
                width=width,
                height=height,
                seconds=args.seconds,
            )
        else:
            spec = pr.ClipSpec(path=str(Path(name)), seconds=args.seconds, regions=regions)
        try:
            clips.append((spec, pr.load_clip(spec)))
        except ArticError as err:  # the other clips go on
            print(f"artic-rl profile: error: {err}", file=sys.stderr)
            failed += 1
    if not clips:
        return 2
    levels = [int(v) for v in _floats(args.roi_levels, "roi-levels")]
    cells = pr.grid_cells(
        clips, _floats(args.kbps, "kbps"), _floats(args.fps, "fps"), levels, reference, args.preset
    )
    cache = args.out.with_name(args.out.name + ".cells")
    records = pr.run_grid(cells, cache, jobs=args.jobs, progress=not args.no_progress)
    write_profile(pr.build_profile(clips, records, reference, args.preset), args.out)
    print(f"wrote {args.out}: {len(records)} cells from {len(clips)} clips")
    return 2 if failed else 0


def _show(paths: list[str]) -> int:
    from artic_rl.video import profiler as pr

    if len(paths) != 1:
        raise InputError("usage: artic-rl profile show PROFILE")
    doc = read_profile_doc(paths[0])
    clips = {c["clip_id"]: c for c in doc["clips"]}
    for cell in doc["cells"]:
        print(json.dumps(pr.cell_summary(cell, clips[cell["clip_id"]])))
    return 0


def _clips(args: argparse.Namespace) -> int:
    from artic_rl.video.clips import make_clip

    width, height = _size(args.size, "size")
    seeds = [int(v) for v in _floats(args.seeds, "seeds")]
    args.out.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        clip = make_clip(seed, width, height, args.seconds)
        video = clip.save(args.out / f"{clip.clip_id}.mp4")
        print(f"wrote {video} ({len(clip.frames)} frames, {len(clip.questions)} questions)")
    return 0
