"""The DeViBench harness: CSV schemas, missing videos, cache and resume, outputs, CLI."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import av
import numpy as np
import pytest

from artic_rl.cli import main
from artic_rl.errors import InputError
from artic_rl.mllm.devibench import find_video, load_samples
from artic_rl.mllm.harness import AnswerCache, HarnessConfig, run_harness, summarise, write_outputs
from artic_rl.mllm.judges import Answer, Box, ExactMatchGrader
from artic_rl.mllm.media import ProjectDegrader, read_segment, sample_indices

CURRENT = (
    "\ufeffsample_id,start_time,question,std_answer,Frame,task_type\n"
    "1,0,What is shown?,bright,Single,Text-Rich Understanding\n"
    "2,0,What colour?,red,Multi,Attribute Perception\n"
    "3,1,Missing video?,x,Single,Counting\n"
)
OLD = (
    "sample_folder,start_time,question,options,standard_answer,task_type\n"
    'sample_1,10,Which stadium?,"A) One\nB) Two",B,Text-Rich Understanding\n'
)


def write_video(path: Path, n: int = 30, fps: int = 10, size: tuple[int, int] = (64, 48)) -> None:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(n):
            rgb = np.full((size[1], size[0], 3), (i * 8) % 256, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


class BrightnessJudge:
    """Answers 'bright' when the newest frame's mean is above 100: enough to tell frames apart."""

    name = "stub"

    def __init__(self) -> None:
        self.calls: list[tuple[int, str, Box | None]] = []

    def answer(
        self, frames: Sequence[np.ndarray], question: str, region: Box | None = None
    ) -> Answer:
        self.calls.append((len(frames), question, region))
        return Answer("bright" if frames[-1].mean() > 100 else "dark", 1.0, self.name)


class CountingDegrader:
    name = "identity"

    def __init__(self) -> None:
        self.calls: list[float] = []

    def degrade(self, frames: Iterable[np.ndarray], fps: float, kbps: float, roi_level: int,
                region: Box | None) -> Iterator[np.ndarray]:  # fmt: skip
        self.calls.append(kbps)
        yield from frames


def test_both_schemas(tmp_path: Path) -> None:
    cur, old = tmp_path / "cur.csv", tmp_path / "old.csv"
    cur.write_text(CURRENT, encoding="utf-8")
    old.write_text(OLD, encoding="utf-8")
    a = load_samples(cur)
    assert [s.category for s in a] == ["text", "attribute", "counting"]
    assert [s.multi_frame for s in a] == [False, True, False]
    assert a[0].key == "1@0#2" and a[0].answer == "bright"
    b = load_samples(old)
    assert b[0].sample_id == "sample_1" and b[0].answer == "B" and b[0].start_s == 10
    assert "Options:\nA) One\nB) Two" in b[0].prompt_question()
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "sample_id,start_time,question,std_answer,Frame,task_type\n1,0,q,a,Single,Dance\n"
    )
    with pytest.raises(InputError, match=r"bad.csv:2 \(field 'task_type'\)"):
        load_samples(bad)


@pytest.mark.shared
def test_real_devibench_files_load(shared_data: Path) -> None:
    cur = load_samples(shared_data / "devibench" / "datasets.csv")
    assert len(cur) == 1968 and sum(s.multi_frame for s in cur) == 163
    assert sum(s.category == "text" for s in cur) == 1611
    old = load_samples(shared_data / "devibench" / "datasets_v1.csv")
    assert len(old) == 1074 and all(s.options for s in old)


def test_find_video_layouts(tmp_path: Path) -> None:
    samples = load_samples_from(tmp_path)
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "1.mp4").write_bytes(b"")
    (tmp_path / "v" / "sample_2").mkdir()
    (tmp_path / "v" / "sample_2" / "b.mkv").write_bytes(b"")
    (tmp_path / "v" / "sample_2" / "a.mp4").write_bytes(b"")
    assert find_video(tmp_path / "v", samples[0]) == tmp_path / "v" / "1.mp4"
    assert find_video(tmp_path / "v", samples[1]) == tmp_path / "v" / "sample_2" / "a.mp4"
    assert find_video(tmp_path / "v", samples[2]) is None


def load_samples_from(tmp_path: Path) -> list:
    p = tmp_path / "cur.csv"
    p.write_text(CURRENT, encoding="utf-8")
    return load_samples(p)


def test_sample_indices_golden() -> None:
    assert sample_indices(150, 30.0, 2.0, 10) == list(range(0, 150, 15))
    assert sample_indices(150, 30.0, 2.0, 3) == [105, 120, 135]
    assert sample_indices(5, 10.0, 20.0, 10) == [0, 1, 2, 3, 4]  # never faster than the source
    assert sample_indices(0, 30.0, 2.0, 10) == []


