"""DeViBench question files: the current open-ended schema, the older multiple-choice one, ours.

Current (``datasets.csv``): ``sample_id, start_time, question, std_answer, Frame, task_type``.
Older (``datasets_v1.csv``): ``sample_folder, start_time, question, options, standard_answer,
task_type`` (the answer is an option letter; the options are put into the question).
The project's own sets (synthetic chat scenes) use the current schema plus optional ``video``
(a file name under the videos folder) and ``roi`` (``x0 y0 x1 y1``, fractions of the frame).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from artic_rl.errors import InputError
from artic_rl.mllm.accuracy import CATEGORIES
from artic_rl.mllm.judges import Box

SEGMENT_S = 5.0  # DeViBench asks about the 5 s from start_time
VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".mov", ".avi")
_BY_TASK = {v.lower(): k for k, v in CATEGORIES.items()}


@dataclass(frozen=True)
class Sample:
    """One benchmark question about a video segment."""

    sample_id: str
    start_s: float
    question: str
    answer: str
    category: str
    multi_frame: bool
    options: str | None = None
    video: str | None = None
    roi: Box | None = None
    line: int = 0

    @property
    def key(self) -> str:
        """Identity of the question in caches and result files (file line keeps it unique)."""
        return f"{self.sample_id}@{self.start_s:g}#{self.line}"

    def prompt_question(self) -> str:
        """The question as asked: multiple-choice options appended when there are any."""
        if not self.options:
            return self.question
        return f"{self.question}\nOptions:\n{self.options}\nAnswer with the option's letter."


def _category(task: str, path: Path, line: int) -> str:
    key = task.strip().lower()
    if key in _BY_TASK:
        return _BY_TASK[key]
    if key in CATEGORIES:
        return key
    raise InputError(f"unknown task type {task!r}", path, line, "task_type")


def _roi(text: str, path: Path, line: int) -> Box | None:
    if not text.strip():
        return None
    try:
        x0, y0, x1, y1 = (float(v) for v in text.replace(",", " ").split())
        return Box(x0, y0, x1, y1)
    except ValueError as err:
        raise InputError(
            f"roi must be 'x0 y0 x1 y1' in [0, 1]: {text!r}", path, line, "roi"
        ) from err


def _row_to_sample(row: dict[str, str], path: Path, line: int) -> Sample:
    old = "sample_folder" in row
    sample_id = (row.get("sample_folder") if old else row.get("sample_id")) or ""
    answer = (row.get("standard_answer") if old else row.get("std_answer")) or ""
    if not sample_id.strip():
        raise InputError("empty sample id", path, line, "sample_id")
    try:
        start_s = float(row.get("start_time") or 0.0)
    except ValueError as err:
        raise InputError("not a number", path, line, "start_time") from err
    question = (row.get("question") or "").strip()
    if not question:
        raise InputError("empty question", path, line, "question")
    return Sample(
        sample_id=sample_id.strip(),
        start_s=start_s,
        question=question,
        answer=answer.strip(),
        category=_category(row.get("task_type") or "", path, line),
        multi_frame=(row.get("Frame") or "").strip().lower() == "multi",
        options=(row.get("options") or "").strip() or None,
        video=(row.get("video") or "").strip() or None,
        roi=_roi(row.get("roi") or "", path, line),
        line=line,
    )


def load_samples(path: str | Path) -> list[Sample]:
    """All samples of a DeViBench-style CSV (either schema), in file order."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            fields = set(reader.fieldnames or ())
            if not (
                {"sample_id", "std_answer"} <= fields
                or {"sample_folder", "standard_answer"} <= fields
            ):
                raise InputError(
                    "not a DeViBench file: need sample_id+std_answer or sample_folder+standard_answer",
                    path,
                    1,
                )
            return [_row_to_sample(row, path, reader.line_num) for row in reader]
    except OSError as err:
        raise InputError(f"cannot read: {err}", path) from err


def find_video(videos_dir: str | Path, sample: Sample) -> Path | None:
    """The sample's video under ``videos_dir``, or None when it is not there.

    Looks, in order, for the ``video`` column's file, then ``<id>.<ext>``, ``sample_<id>.<ext>``
    and the first video file (sorted) inside a folder ``<id>/`` or ``sample_<id>/``.
    """
    root = Path(videos_dir)
    if sample.video:
        p = root / sample.video
        return p if p.is_file() else None
    sid = sample.sample_id
    names = [sid] if sid.startswith("sample_") else [sid, f"sample_{sid}"]
    for name in names:
        for suffix in VIDEO_SUFFIXES:
            if (root / f"{name}{suffix}").is_file():
                return root / f"{name}{suffix}"
        folder = root / name
        if folder.is_dir():
            found = sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
            if found:
                return found[0]
    return None
