"""Synthetic clips: deterministic from the seed, with questions whose regions hold the text."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from artic_rl.cli import main
from artic_rl.video.clips import make_clip


def test_same_seed_same_clip_other_seed_other_clip() -> None:
    a = make_clip(5, 160, 96, seconds=0.2)
    b = make_clip(5, 160, 96, seconds=0.2)
    c = make_clip(6, 160, 96, seconds=0.2)
    assert np.array_equal(a.frames, b.frames) and a.questions == b.questions
    assert not np.array_equal(a.frames, c.frames)


def test_questions_have_three_sizes_and_regions_inside_frame() -> None:
    clip = make_clip(1, 320, 180, seconds=0.5)
    assert [q.text_size for q in clip.questions] == ["small", "medium", "large"]
    for q in clip.questions:
        r = q.region
        assert r.x >= 0 and r.x + r.w <= 320 and r.y >= 0 and r.y + r.h <= 180
        assert q.answer and q.question.endswith("sign?")
    heights = [q.text_height_px for q in clip.questions]
    assert heights == sorted(heights)


def test_clips_command_writes_video_and_json(tmp_path: Path) -> None:
    assert (
        main(
            [
                "clips",
                "--out",
                str(tmp_path),
                "--seeds",
                "2",
                "--seconds",
                "0.3",
                "--size",
                "160x96",
            ]
        )
        == 0
    )
    doc = json.loads((tmp_path / "synth-0002.json").read_text())
    assert len(doc["questions"]) == 3
    assert (tmp_path / "synth-0002.mp4").stat().st_size > 0