def test_read_segment_cuts_the_window(tmp_path: Path) -> None:
    write_video(tmp_path / "v.mp4", n=30, fps=10)
    frames, fps = read_segment(tmp_path / "v.mp4", 1.0, 1.5)
    assert fps == 10.0 and len(frames) == 15
    assert abs(float(frames[0].mean()) - 80) < 6  # frame 10 has value 80


def test_harness_runs_caches_and_resumes(tmp_path: Path) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(videos / "1.mp4", n=30)  # newest sampled frame value 232: "bright"
    write_video(videos / "2.mp4", n=10)  # newest value 72: "dark", reference red
    samples = load_samples_from(tmp_path)
    config = HarnessConfig(kbps=(0.0, 200.0), roi_levels=(0, 1), judge_fps=2.0, max_frames=4)
    judge, degrader = BrightnessJudge(), CountingDegrader()
    cache = AnswerCache(tmp_path / "cache.jsonl")
    res = run_harness(samples, videos, judge, ExactMatchGrader(), degrader, config, cache)
    assert res.missing_videos == ["3@1#4"]
    assert res.skipped_roi == 2 and res.calls == 4 and len(res.rows) == 4
    assert [r.correct for r in res.rows] == [True, True, False, False]
    assert judge.calls[0][0] == 4  # 30 frames at 10 fps, judge at 2 fps: 0, 5, ..., 25 -> newest 4
    # 64x48 at the 1080p reference's bits per pixel: 200 * 3072 / 2073600 kbps
    assert degrader.calls == [pytest.approx(200 * 64 * 48 / (1920 * 1080))] * 2
    # a second run answers from the cache, even in a new process (reload from disk)
    judge2 = BrightnessJudge()
    res2 = run_harness(samples, videos, judge2, ExactMatchGrader(), degrader, config,
                       AnswerCache(tmp_path / "cache.jsonl"))  # fmt: skip
    assert judge2.calls == [] and res2.calls == 0 and all(r.cached for r in res2.rows)
    summary = summarise(res2.rows)
    overall = [s for s in summary if s["category"] == "all"]
    assert [(s["kbps"], s["accuracy"]) for s in overall] == [(0.0, 0.5), (200.0, 0.5)]
    paths = write_outputs(tmp_path / "out", res2, {"title": "t"})
    doc = json.loads(paths["summary_json"].read_text())
    assert doc["missing_videos"] == 1 and doc["answers"] == 4
    assert paths["plot"].stat().st_size > 1000
    assert paths["results"].read_text().count("\n") == 5


def test_interrupted_cache_line_is_ignored(tmp_path: Path) -> None:
    cache = AnswerCache(tmp_path / "c.jsonl")
    cache.put("k1", {"answer": "a", "latency_ms": 1.0, "error": None})
    with (tmp_path / "c.jsonl").open("a") as fh:
        fh.write('{"key": "k2", "ans')
    again = AnswerCache(tmp_path / "c.jsonl")
    assert len(again) == 1 and again.get("k1")["answer"] == "a"
    assert AnswerCache.key("s", 200, 0, "m") != AnswerCache.key("s", 200, 1, "m")


def test_project_degrader_degrades(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, size=(64, 96, 3), dtype=np.uint8) for _ in range(10)]
    out = list(ProjectDegrader().degrade(frames, 10.0, 20.0, 0, None))
    assert len(out) == 10 and out[0].shape == (64, 96, 3)
    err = np.mean(np.abs(out[-1].astype(float) - frames[-1].astype(float)))
    assert err > 20  # 20 kbps cannot carry noise


def test_cli_devibench_end_to_end(tmp_path: Path) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(videos / "1.mp4", n=20)
    csv_path = tmp_path / "cur.csv"
    csv_path.write_text(CURRENT, encoding="utf-8")
    args = ["devibench", "--csv", str(csv_path), "--videos", str(videos), "--kbps", "0,400",
            "--judge", "ocr", "--reference", "none", "--out", str(tmp_path / "out"), "--quiet"]  # fmt: skip
    assert main(args) == 0
    doc = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert doc["missing_videos"] == 2 and doc["answers"] == 2 and doc["judge"] == "ocr"
    assert doc["encoder"] == "artic_rl.video"  # always the project encoder
    assert main([*args[:-1], "--kbps", "x"]) == 2
    assert main(["devibench", "--csv", str(tmp_path / "nope.csv"), "--videos", "."]) == 2
