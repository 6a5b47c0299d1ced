"""Golden and behavioural tests of the video path: ROI rings, NAL splitting, gate, encoder, profile."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from artic_rl.cli import main
from artic_rl.video.encoder import Encoder, EncoderSettings, FrameRateGate, split_nals
from artic_rl.video.quality import psnr_db
from artic_rl.video.roi import Region, delta_qp_map, roi_rings


def test_region_scaling_and_area_by_hand() -> None:
    r = Region(100, 50, 40, 20)
    assert r.area_fraction(400, 200) == pytest.approx(800 / 80000)
    assert r.scaled(2.0, 400, 200) == Region(80, 40, 80, 40)
    assert Region(390, 190, 40, 40).clipped(400, 200) == Region(390, 190, 10, 10)
    assert Region.parse("1,2,3,4") == Region(1, 2, 3, 4)


def test_roi_rings_level2_innermost_first() -> None:
    rings = roi_rings(2, Region(160, 80, 32, 16), 320, 160)
    assert [q for _, q in rings] == [0.0, 0.2, 0.3, 0.4]
    assert rings[0][0] == Region(160, 80, 32, 16)
    assert rings[-1][0] == Region(0, 0, 320, 160)
    assert roi_rings(0, Region(0, 0, 1, 1), 320, 160) == []
    grid = delta_qp_map(3, Region(160, 80, 32, 16), 320, 160)
    assert grid[5][10] == 0 and grid[0][0] == round(0.5 * 51)


def test_split_nals_handles_3_and_4_byte_start_codes() -> None:
    data = b"\x00\x00\x00\x01\x67AB\x00\x00\x01\x68C\x00\x00\x00\x01\x65DEF"
    assert split_nals(data) == [b"\x67AB", b"\x68C", b"\x65DEF"]
    trailing_zero = b"\x00\x00\x00\x01\x67\x42\x00\x00\x01\x68\xce\x00\x00\x00\x01\x65\x88\x84\x00"
    assert split_nals(trailing_zero) == [b"\x67\x42", b"\x68\xce", b"\x65\x88\x84"]
    assert split_nals(b"garbage") == [] and split_nals(b"\x00\x00\x01\x00\x00\x01\x09") == [b"\x09"]


def test_frame_rate_gate_keeps_every_third_frame_at_10_of_30() -> None:
    gate = FrameRateGate(10.0)
    kept = [i for i in range(30) if gate.keep(i * 1000 / 30)]
    assert kept == list(range(0, 30, 3))


def test_psnr_by_hand() -> None:
    a = np.zeros((4, 4), np.uint8)
    b = a.copy()
    b[0, 0] = 16  # mse = 256 / 16 = 16
    assert psnr_db(a, b) == pytest.approx(10 * math.log10(255**2 / 16))


def _moving_frames(n: int, w: int = 160, h: int = 96, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, size=(h * 3 // 2, w + n), dtype=np.uint8)
    return np.stack([np.ascontiguousarray(base[:, i : i + w]) for i in range(n)])


def test_encoder_fps_control_rate_and_keyframe_request() -> None:
    frames = _moving_frames(30)
    enc = Encoder(EncoderSettings(160, 96), kbps=300, fps=10)
    outs = [enc.encode(f, i * 1000 / 30) for i, f in enumerate(frames)]
    sent = [o for o in outs if o is not None]
    assert len(sent) == 10
    assert sent[0].record.keyframe and not sent[1].record.keyframe
    enc.request_keyframe()
    out = None
    for i in range(30, 40):
        out = enc.encode(frames[i % 30], i * 1000 / 30) or out
        if out is not None:
            break
    assert out is not None and out.record.frame_type == "I"
    assert out.nals and out.nals[0][0] & 0x1F in (1, 5, 6, 7, 9)


def test_lower_fps_same_bitrate_gives_bigger_better_frames() -> None:
    frames = _moving_frames(45, seed=1)
    region = Region(40, 32, 48, 32)
    result = {}
    for fps in (30.0, 5.0):
        enc = Encoder(
            EncoderSettings(160, 96, measure_quality=True),
            kbps=150,
            fps=fps,
            quality_regions=(region,),
        )
        recs = [o.record for i, f in enumerate(frames) if (o := enc.encode(f, i * 1000 / 30))]
        result[fps] = (
            np.mean([r.size_bytes for r in recs]),
            np.mean([r.psnr_frame_db for r in recs]),
        )
    assert result[5.0][0] > 3 * result[30.0][0]
    assert result[5.0][1] > result[30.0][1] + 1.0


def test_roi_level_raises_roi_quality_and_lowers_qp() -> None:
    frames = _moving_frames(30, w=192, h=112, seed=2)
    region = Region(64, 32, 64, 48)
    out = {}
    for level in (0, 3):
        settings = EncoderSettings(192, 112, measure_quality=True, export_qp=True)
        enc = Encoder(
            settings,
            kbps=1500,
            roi_level=level,
            region=region if level else None,
            quality_regions=(region,),
        )
        recs = [o.record for i, f in enumerate(frames) if (o := enc.encode(f, i * 1000 / 30))]
        out[level] = recs
    psnr0 = np.mean([r.psnr_regions_db[0] for r in out[0]])
    psnr3 = np.mean([r.psnr_regions_db[0] for r in out[3]])
    assert psnr3 > psnr0 + 1.0
    qp_roi = np.nanmean([r.qp_roi for r in out[3]])
    qp_frame = np.nanmean([r.qp_frame for r in out[3]])
    assert qp_roi < qp_frame - 3


def test_profile_roundtrip_and_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "p.json"
    code = main(
        ["profile", "synthetic:7", "--out", str(out), "--kbps", "200,800", "--fps", "5,30",
         "--roi-levels", "0,2", "--seconds", "1", "--size", "160x96", "--jobs", "1", "--no-progress"]
    )  # fmt: skip
    assert code == 0
    capsys.readouterr()
    assert main(["profile", "show", str(out)]) == 0
    lines = [json.loads(s) for s in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2 * 2 * (1 + 3)  # kbps x fps x (level 0 + level 2 on 3 regions)
    for key in (
        "kbps_target",
        "fps",
        "roi_level",
        "kbps_actual",
        "bytes_per_frame",
        "psnr_frame_db",
        "psnr_roi_db",
        "ssim_roi",
    ):
        assert key in lines[0]
    from artic_rl.video import CodecProfile

    prof = CodecProfile.load(out)
    assert prof.kbps_grid == (200.0, 800.0) and prof.fps_grid == (5.0, 30.0)
    # resumable: a second run reuses every cached cell (and gives the same file content)
    before = out.read_text()
    assert main(["profile", "synthetic:7", "--out", str(out), "--kbps", "200,800", "--fps", "5,30",
                 "--roi-levels", "0,2", "--seconds", "1", "--size", "160x96", "--jobs", "1", "--no-progress"]) == 0  # fmt: skip
    assert json.loads(out.read_text())["cells"] == json.loads(before)["cells"]


def test_corrupt_video_is_named_and_others_go_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all")
    out = tmp_path / "p.json"
    code = main(["profile", str(bad), "synthetic:3", "--out", str(out), "--kbps", "300", "--fps", "30",
                 "--roi-levels", "0", "--seconds", "0.5", "--size", "160x96", "--jobs", "1", "--no-progress"])  # fmt: skip
    assert code == 2
    assert "broken.mp4" in capsys.readouterr().err
    assert out.exists()


def test_bad_profile_file_is_an_input_error(tmp_path: Path) -> None:
    p = tmp_path / "x.json"
    p.write_text('{"format": "something else"}')
    assert main(["profile", "show", str(p)]) == 2


def test_default_profile_contract() -> None:
    from artic_rl.video import CodecProfile

    prof = CodecProfile.default()
    assert prof.roi_levels == (0, 1, 2, 3)
    assert prof.fps_grid == (1.0, 2.0, 5.0, 10.0, 15.0, 30.0)
    assert prof.kbps_grid[0] <= 100 and prof.kbps_grid[-1] >= 4000
    rng = np.random.default_rng(0)
    sizes = prof.frame_sizes_bytes(400, 10, 2, 200, rng)
    assert sizes.dtype == np.int64 and sizes.shape == (200,)
    # mean of many frames ~ the steady frame size; the bitrate it implies is near the target
    many = prof.frame_sizes_bytes(400, 30, 0, 5000, np.random.default_rng(1))
    assert 0.6 * 400 < many.mean() * 8 * 30 / 1000 < 1.4 * 400
    key = np.zeros(30, bool)
    key[0] = True
    with_key = prof.frame_sizes_bytes(910, 30, 0, 30, np.random.default_rng(2), key)
    assert with_key[0] > np.median(with_key[1:])
    # uniform full frame rate is the definition of the equivalent bitrate
    assert prof.equivalent_kbps(910, 30, 0, 0.05) == pytest.approx(910)
    # ROI and a lower frame rate raise it; a missed ROI gets less than a hit
    assert prof.equivalent_kbps(910, 30, 3, 0.02) > 910
    assert prof.equivalent_kbps(910, 2, 0, 0.02) > 910
    assert prof.equivalent_kbps(910, 30, 3, 0.02, roi_hit=False) < prof.equivalent_kbps(
        910, 30, 3, 0.02
    )
    # interpolation between grid points lies between the neighbours' values
    lo, hi = prof.equivalent_kbps(610, 10, 2, 0.05), prof.equivalent_kbps(910, 10, 2, 0.05)
    mid = prof.equivalent_kbps(745, 10, 2, 0.05)
    assert min(lo, hi) * 0.8 <= mid <= max(lo, hi) * 1.2
