"""The project's own DeViBench-style question set over the synthetic chat scenes, and the OCR
accuracy profile measured on it.

``write_synth_bench`` renders ``artic_rl.video.clips`` scenes to lossless FFV1 files and writes a
question CSV in DeViBench's current schema plus ``video``, ``roi`` (the sign's region, fractions of
the frame) and ``text_size``. ``artic-rl devibench --csv <dir>/questions.csv --videos <dir>
--judge ocr`` then measures the offline OCR judge on it, and ``fit_ocr_params`` turns that run's
``results.csv`` into the ``ocr`` accuracy model (one saturation curve per question).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from artic_rl.errors import InputError
from artic_rl.mllm.fit import fit_curve

FIELDS = ("sample_id", "start_time", "question", "std_answer", "Frame", "task_type", "video",
          "roi", "text_size")  # fmt: skip


def _write_lossless(path: Path, frames: np.ndarray, width: int, height: int, fps: float) -> None:
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("ffv1", rate=int(round(fps)))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for yuv in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(yuv, format="yuv420p")))
        out.mux(stream.encode(None))


def write_synth_bench(
    out_dir: str | Path,
    seeds: Sequence[int],
    width: int = 640,
    height: int = 360,
    seconds: float = 3.0,
) -> Path:
    """Render the clips of ``seeds`` and their questions under ``out_dir``; the CSV's path."""
    from artic_rl.video.clips import make_clip

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for seed in seeds:
        clip = make_clip(seed, width=width, height=height, seconds=seconds)
        video = f"{clip.clip_id}.mkv"
        if not (out / video).is_file():
            _write_lossless(out / video, clip.frames, clip.width, clip.height, clip.fps)
        for q in clip.questions:
            r = q.region.clipped(clip.width, clip.height)
            roi = (r.x / clip.width, r.y / clip.height, (r.x + r.w) / clip.width,
                   (r.y + r.h) / clip.height)  # fmt: skip
            rows.append(
                {
                    "sample_id": clip.clip_id,
                    "start_time": 0,
                    "question": q.question,
                    "std_answer": q.answer,
                    "Frame": "Single",
                    "task_type": "Text-Rich Understanding",
                    "video": video,
                    "roi": " ".join(f"{v:.5f}" for v in roi),
                    "text_size": q.text_size,
                }
            )
    path = out / "questions.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_results(path: str | Path, roi_level: int = 0) -> dict[str, dict[float, bool]]:
    """``results.csv`` of a harness run -> {sample: {kbps: correct}} at one ROI level."""
    path = Path(path)
    table: dict[str, dict[float, bool]] = defaultdict(dict)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            for line, row in enumerate(csv.DictReader(fh), start=2):
                try:
                    if int(row["roi_level"]) == roi_level:
                        table[row["sample"]][float(row["kbps"])] = row["correct"] == "True"
                except (KeyError, ValueError) as err:
                    raise InputError(f"not a harness results row: {err}", path, line) from err
    except OSError as err:
        raise InputError(f"cannot read: {err}", path) from err
    return dict(table)


def fit_ocr_params(
    results: dict[str, dict[float, bool]], mix: dict[str, dict[str, int]], source: str
) -> dict[str, Any]:
    """The ``ocr`` model's parameter document from per-question correctness against bitrate.

    As in DeViBench's construction, a question counts only if the judge answers it correctly on
    the original video (``kbps == 0``); the others measure the judge, not the encoding.
    """
    kept = {s: r for s, r in sorted(results.items()) if r.get(0.0, False)}
    if not kept:
        raise InputError("no question was answered correctly on the original video")
    kbps = sorted({k for r in kept.values() for k in r if k > 0})
    complete = {s: r for s, r in kept.items() if all(k in r for k in kbps)}
    values = np.array([[float(r[k]) for k in kbps] for r in complete.values()])
    curves = [
        dict(id=s, **fit_curve(np.array(kbps), v)) for s, v in zip(complete, values, strict=True)
    ]
    return {
        "name": "ocr",
        "source": source,
        "curve": "c(k) = floor + (ceiling - floor) / (1 + (mid_kbps / k) ** steepness)",
        "fit_kbps": kbps,
        "measured_mean": [round(float(v), 6) for v in values.mean(axis=0)],
        "measured_share_ge_0.8": [round(float(v), 6) for v in (values >= 0.8).mean(axis=0)],
        "questions_total": len(results),
        "questions_right_on_original": len(kept),
        "category_mix": mix,
        "curves": curves,
    }
