"""Options wired into the encoder beyond the libx264 default: intra refresh, libx265, libvpx-vp9."""

from __future__ import annotations

import numpy as np
import pytest

from artic_rl.video.encoder import Encoder, EncoderSettings, FrameRecord
from artic_rl.video.roi import Region

W, H = 192, 112
REGION = Region(64, 32, 64, 48)


def _moving_frames(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, size=(H * 3 // 2, W + n), dtype=np.uint8)
    return np.stack([np.ascontiguousarray(base[:, i : i + W]) for i in range(n)])


def _encode(
    settings: EncoderSettings, n: int, kbps: float, roi_level: int = 0
) -> list[FrameRecord]:
    enc = Encoder(
        settings,
        kbps=kbps,
        roi_level=roi_level,
        region=REGION if roi_level else None,
        quality_regions=(REGION,),
    )
    outs = [enc.encode(f, i * 1000 / 30) for i, f in enumerate(_moving_frames(n))]
    assert all(o is not None and o.data and o.decoded_y is not None for o in outs)
    return [o.record for o in outs if o is not None]


def test_intra_refresh_has_no_idr_after_the_first_frame_and_decodes() -> None:
    s = EncoderSettings(W, H, intra_refresh=True, keyint=10, measure_quality=True)
    recs = _encode(s, 30, 600)
    assert recs[0].keyframe and recs[0].frame_type == "I"
    # no IDR after the first: every 10 frames a refresh wave starts (a recovery point, P slices)
    assert [r.frame_type for r in recs[1:]] == ["P"] * 29
    assert [i for i, r in enumerate(recs) if r.keyframe] == [0, 10, 20]
    periodic = _encode(EncoderSettings(W, H, keyint=10, measure_quality=True), 30, 600)
    assert [i for i, r in enumerate(periodic) if r.frame_type == "I"] == [0, 10, 20]  # IDR frames


@pytest.mark.parametrize("codec", ["libx265", "libvpx-vp9"])
def test_alternative_codec_encodes_and_decodes(codec: str) -> None:
    s = EncoderSettings(W, H, codec=codec, measure_quality=True, full_frame_ssim=False)
    recs = _encode(s, 8, 600)
    assert recs[0].keyframe and len(recs) == 8
    assert all(r.size_bytes > 0 and r.psnr_frame_db > 15.0 for r in recs)


def test_vp9_honours_roi_lower_qp_inside_the_region() -> None:
    s = EncoderSettings(W, H, codec="libvpx-vp9", measure_quality=True, export_qp=True)
    recs = _encode(s, 10, 600, roi_level=3)
    qp_roi = np.nanmean([r.qp_roi for r in recs])
    qp_frame = np.nanmean([r.qp_frame for r in recs])
    assert qp_roi < qp_frame - 10  # VP9 q-index, 0..255
