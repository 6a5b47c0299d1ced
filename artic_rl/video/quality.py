"""Objective quality of decoded frames: PSNR and SSIM on the luma plane, whole frame and region."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter

from artic_rl.video.roi import Region

PSNR_CAP_DB = 100.0  # identical images
_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2


def psnr_db(ref: np.ndarray, dist: np.ndarray) -> float:
    """PSNR in dB of 8-bit images (capped at ``PSNR_CAP_DB`` for identical inputs)."""
    diff = ref.astype(np.float32) - dist.astype(np.float32)
    mse = float(np.mean(diff * diff))
    if mse <= 0.0:
        return PSNR_CAP_DB
    return min(PSNR_CAP_DB, 10.0 * np.log10(255.0 * 255.0 / mse))


def ssim_map(ref: np.ndarray, dist: np.ndarray, window: int = 7) -> np.ndarray:
    """Per-pixel SSIM (Wang et al. 2004) with a ``window`` x ``window`` box filter, float32."""
    x = ref.astype(np.float32)
    y = dist.astype(np.float32)
    mx = uniform_filter(x, window)
    my = uniform_filter(y, window)
    sxx = uniform_filter(x * x, window) - mx * mx
    syy = uniform_filter(y * y, window) - my * my
    sxy = uniform_filter(x * y, window) - mx * my
    num = (2 * mx * my + _C1) * (2 * sxy + _C2)
    den = (mx * mx + my * my + _C1) * (sxx + syy + _C2)
    return num / den


@dataclass(frozen=True)
class FrameQuality:
    """Luma quality of one decoded frame; ``*_roi`` are per region, in the order given."""

    psnr_frame_db: float
    ssim_frame: float
    psnr_roi_db: tuple[float, ...]
    ssim_roi: tuple[float, ...]


def frame_quality(
    ref_y: np.ndarray, dec_y: np.ndarray, regions: tuple[Region, ...] = (), full_ssim: bool = True
) -> FrameQuality:
    """PSNR / SSIM of the whole luma plane and of each region.

    With ``full_ssim=False`` the frame SSIM is NaN and each region's SSIM is computed on its crop
    (a few times faster; edges of the crop use reflected borders).
    """
    smap = ssim_map(ref_y, dec_y) if full_ssim else None
    psnr_roi = []
    ssim_roi = []
    for region in regions:
        rows, cols = region.slices()
        r, d = ref_y[rows, cols], dec_y[rows, cols]
        psnr_roi.append(psnr_db(r, d))
        crop = smap[rows, cols] if smap is not None else ssim_map(r, d)
        ssim_roi.append(float(np.mean(crop)))
    return FrameQuality(
        psnr_frame_db=psnr_db(ref_y, dec_y),
        ssim_frame=float(np.mean(smap)) if smap is not None else float("nan"),
        psnr_roi_db=tuple(psnr_roi),
        ssim_roi=tuple(ssim_roi),
    )
