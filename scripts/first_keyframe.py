"""The streamer's first keyframe against the reference resolution's, at 1080p-equivalent bitrates.

The streamer encodes at ``w x h`` with the 1080p stream's bits per pixel and pads every frame to
the 1080p stream's bytes (``artic_rl.runtime.encoder.ReferenceRateEncoder``). For P frames that
conversion holds; this prints what it would give for a fresh encoder's first frame (an IDR), next
to the same encoder at 1920x1080, the resolution the codec profile and the simulator describe,
and the profile's keyframe size, to which the streamer pads a keyframe instead::

    python scripts/first_keyframe.py --video outputs/clips/synth-0007.mp4 [--kbps 100 300 600]

One line per (resolution, bitrate): the first three frames' wire sizes in bytes through bits per
pixel alone.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import av

from artic_rl.runtime.encoder import make_encoder
from artic_rl.video.encoder import EncoderSettings
from artic_rl.video.profile import CodecProfile

RESOLUTIONS = ((640, 360), (1920, 1080))


def first_frames(video: Path, width: int, height: int, kbps: float, n: int = 3) -> list[int]:
    """Wire sizes of the first ``n`` frames of ``video`` through a fresh streamer encoder."""
    enc = make_encoder(EncoderSettings(width=width, height=height), kbps=kbps, fps=30.0)
    sizes = []
    with av.open(str(video)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i == n:
                break
            image = frame.reformat(width=width, height=height, format="yuv420p").to_ndarray()
            out = enc.encode(image, i * 1000.0 / 30.0)
            if out is not None:
                sizes.append(int(out.record.size_bytes))
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--video", required=True, type=Path, help="a clip (artic-rl clips)")
    parser.add_argument("--kbps", nargs="+", type=float, default=[100.0, 300.0, 600.0])
    args = parser.parse_args()
    if not args.video.is_file():
        parser.error(f"--video {args.video}: no such file")
    profile = CodecProfile.default()
    print(
        "| resolution | kbps (1080p-equivalent) | first frames' wire bytes | keyframe vs 1080p "
        "| the profile's keyframe |"
    )
    print("|---|---|---|---|---|")
    reference = {k: first_frames(args.video, 1920, 1080, k)[0] for k in args.kbps}
    for w, h in RESOLUTIONS:
        for kbps in args.kbps:
            sizes = first_frames(args.video, w, h, kbps)
            ratio = sizes[0] / reference[kbps]
            key = profile.keyframe_bytes(kbps, 30.0, 0)
            print(f"| {w}x{h} | {kbps:g} | {', '.join(map(str, sizes))} | {ratio:.2f}x | {key} |")


if __name__ == "__main__":
    main()
