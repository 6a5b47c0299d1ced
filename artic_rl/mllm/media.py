"""Video in and out for the harness: cut a segment, degrade it, sample the judge's frames.

``Degrader`` is anything that turns a stream of RGB frames into the decoded frames of an encode at
``kbps`` with ROI level ``roi_level`` around ``region``; ``ProjectDegrader`` is the project's
encoder (``artic_rl.video``) behind that interface.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from artic_rl.errors import InputError
from artic_rl.mllm.judges import Box

MS_PER_S = 1000.0


class Degrader(Protocol):
    """Encodes frames at a bitrate (and ROI level) and yields what the receiver decodes."""

    name: str

    def degrade(
        self,
        frames: Iterable[np.ndarray],
        fps: float,
        kbps: float,
        roi_level: int,
        region: Box | None,
    ) -> Iterator[np.ndarray]: ...


def read_segment(
    path: str | Path, start_s: float, duration_s: float, max_height: int | None = None
) -> tuple[list[np.ndarray], float]:
    """Decoded RGB frames of ``[start_s, start_s + duration_s)`` and the stream's frame rate.

    Frames taller than ``max_height`` are scaled down (keeping the aspect ratio, even sizes).
    """
    import av

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as err:
        raise InputError(f"cannot open video: {err}", path) from err
    with container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate or 30)
        if start_s > 0:
            time_base = stream.time_base or Fraction(1, 1000)
            container.seek(int(start_s / time_base), stream=stream, backward=True)
        frames: list[np.ndarray] = []
        for frame in container.decode(stream):
            t = float(frame.time if frame.time is not None else 0.0)
            if t < start_s - 0.5 / fps:
                continue
            if t >= start_s + duration_s - 0.5 / fps:
                break
            if max_height is not None and frame.height > max_height:
                width = int(round(frame.width * max_height / frame.height / 2)) * 2
                frame = frame.reformat(width=width, height=max_height)
            frames.append(frame.to_ndarray(format="rgb24"))
    return frames, fps


def read_played_segment(
    path: str | Path, start_s: float, duration_s: float, max_height: int | None = None
) -> tuple[list[np.ndarray], float]:
    """As :func:`read_segment`, over the clip as the streamer's camera plays it (forwards then
    backwards, :func:`artic_rl.video.playback.played_index`): a segment may start anywhere in the
    cycle and last longer than the clip."""
    from artic_rl.video.playback import played_index

    frames, fps = _whole_clip(str(path), max_height)
    if not frames:
        raise InputError("no decodable video frames", path)
    k0 = int(round(start_s * fps))
    n = int(round(duration_s * fps))
    return [frames[played_index(k0 + i, len(frames))] for i in range(n)], fps


_CLIP_MEMO: dict[tuple[str, int | None], tuple[list[np.ndarray], float]] = {}


def _whole_clip(path: str, max_height: int | None) -> tuple[list[np.ndarray], float]:
    """Every frame of a clip, decoded once (the newest clip only is kept)."""
    key = (path, max_height)
    if key not in _CLIP_MEMO:
        _CLIP_MEMO.clear()
        _CLIP_MEMO[key] = read_segment(path, 0.0, float("inf"), max_height)
    return _CLIP_MEMO[key]


def sample_indices(n_frames: int, fps: float, judge_fps: float, max_frames: int) -> list[int]:
    """Indices of the frames a judge sampling at ``judge_fps`` sees (the newest ``max_frames``).

    Frame ``round(j * fps / judge_fps)`` for j = 0, 1, ...: 150 frames at 30 fps, judge at 2 fps
    -> 0, 15, 30, ..., 135 (10 frames).
    """
    if n_frames <= 0:
        return []
    step = max(fps / max(judge_fps, 1e-9), 1.0)
    idx: list[int] = []
    j = 0
    while round(j * step) < n_frames:
        idx.append(int(round(j * step)))
        j += 1
    return idx[-max_frames:]


def _pixel_region(region: Box | None, width: int, height: int) -> Any:
    """The fractional box as the video part's pixel ``Region`` (None stays None)."""
    from artic_rl.video.roi import Region

    if region is None:
        return None
    x0, y0 = int(region.x0 * width), int(region.y0 * height)
    x1, y1 = int(np.ceil(region.x1 * width)), int(np.ceil(region.y1 * height))
    return Region(x0, y0, max(x1 - x0, 1), max(y1 - y0, 1))


class ProjectDegrader:
    """The project's encoder (``artic_rl.video.encoder.Encoder``: libx264, CBR, ROI rings)."""

    name = "artic_rl.video"

    def __init__(self, preset: str = "veryfast") -> None:
        self.preset = preset

    def degrade(
        self,
        frames: Iterable[np.ndarray],
        fps: float,
        kbps: float,
        roi_level: int,
        region: Box | None,
    ) -> Iterator[np.ndarray]:
        import av

        from artic_rl.video.encoder import Encoder, EncoderSettings

        enc = None
        dec = av.CodecContext.create("h264", "r")
        for i, rgb in enumerate(frames):
            h, w = (rgb.shape[0] // 2) * 2, (rgb.shape[1] // 2) * 2
            if enc is None:
                settings = EncoderSettings(width=w, height=h, nominal_fps=fps, preset=self.preset)
                enc = Encoder(settings, kbps, fps, roi_level, _pixel_region(region, w, h))
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[:h, :w]), format="rgb24")
            out = enc.encode(vf.reformat(format="yuv420p"), now_ms=i * MS_PER_S / fps)
            if out is None or not out.data:
                continue
            for d in dec.decode(av.Packet(out.data)):
                yield d.to_ndarray(format="rgb24")
        for d in dec.decode(None):
            yield d.to_ndarray(format="rgb24")
