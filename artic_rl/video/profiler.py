"""The codec profiler: encode clips over a (bitrate, fps, ROI level, region) grid and store it all.

One grid cell is one encode of one clip: ``kbps`` x ``fps`` x ``roi_level`` around region
``roi_index`` (level 0 is encoded once per clip and measured for every region). Each cell keeps
per-frame sizes, types and quality (whole-frame PSNR, every region's PSNR / SSIM), so a profile
answers both "what does the encoder send" and "what quality does each region get" -- including
regions *outside* the encoded ROI (a missed prediction).

Bitrates and resolution: with ``reference=(1920, 1080)`` the grid's kbps are bitrates of a
reference-resolution stream, and clips are encoded at the same bits per pixel
(``native kbps = kbps * W * H / (1920 * 1080)``); sizes are scaled back to the reference. The
authors' tiers (200 ... 3150 kbps) are 1080p, so the shipped profile uses this mapping.

Cells are cached one JSON file each under ``<out>.cells/`` so an interrupted run resumes.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from artic_rl.errors import InputError
from artic_rl.video.encoder import Encoder, EncoderSettings
from artic_rl.video.profile import FORMAT, VERSION
from artic_rl.video.roi import Region

DEFAULT_KBPS: tuple[float, ...] = (100, 150, 200, 300, 400, 610, 910, 1300, 1710, 2400, 3150, 4000)
DEFAULT_FPS: tuple[float, ...] = (1, 2, 5, 10, 15, 30)
DEFAULT_ROI_LEVELS: tuple[int, ...] = (0, 1, 2, 3)
REFERENCE_1080P = (1920, 1080)


@dataclass(frozen=True)
class ClipSpec:
    """Where a clip comes from: a video file, or a synthetic clip (``synthetic_seed``)."""

    path: str = ""
    synthetic_seed: int | None = None
    width: int = 640  # synthetic clips only
    height: int = 360
    seconds: float = 4.0
    regions: tuple[Region, ...] = ()  # for files: regions given on the command line

    @property
    def name(self) -> str:
        return self.path if self.synthetic_seed is None else f"synthetic:{self.synthetic_seed}"


@dataclass(frozen=True)
class LoadedClip:
    clip_id: str
    width: int
    height: int
    fps: float
    frames: np.ndarray  # (n, h * 3 // 2, w) yuv420p
    regions: tuple[Region, ...]


@dataclass(frozen=True)
class CellSpec:
    """One encode of the grid."""

    clip: ClipSpec
    kbps: float  # reference kbps (native when there is no reference)
    fps: float
    roi_level: int
    roi_index: int  # -1 for level 0
    kbps_scale: float  # native kbps per reference kbps
    preset: str = "veryfast"

    def key(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha1(blob.encode()).hexdigest()[:16]


def load_clip(spec: ClipSpec) -> LoadedClip:
    """Frames and regions of a clip; an unreadable video raises InputError naming the file."""
    if spec.synthetic_seed is not None:
        from artic_rl.video.clips import make_clip

        clip = make_clip(spec.synthetic_seed, spec.width, spec.height, spec.seconds)
        regions = tuple(q.region for q in clip.questions)
        return LoadedClip(clip.clip_id, clip.width, clip.height, clip.fps, clip.frames, regions)
    return _load_file(spec)


def _load_file(spec: ClipSpec) -> LoadedClip:
    import av

    path = Path(spec.path)
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            rate = float(stream.average_rate or stream.guessed_rate or 30)
            n_max = max(1, round(spec.seconds * rate))
            frames = []
            for frame in container.decode(stream):
                frames.append(frame)
                if len(frames) >= n_max:
                    break
    except (av.FFmpegError, IndexError, OSError) as err:
        raise InputError(f"cannot read video: {err}", path) from err
    if not frames:
        raise InputError("no video frames", path)
    w, h = frames[0].width // 2 * 2, frames[0].height // 2 * 2
    arr = np.stack([f.reformat(width=w, height=h, format="yuv420p").to_ndarray() for f in frames])
    regions = tuple(r.clipped(w, h) for r in spec.regions)
    if not regions:  # default: the central quarter of the frame
        regions = (Region(w * 3 // 8, h * 3 // 8, w // 4, h // 4),)
    return LoadedClip(path.stem, w, h, round(rate, 3), arr, regions)


@lru_cache(maxsize=2)
def _cached_clip(spec: ClipSpec) -> LoadedClip:
    return load_clip(spec)


def run_cell(cell: CellSpec) -> dict:
    """Encode one cell and return its JSON-able record."""
    clip = _cached_clip(cell.clip)
    nominal = clip.fps
    settings = EncoderSettings(
        clip.width, clip.height, preset=cell.preset, nominal_fps=nominal,
        measure_quality=True, full_frame_ssim=False,
    )  # fmt: skip
    region = clip.regions[cell.roi_index] if cell.roi_level > 0 else None
    enc = Encoder(
        settings, kbps=cell.kbps * cell.kbps_scale, fps=min(cell.fps, nominal),
        roi_level=cell.roi_level, region=region, quality_regions=clip.regions,
    )  # fmt: skip
    sizes, types, psnr_f, psnr_r, ssim_r = [], [], [], [], []
    for i, frame in enumerate(clip.frames):
        out = enc.encode(frame, i * 1000.0 / nominal)
        if out is None:
            continue
        rec = out.record
        sizes.append(rec.size_bytes)
        types.append(rec.frame_type)
        psnr_f.append(round(rec.psnr_frame_db, 3))
        psnr_r.append([round(v, 3) for v in rec.psnr_regions_db])
        ssim_r.append([round(v, 5) for v in rec.ssim_regions])
    duration_s = len(clip.frames) / nominal
    native_kbps = sum(sizes) * 8 / duration_s / 1000
    return {
        "key": cell.key(),
        "clip_id": clip.clip_id,
        "kbps_target": cell.kbps,
        "fps": cell.fps,
        "roi_level": cell.roi_level,
        "roi_index": cell.roi_index,
        "kbps_actual": native_kbps / cell.kbps_scale,
        "kbps_native": native_kbps,
        "size_bytes": sizes,
        "frame_type": "".join(types),
        "psnr_frame_db": psnr_f,
        "psnr_regions_db": psnr_r,
        "ssim_regions": ssim_r,
    }


def grid_cells(
    clips: Sequence[tuple[ClipSpec, LoadedClip]],
    kbps: Iterable[float],
    fps: Iterable[float],
    roi_levels: Iterable[int],
    reference: tuple[int, int] | None,
    preset: str = "veryfast",
) -> list[CellSpec]:
    """Every cell of the grid, clip by clip (so a worker reuses its loaded clip)."""
    cells = []
    for spec, clip in clips:
        scale = (
            1.0 if reference is None else clip.width * clip.height / (reference[0] * reference[1])
        )
        for level in roi_levels:
            indices = [-1] if level == 0 else list(range(len(clip.regions)))
            for idx in indices:
                for k in kbps:
                    for f in fps:
                        cells.append(CellSpec(spec, float(k), float(f), level, idx, scale, preset))
    return cells


def run_grid(
    cells: Sequence[CellSpec],
    cache_dir: Path,
    jobs: int = 1,
    progress: bool = True,
    on_error: Callable[[CellSpec, Exception], None] | None = None,
) -> list[dict]:
    """Run (or read from ``cache_dir``) every cell; in parallel over ``jobs`` processes."""
    from tqdm import tqdm

    cache_dir.mkdir(parents=True, exist_ok=True)
    done: dict[str, dict] = {}
    todo = []
    for cell in cells:
        f = cache_dir / f"{cell.key()}.json"
        if f.exists():
            try:
                done[cell.key()] = json.loads(f.read_text())
                continue
            except json.JSONDecodeError:
                pass  # a cell cut off mid-write: redo it
        todo.append(cell)
    bar = tqdm(
        total=len(cells),
        initial=len(cells) - len(todo),
        disable=not progress,
        file=sys.stderr,
        unit="cell",
    )

    def store(cell: CellSpec, rec: dict) -> None:
        tmp = cache_dir / f"{cell.key()}.json.tmp"
        tmp.write_text(json.dumps(rec))
        tmp.replace(cache_dir / f"{cell.key()}.json")
        done[cell.key()] = rec
        bar.update()

    if jobs <= 1:
        for cell in todo:
            _run_one(cell, store, on_error)
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(run_cell, c): c for c in todo}
            for fut in as_completed(futures):
                cell = futures[fut]
                try:
                    store(cell, fut.result())
                except Exception as err:  # noqa: BLE001 - reported, the other cells go on
                    if on_error is None:
                        raise
                    on_error(cell, err)
    bar.close()
    return [done[c.key()] for c in cells if c.key() in done]


def _run_one(cell: CellSpec, store: Callable[[CellSpec, dict], None], on_error) -> None:
    try:
        store(cell, run_cell(cell))
    except Exception as err:  # noqa: BLE001
        if on_error is None:
            raise
        on_error(cell, err)


def build_profile(
    clips: Sequence[tuple[ClipSpec, LoadedClip]],
    cells: list[dict],
    reference: tuple[int, int] | None,
    preset: str,
) -> dict:
    """The versioned profile document."""
    import platform

    import av

    meta = {
        "encoder": "libx264",
        "preset": preset,
        "tune": "zerolatency",
        "rate_control": "CBR (maxrate = bitrate), VBV 0.5 s, no B-frames, fps-compensated",
        "roi": "addroi nested rings, qoffset 0..0.5 (see artic_rl.video.roi)",
        "reference_resolution": list(reference) if reference else None,
        "kbps_units": "reference-resolution kbps at equal bits per pixel"
        if reference
        else "native kbps",
        "pyav": av.__version__,
        "libraries": {k: ".".join(map(str, v)) for k, v in av.library_versions.items()},
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    clip_docs = [
        {
            "clip_id": c.clip_id,
            "source": s.name,
            "width": c.width,
            "height": c.height,
            "fps": c.fps,
            "frames": int(len(c.frames)),
            "regions": [
                {**asdict(r), "area": r.area_fraction(c.width, c.height)} for r in c.regions
            ],
        }
        for s, c in clips
    ]
    return {
        "format": FORMAT,
        "version": VERSION,
        "metadata": meta,
        "clips": clip_docs,
        "cells": cells,
    }


def cell_summary(cell: dict, clip: dict) -> dict:
    """The one-line JSON summary of a cell (``artic-rl profile show``)."""
    idx = max(cell["roi_index"], 0)
    sizes = cell["size_bytes"]
    roi_psnr = [fr[idx] for fr in cell["psnr_regions_db"]]
    roi_ssim = [fr[idx] for fr in cell["ssim_regions"]]
    return {
        "clip_id": cell["clip_id"],
        "kbps_target": cell["kbps_target"],
        "fps": cell["fps"],
        "roi_level": cell["roi_level"],
        "roi_index": cell["roi_index"],
        "roi_area": clip["regions"][idx]["area"],
        "kbps_actual": round(cell["kbps_actual"], 2),
        "bytes_per_frame": round(
            float(np.mean(sizes)) / max(cell.get("kbps_native", 1) / cell["kbps_actual"], 1e-12), 1
        )
        if sizes
        else 0.0,
        "keyframe_bytes": int(sizes[0]) if sizes else 0,
        "psnr_frame_db": round(float(np.mean(cell["psnr_frame_db"])), 3) if sizes else math.nan,
        "psnr_roi_db": round(float(np.mean(roi_psnr)), 3) if sizes else math.nan,
        "ssim_roi": round(float(np.mean(roi_ssim)), 5) if sizes else math.nan,
    }
