"""scripts/encoder_undershoot.py: the streamer's encoder against its target, refused input."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts/encoder_undershoot.py"
spec = importlib.util.spec_from_file_location("encoder_undershoot", SCRIPT)
assert spec is not None and spec.loader is not None
encoder_undershoot = importlib.util.module_from_spec(spec)
spec.loader.exec_module(encoder_undershoot)


def _clip(tmp_path: Path) -> Path:
    video = tmp_path / "clip.mp4"
    video.with_suffix(".json").write_text(json.dumps({"width": 64, "height": 48, "fps": 30}))
    return video


@pytest.mark.parametrize(
    "extra", [["--vbv-buffer-s", "0.2"], ["--step", "300", "900", "--vbv-buffer-s", "0"]]
)
def test_a_vbv_buffer_needs_a_step_and_a_positive_length(tmp_path: Path, extra: list[str]) -> None:
    cmd = [sys.executable, str(SCRIPT), "--video", str(_clip(tmp_path)), *extra]
    run = subprocess.run(cmd, capture_output=True, text=True)
    assert run.returncode == 2
    assert "--vbv-buffer-s" in run.stderr.splitlines()[-1]


def test_the_step_opens_the_encoder_with_the_buffer_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[Any] = []

    class Stop(Exception):
        pass

    def make_encoder(settings: Any, **kwargs: Any) -> Any:
        opened.append(settings)
        raise Stop

    monkeypatch.setattr(encoder_undershoot, "make_encoder", make_encoder)
    for buffer_s in (0.1, None):
        with pytest.raises(Stop):
            encoder_undershoot.step_response(_clip(tmp_path), 300.0, 900.0, vbv_buffer_s=buffer_s)
    assert opened[0].vbv_buffer_s == 0.1
    assert opened[1].vbv_buffer_s == type(opened[1])(width=64, height=48).vbv_buffer_s


@pytest.mark.parametrize("extra", [["--after-s", "0"], ["--after-s", "1", "--window-s", "2"]])
def test_the_step_windows_must_fit_the_seconds_after_it(tmp_path: Path, extra: list[str]) -> None:
    cmd = [sys.executable, str(SCRIPT), "--video", str(_clip(tmp_path)), "--step", "300", "900"]
    run = subprocess.run([*cmd, *extra], capture_output=True, text=True)
    assert run.returncode == 2
    assert "--after-s" in run.stderr.splitlines()[-1]


def test_the_step_response_covers_the_seconds_asked_in_windows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each window averages the frames' bytes over the new target's: an encoder that sends half
    the old target before the step and exactly the new one after reads 1.0 in every window."""
    from types import SimpleNamespace

    class Encoder:
        kbps = 300.0

        def set_bitrate(self, kbps: float) -> None:
            self.kbps = kbps

        def encode(self, frame: object, t_ms: float) -> Any:
            size = self.kbps * 1000.0 / 8.0 / 30.0 * (1.0 if self.kbps == 900.0 else 0.5)
            return SimpleNamespace(record=SimpleNamespace(size_bytes=size))

    monkeypatch.setattr(encoder_undershoot, "make_encoder", lambda settings, **kw: Encoder())
    monkeypatch.setattr(encoder_undershoot, "video_frames", lambda *a: iter(lambda: 0, 1))
    shares = encoder_undershoot.step_response(
        _clip(tmp_path), 300.0, 900.0, after_s=3.0, window_s=0.5
    )
    assert shares == pytest.approx([1.0] * 6)
