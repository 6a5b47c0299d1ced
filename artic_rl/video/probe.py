"""How long a video is, from its container and its packets (demuxed, not decoded)."""

from __future__ import annotations

from pathlib import Path

from artic_rl.errors import InputError


def probe_video(path: Path) -> tuple[float, float]:
    """(seconds the container declares, seconds its packets reach), demuxing without decoding;
    InputError when PyAV cannot open it."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InputError("no video stream", path)
            stream = container.streams.video[0]
            declared = float(container.duration or 0) / 1e6
            if stream.duration is not None and stream.time_base is not None:
                declared = max(declared, float(stream.duration * stream.time_base))
            reached = 0.0
            for packet in container.demux(stream):
                if packet.pts is not None and packet.time_base is not None:
                    reached = max(
                        reached, float((packet.pts + (packet.duration or 0)) * packet.time_base)
                    )
    except av.error.FFmpegError as err:
        raise InputError(f"PyAV cannot open it: {err}", path) from None
    return declared, reached


def video_fps(path: Path) -> float:
    """The video stream's frame rate (its average, else the guessed one, else 30), as
    :func:`artic_rl.mllm.media.read_segment` reads it; InputError when PyAV cannot open it."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InputError("no video stream", path)
            stream = container.streams.video[0]
            return float(stream.average_rate or stream.guessed_rate or 30)
    except av.error.FFmpegError as err:
        raise InputError(f"PyAV cannot open it: {err}", path) from None
