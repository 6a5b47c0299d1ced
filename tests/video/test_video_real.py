"""Acceptance checks of the real encoder on the real shared clips (../shared/data/videos).

The default run uses short clips and a few grid cells (well under a minute); the full-size checks
(every clip, 5 s, the issue's whole grid) are marked ``slow`` (``pytest -m slow``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from artic_rl.video.encoder import Encoder, EncoderSettings, FrameRecord, achieved_kbps
from artic_rl.video.profiler import ClipSpec, LoadedClip, load_clip

CLIPS = ("bottle-detection.mp4", "one-by-one-person-detection.mp4", "book.mkv", "thanks.mkv")
TIERS_KBPS = (200, 400, 610, 910, 1710, 3150)  # the authors' tiers, as native kbps of the clip
FPS_GRID = (1, 2, 5, 10, 15, 30)
RATE_TOLERANCE = 0.15
QP_FLOOR = 2.0  # mean P-frame QP at or below this: (near-)lossless, nothing left to spend


def _clip(shared_data: Path, name: str, seconds: float) -> LoadedClip:
    return load_clip(ClipSpec(path=str(shared_data / "videos" / name), seconds=seconds))


def _encode(
    clip: LoadedClip, kbps: float, fps: float, roi_level: int = 0, **settings: bool
) -> tuple[list[FrameRecord], float]:
    """Encode the whole clip; the records of the sent frames and the achieved kbps."""
    region = clip.regions[0]
    s = EncoderSettings(clip.width, clip.height, nominal_fps=clip.fps, **settings)  # type: ignore[arg-type]
    enc = Encoder(
        s,
        kbps=kbps,
        fps=fps,
        roi_level=roi_level,
        region=region if roi_level else None,
        quality_regions=(region,),
    )
    recs = [
        o.record for i, f in enumerate(clip.frames) if (o := enc.encode(f, i * 1000 / clip.fps))
    ]
    return recs, achieved_kbps([r.size_bytes for r in recs], enc.sent_fps)


def _within(kbps_actual: float, kbps: float) -> bool:
    return abs(kbps_actual / kbps - 1.0) <= RATE_TOLERANCE


@pytest.mark.shared
def test_rate_accuracy_small_grid(shared_data: Path) -> None:
    clip = _clip(shared_data, "one-by-one-person-detection.mp4", 3.0)
    cells = [(k, f) for k in (200, 400, 610, 910) for f in (2, 5, 10)]
    ratios = {(k, f): _encode(clip, k, f)[1] / k for k, f in cells}
    inside = [c for c, r in ratios.items() if abs(r - 1.0) <= RATE_TOLERANCE]
    assert len(inside) >= 0.9 * len(cells), ratios


@pytest.mark.shared
@pytest.mark.slow
def test_rate_accuracy_full_grid(shared_data: Path) -> None:
    """Every clip, 5 s, the issue's grid. Cells where x264 is already at its QP floor (the clip is
    coded near-losslessly and only filler could add bits) are counted but cannot pass; of the
    rest, at least 90% must be within +-15%."""
    rows = []
    for name in CLIPS:
        clip = _clip(shared_data, name, 5.0)
        for k in TIERS_KBPS:
            for f in FPS_GRID:
                recs, actual = _encode(clip, k, f, export_qp=True)
                qp = float(np.nanmean([r.qp_frame for r in recs[1:]]))
                rows.append((name, k, f, actual / k, qp))
    floor = [r for r in rows if r[3] < 1 - RATE_TOLERANCE and r[4] <= QP_FLOOR]
    rest = [r for r in rows if r not in floor]
    inside = [r for r in rest if abs(r[3] - 1.0) <= RATE_TOLERANCE]
    assert len(inside) >= 0.9 * len(rest), [r for r in rest if r not in inside]
    assert all(r[3] < 1 for r in floor)  # the floor only ever explains an undershoot


def _roi_gain(clip: LoadedClip) -> tuple[float, float, float]:
    """ROI PSNR gain of level 2 over uniform at 200 kbps, and level 2's mean QP in / out."""
    psnr, qp_in, qp_frame = {}, 0.0, 0.0
    for level in (0, 2):
        recs, _ = _encode(
            clip, 200, clip.fps, level, measure_quality=True, full_frame_ssim=False, export_qp=True
        )
        psnr[level] = float(np.mean([r.psnr_regions_db[0] for r in recs]))
        if level:
            qp_in = float(np.nanmean([r.qp_roi for r in recs]))
            qp_frame = float(np.nanmean([r.qp_frame for r in recs]))
    return psnr[2] - psnr[0], qp_in, qp_frame


@pytest.mark.shared
def test_roi_level2_raises_roi_psnr_3db_at_200kbps(shared_data: Path) -> None:
    gain_db, qp_in, qp_frame = _roi_gain(_clip(shared_data, "book.mkv", 1.5))
    assert gain_db >= 3.0
    assert qp_in < qp_frame - 3.0


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.parametrize("name", CLIPS)
def test_roi_level2_raises_roi_psnr_3db_full(shared_data: Path, name: str) -> None:
    gain_db, qp_in, qp_frame = _roi_gain(_clip(shared_data, name, 5.0))
    assert gain_db >= 3.0
    assert qp_in < qp_frame - 3.0


def _fps_check(clip: LoadedClip, kbps: float, low_fps: float) -> None:
    out = {}
    for fps in (low_fps, clip.fps):
        recs, _ = _encode(clip, kbps, fps, measure_quality=True, full_frame_ssim=False)
        out[fps] = (np.mean([r.size_bytes for r in recs]), np.mean([r.psnr_frame_db for r in recs]))
    assert out[low_fps][0] > 2 * out[clip.fps][0]  # more bytes per frame
    assert out[low_fps][1] > out[clip.fps][1] + 1.0  # higher per-frame quality (dB)


@pytest.mark.shared
def test_lower_fps_same_bitrate_bigger_better_frames(shared_data: Path) -> None:
    _fps_check(_clip(shared_data, "book.mkv", 2.0), 400, 5)


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.parametrize("name", CLIPS)
def test_lower_fps_same_bitrate_bigger_better_frames_full(shared_data: Path, name: str) -> None:
    _fps_check(_clip(shared_data, name, 5.0), 200, 2)
