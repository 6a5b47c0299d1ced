"""The DeViBench harness: degrade each segment, sample frames, ask a judge, grade, tabulate.

For every sample whose video is present, for every bitrate and ROI level: cut the 5 s segment,
degrade it (``kbps == 0`` means the original, untouched), keep the frames a judge sampling at
``judge_fps`` sees, ask, grade. Answers are cached on disk (JSON lines keyed by sample, bitrate,
ROI level and model), so an interrupted run resumes without repeating calls. Samples whose video
is missing are counted and reported, never fatal.
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from artic_rl.mllm.devibench import SEGMENT_S, Sample, find_video
from artic_rl.mllm.judges import Grader, Judge
from artic_rl.mllm.media import Degrader, read_played_segment, read_segment, sample_indices


@dataclass(frozen=True)
class Row:
    """One graded answer."""

    sample: str
    category: str
    multi_frame: bool
    kbps: float
    roi_level: int
    model: str
    answer: str
    reference: str
    correct: bool
    latency_ms: float
    cached: bool
    error: str | None = None


@dataclass
class HarnessResult:
    rows: list[Row] = field(default_factory=list)
    missing_videos: list[str] = field(default_factory=list)
    skipped_roi: int = 0  # (sample, ROI level > 0) pairs skipped: the sample has no region
    calls: int = 0
    wall_s: float = 0.0


class AnswerCache:
    """Answers on disk, one JSON object per line, keyed by (sample, kbps, ROI level, model)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._data: dict[str, dict[str, Any]] = {}
        if self.path.is_file():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    rec = json.loads(line)
                    self._data[rec["key"]] = rec
                except (json.JSONDecodeError, KeyError):
                    continue  # a line cut short by an interruption
        self.path.parent.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def key(sample: str, kbps: float, roi_level: int, model: str) -> str:
        raw = json.dumps([sample, float(kbps), int(roi_level), model])
        return hashlib.sha1(raw.encode("utf-8")).hexdigest()

    def get(self, key: str) -> dict[str, Any] | None:
        return self._data.get(key)

    def put(self, key: str, record: dict[str, Any]) -> None:
        record = {"key": key, **record}
        self._data[key] = record
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    def __len__(self) -> int:
        return len(self._data)


@dataclass(frozen=True)
class HarnessConfig:
    """What to measure: bitrates (0 = original), ROI levels, the judge's sampling."""

    kbps: tuple[float, ...]
    roi_levels: tuple[int, ...] = (0,)
    judge_fps: float = 2.0
    max_frames: int = 10
    segment_s: float = SEGMENT_S
    max_height: int | None = 1080
    #: bitrates are for this many pixels (1080p, the authors' tiers); other resolutions are
    #: encoded at the same bits per pixel. None: bitrates are used as given.
    reference_pixels: int | None = 1920 * 1080
    #: segments are cut from the clip as the streamer's camera plays it (forwards then backwards,
    #: :func:`~artic_rl.mllm.media.read_played_segment`), so they may outlast the clip
    played: bool = False

    def native_kbps(self, kbps: float, width: int, height: int) -> float:
        """The bitrate given to the encoder for a ``width`` x ``height`` video."""
        if self.reference_pixels is None:
            return kbps
        return kbps * width * height / self.reference_pixels


def _judge_frames(
    sample: Sample,
    source: tuple[list[np.ndarray], float],
    kbps: float,
    roi_level: int,
    degrader: Degrader,
    config: HarnessConfig,
) -> list[np.ndarray]:
    """The frames the judge sees: degrade (unless ``kbps == 0``), then sample at its rate."""
    frames, fps = source
    if kbps > 0 and frames:
        native = config.native_kbps(kbps, frames[0].shape[1], frames[0].shape[0])
        frames = list(degrader.degrade(frames, fps, native, roi_level, sample.roi))
    idx = sample_indices(len(frames), fps, config.judge_fps, config.max_frames)
    return [frames[i] for i in idx]


class _SegmentMemo:
    """The current segment's source and judge frames, shared by the questions about it.

    Several questions about one segment (adjacent rows) reuse one uniform encode per bitrate; ROI
    encodes are shared only by questions about the same region.
    """

    def __init__(self, degrader: Degrader, config: HarnessConfig) -> None:
        self.degrader, self.config = degrader, config
        self.segment: tuple[Path, float] | None = None
        self.source: tuple[list[np.ndarray], float] | None = None
        self.judged: dict[tuple[float, int, Any], list[np.ndarray]] = {}

    def use(self, video: Path, start_s: float) -> None:
        if self.segment != (video, start_s):
            self.segment, self.source, self.judged = (video, start_s), None, {}

    def frames(self, sample: Sample, kbps: float, roi_level: int) -> list[np.ndarray]:
        key = (kbps, roi_level, sample.roi if roi_level > 0 else None)
        if key not in self.judged:
            if self.source is None:
                assert self.segment is not None
                c = self.config
                read = read_played_segment if c.played else read_segment
                self.source = read(*self.segment, c.segment_s, c.max_height)
            self.judged[key] = _judge_frames(
                sample, self.source, kbps, roi_level, self.degrader, self.config
            )
        return self.judged[key]


def _ask(judge: Judge, sample: Sample, frames: list[np.ndarray]) -> dict[str, Any]:
    if not frames:
        return {"answer": "", "latency_ms": 0.0, "error": "no decoded frames"}
    ans = judge.answer(frames, sample.prompt_question(), sample.roi)
    return {"answer": ans.text, "latency_ms": ans.latency_ms, "error": ans.error}


