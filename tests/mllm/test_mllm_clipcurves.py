"""``artic-rl accuracy clip-curves``: the OCR judge measured on one clip's own questions."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from artic_rl.cli import main
from artic_rl.errors import InputError
from artic_rl.mllm.clipcurves import (
    FORMAT,
    clip_samples,
    fit_clip_curves,
    judged_age_s,
    load_clip_curves,
    merge_aged,
    write_clip_curves,
)

KBPS = [100.0, 300.0, 900.0, 2700.0]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from artic_rl.video.clips import make_clip

    out = tmp_path_factory.mktemp("clip")
    return make_clip(7, 640, 360, 2.0).save(out / "clip.mp4", crf=10, preset="medium")


def test_one_sample_per_segment_start_and_question(clip: Path) -> None:
    samples = clip_samples(clip.with_suffix(".json"), str(clip), every_s=0.5, segment_s=1.0)
    doc = json.loads(clip.with_suffix(".json").read_text())
    starts = sorted({s.start_s for s in samples})
    # a 2 s clip (60 frames) plays forwards then backwards, a cycle of 118 frames (3.93 s): a 1 s
    # segment starts every 0.5 s over it
    assert starts == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
    assert len(samples) == 8 * len(doc["questions"])
    assert len({s.key for s in samples}) == len(samples)  # the harness's cache key is unique
    first = [s for s in samples if s.start_s == 0.0]
    assert [s.answer for s in first] == [str(q["answer"]) for q in doc["questions"]]
    r = doc["questions"][0]["region"]
    assert first[0].roi is not None and first[0].roi.x0 == pytest.approx(r["x"] / doc["width"])


def test_fit_takes_the_share_answered_at_each_bitrate(clip: Path) -> None:
    samples = clip_samples(clip.with_suffix(".json"), str(clip), every_s=0.5, segment_s=1.0)
    # question 1 is read at 900 kbps and above in every segment, question 2 never
    rows = [
        SimpleNamespace(sample=s.key, kbps=k, correct=(s.line == 1 and k >= 900.0))
        for s in samples
        for k in [0.0, *KBPS]
    ]
    doc = fit_clip_curves(rows, samples, KBPS, {"clip_id": "c"})
    assert doc["format"] == FORMAT and doc["kbps"] == KBPS
    q1, q2 = doc["questions"][:2]
    assert q1["measured"] == [0.0, 0.0, 1.0, 1.0] and q1["samples"] == 8
    assert q1["original"] == 0.0  # kbps 0 (the original) is kept apart from the curve
    assert 300.0 < q1["mid_kbps"] < 900.0 and q1["ceiling"] == pytest.approx(1.0, abs=1e-3)
    assert q2["measured"] == [0.0] * 4 and q2["ceiling"] < 0.01


def test_written_curves_load_by_question_and_bad_files_name_themselves(
    clip: Path, tmp_path: Path
) -> None:
    doc = {"format": FORMAT, "questions": [{"question": "What?", "floor": 0.0, "ceiling": 1.0,
                                             "mid_kbps": 500.0, "steepness": 3.0}]}  # fmt: skip
    path = tmp_path / "c.json"
    write_clip_curves(doc, path)
    assert load_clip_curves(path) == {
        "What?": {"floor": 0.0, "ceiling": 1.0, "mid_kbps": 500.0, "steepness": 3.0}
    }
    (tmp_path / "bad.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(InputError, match="bad.json.*not a clip-curves file"):
        load_clip_curves(tmp_path / "bad.json")
    del doc["questions"][0]["mid_kbps"]
    write_clip_curves(doc, path)
    with pytest.raises(InputError, match=r"questions\[0\]"):
        load_clip_curves(path)


def test_several_segment_lengths_give_one_curve_per_picture_age(tmp_path: Path) -> None:
    # the judge samples at 2 fps from the segment's first frame (its keyframe): the newest frame it
    # sees in a 1 s segment at 30 fps is frame 15 (0.5 s old), in a 4 s segment frame 105 (3.5 s)
    assert judged_age_s(1.0, 30.0) == 0.5 and judged_age_s(4.0, 30.0) == 3.5
    assert judged_age_s(1.0, 25.0) == 0.48  # frame round(12.5) = 12 of 25

    def doc(segment_s: float, mid: float) -> dict:
        curve = {"floor": 0.0, "ceiling": 1.0, "mid_kbps": mid, "steepness": 3.0}
        return {"format": FORMAT, "segment_s": segment_s,
                "questions": [{"question": "What?", **curve}]}  # fmt: skip

    merged = merge_aged([doc(4.0, 400.0), doc(1.0, 900.0)], fps=30.0)
    assert merged["segment_s"] == 1.0 and merged["questions"][0]["mid_kbps"] == 900.0
    assert [a["age_s"] for a in merged["aged"]] == [0.5, 3.5]
    path = tmp_path / "aged.json"
    write_clip_curves(merged, path)
    curve = load_clip_curves(path)["What?"]
    assert curve["mid_kbps"] == 900.0
    assert curve["aged"] == ((500.0, 0.0, 1.0, 900.0, 3.0), (3500.0, 0.0, 1.0, 400.0, 3.0))
    assert "aged" not in merge_aged([doc(1.0, 900.0)], fps=30.0)  # one length: one curve
    with pytest.raises(InputError, match="two segment lengths judge pictures of one age"):
        merge_aged([doc(1.0, 900.0), doc(1.01, 800.0)], fps=30.0)
    merged["aged"][1]["questions"][0]["question"] = "Who?"
    write_clip_curves(merged, path)
    with pytest.raises(InputError, match=r"aged.json.*aged\[1\].questions\[0\].*curves lack"):
        load_clip_curves(path)


def test_the_judge_on_a_clip_end_to_end(clip: Path, tmp_path: Path) -> None:
    pytest.importorskip("rapidocr_onnxruntime")
    out = tmp_path / "curves.json"
    argv = ["accuracy", "clip-curves", "--video", str(clip), "--out", str(out)]
    assert main([*argv, "--kbps", "150,3150", "--every-s", "1"]) == 0
    doc = json.loads(out.read_text())
    questions = json.loads(clip.with_suffix(".json").read_text())["questions"]
    assert [q["question"] for q in doc["questions"]] == [q["question"] for q in questions]
    for q in doc["questions"]:
        assert q["samples"] == 4 and len(q["measured"]) == 2  # starts 0, 1, 2, 3 s of a cycle
    # the judge reads the signs on the near-lossless original and on a 3 Mbps (1080p) encode
    assert np.mean([q["original"] for q in doc["questions"]]) >= 0.5
    assert np.mean([q["measured"][1] for q in doc["questions"]]) >= 0.5
    assert np.mean([q["measured"][0] for q in doc["questions"]]) < 0.5  # and not at 150 kbps


def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["accuracy", "clip-curves", "--video", str(tmp_path / "none.mp4")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "none.mp4: no such video file" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--every-s", "0"], "--every-s must be positive"),
        (["--segment-s", "1", "2", "--every-s", "1", "0"], "--every-s must be positive"),
        (["--segment-s", "1", "2", "--every-s", "1", "1", "1"], "one per --segment-s length (2)"),
        (["--segment-s", "-1"], "--segment-s must be positive"),
        (["--segment-s", "1", "1"], "--segment-s: a length given twice"),
        (["--kbps", "100,x"], "--kbps expects comma-separated numbers"),
        # a clip longer than the streamer plays forwards then backwards: segments must fit in it
        (["--segment-s", "5", "--pingpong", "30"], "shorter than one 5 s segment"),
        (["--segment-s", "0.5", "5", "--pingpong", "30"], "shorter than one 5 s segment"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    clip: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    message: str,
) -> None:
    if "--pingpong" in argv:
        k = argv.index("--pingpong")
        monkeypatch.setattr("artic_rl.video.playback.PINGPONG_MAX_FRAMES", int(argv[k + 1]))
        argv = argv[:k] + argv[k + 2 :]
    out = tmp_path / "curves.json"
    assert main(["accuracy", "clip-curves", "--video", str(clip), "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not out.exists()
    assert not list(clip.parent.glob("*-0.5s.jsonl"))  # nothing measured before the error


def test_each_segment_is_encoded_once_per_bitrate_for_all_its_questions(
    clip: Path, tmp_path: Path
) -> None:
    from artic_rl.mllm.harness import AnswerCache, HarnessConfig, run_harness

    class CountingDegrader:
        calls = 0

        def degrade(self, frames, fps, kbps, roi_level, region):  # type: ignore[no-untyped-def]
            CountingDegrader.calls += 1
            return iter(list(frames))

    class Judge:
        name = "fake"

        def answer(self, frames, question, roi):  # type: ignore[no-untyped-def]
            return SimpleNamespace(text="x", latency_ms=0.0, error=None)

    grader = SimpleNamespace(grade=lambda question, text, answer: False)
    samples = clip_samples(clip.with_suffix(".json"), str(clip), every_s=0.5, segment_s=1.0)
    n_questions = len(json.loads(clip.with_suffix(".json").read_text())["questions"])
    assert n_questions > 1
    config = HarnessConfig(kbps=(0.0, *KBPS), roi_levels=(0,), max_frames=1, segment_s=1.0,
                           max_height=None, played=True)  # fmt: skip
    cache = AnswerCache(tmp_path / "answers.jsonl")
    result = run_harness(samples, clip.parent, Judge(), grader, CountingDegrader(), config, cache)
    assert len(result.rows) == len(samples) * (1 + len(KBPS))
    assert CountingDegrader.calls == 8 * len(KBPS)  # 8 segments, not 8 x the questions


def test_a_segment_longer_than_the_clip_is_cut_from_the_clip_as_the_streamer_plays_it(
    clip: Path,
) -> None:
    from artic_rl.mllm.clipcurves import segment_starts
    from artic_rl.mllm.media import read_played_segment, read_segment
    from artic_rl.video.playback import played_index

    whole, fps = read_segment(clip, 0.0, float("inf"))
    assert len(whole) == 60
    starts, played = segment_starts(clip, 1.0, 5.0)  # 5 s from a 2 s clip
    assert played and list(starts) == [0.0, 1.0, 2.0, 3.0]
    frames, fps2 = read_played_segment(clip, 1.5, 5.0)
    assert fps2 == fps and len(frames) == 150
    # forwards to the last frame, backwards to the first, forwards again
    expected = [45 + i if 45 + i < 60 else played_index(45 + i, 60) for i in range(150)]
    assert expected[14:17] == [59, 58, 57] and expected[72:75] == [1, 0, 1]
    for got, k in zip(frames, expected, strict=True):
        assert np.array_equal(got, whole[k])