def _jobs(sample: Sample, config: HarnessConfig, result: HarnessResult) -> list[tuple[float, int]]:
    jobs: list[tuple[float, int]] = []
    for roi_level in config.roi_levels:
        if roi_level > 0 and sample.roi is None:
            result.skipped_roi += 1
            continue
        # the original (kbps 0) is not encoded: it is asked once, at level 0
        jobs.extend((float(k), roi_level) for k in config.kbps if k > 0 or roi_level == 0)
    return jobs


def run_harness(
    samples: Sequence[Sample],
    videos_dir: str | Path,
    judge: Judge,
    grader: Grader,
    degrader: Degrader,
    config: HarnessConfig,
    cache: AnswerCache,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> HarnessResult:
    """Measure ``judge`` on every (sample, bitrate, ROI level); see the module docstring.

    Encoding runs here, one job after another; judge calls run ``workers`` at a time.
    ``progress(done, calls)`` is called after each answer (``calls``: not from the cache).
    """
    result = HarnessResult()
    start = time.perf_counter()
    memo = _SegmentMemo(degrader, config)
    with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
        for sample in samples:
            video = find_video(videos_dir, sample)
            if video is None:
                result.missing_videos.append(sample.key)
                continue
            memo.use(video, sample.start_s)
            pending: list[tuple[float, int, str, Future[dict[str, Any]] | dict[str, Any]]] = []
            for kbps, roi_level in _jobs(sample, config, result):
                key = AnswerCache.key(sample.key, kbps, roi_level, judge.name)
                rec = cache.get(key)
                if rec is None:
                    frames = memo.frames(sample, kbps, roi_level)
                    pending.append((kbps, roi_level, key, pool.submit(_ask, judge, sample, frames)))
                else:
                    pending.append((kbps, roi_level, key, rec))
            for kbps, roi_level, key, job in pending:
                cached = isinstance(job, dict)
                rec = job if isinstance(job, dict) else job.result()
                if not cached:
                    result.calls += 1
                    if rec["error"] is None:  # failed calls are retried on the next run
                        cache.put(key, rec)
                correct = rec.get("error") is None and grader.grade(
                    sample.question, rec["answer"], sample.answer
                )
                result.rows.append(
                    Row(sample.key, sample.category, sample.multi_frame, kbps, roi_level,
                        judge.name, rec["answer"], sample.answer, bool(correct),
                        float(rec["latency_ms"]), cached, rec.get("error"))
                )  # fmt: skip
                if progress is not None:
                    progress(len(result.rows), result.calls)
    result.wall_s = time.perf_counter() - start
    return result


def summarise(rows: Sequence[Row]) -> list[dict[str, Any]]:
    """Accuracy per (category, bitrate, ROI level), plus category ``all``; sorted."""
    groups: dict[tuple[str, float, int], list[Row]] = defaultdict(list)
    for r in rows:
        groups[(r.category, r.kbps, r.roi_level)].append(r)
        groups[("all", r.kbps, r.roi_level)].append(r)
    out = []
    for (cat, kbps, level), rs in sorted(groups.items()):
        out.append(
            {
                "category": cat,
                "kbps": kbps,
                "roi_level": level,
                "n": len(rs),
                "correct": sum(r.correct for r in rs),
                "accuracy": round(sum(r.correct for r in rs) / len(rs), 4),
                "mean_latency_ms": round(float(np.mean([r.latency_ms for r in rs])), 2),
            }
        )
    return out


def write_outputs(
    out_dir: str | Path, result: HarnessResult, meta: dict[str, Any]
) -> dict[str, Path]:
    """results.csv (every answer), summary.csv, summary.json, accuracy.png under ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {k: out / v for k, v in (("results", "results.csv"), ("summary_csv", "summary.csv"),
                                      ("summary_json", "summary.json"), ("plot", "accuracy.png"))}  # fmt: skip
    names = list(Row.__dataclass_fields__)
    with paths["results"].open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=names)
        writer.writeheader()
        writer.writerows(asdict(r) for r in result.rows)
    summary = summarise(result.rows)
    with paths["summary_csv"].open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(summary[0]) if summary else ["category"])
        writer.writeheader()
        writer.writerows(summary)
    doc = {
        **meta,
        "answers": len(result.rows),
        "judge_calls": result.calls,
        "missing_videos": len(result.missing_videos),
        "missing_samples": result.missing_videos[:50],
        "skipped_roi_without_region": result.skipped_roi,
        "wall_s": round(result.wall_s, 2),
        "summary": summary,
    }
    paths["summary_json"].write_text(json.dumps(doc, indent=1), encoding="utf-8")
    plot_summary(summary, paths["plot"], title=str(meta.get("title", "DeViBench harness")))
    return paths


def plot_summary(summary: Sequence[dict[str, Any]], path: Path, title: str) -> None:
    """Accuracy against bitrate, one line per category (solid: uniform, dashed: ROI levels)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    lines: dict[tuple[str, int], list[tuple[float, float]]] = defaultdict(list)
    for s in summary:
        if s["kbps"] > 0:
            lines[(s["category"], s["roi_level"])].append((s["kbps"], s["accuracy"]))
    for (cat, level), pts in sorted(lines.items()):
        pts.sort()
        style = "-" if level == 0 else "--"
        ax.plot(*zip(*pts, strict=True), style, marker="o", label=f"{cat} (ROI {level})")
    ax.set_xscale("log")
    ax.set_xlabel("bitrate (kbps)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if lines:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
