"""Per-clip accuracy curves: the judge measured on one clip's own questions.

The ``ocr`` accuracy model is a population: 54 questions over 20 synthetic scenes, each measured
once per bitrate on a 3-second clip. A fidelity comparison streams *one* clip, whose few questions
are not that population's average (the clip's signs may all be easy, or all hard), so the
simulator's accuracy, drawn from the population, cannot predict the stream's judged accuracy
however faithful the transport is. :func:`measure_clip_curves` measures the judge on the clip's
own questions the way the streamer asks them (one frame, the question's box, the stream's grader)
and fits one saturation curve per question (``artic_rl.mllm.accuracy``'s form, in 1080p-equivalent
kbps at ROI level 0 and the full frame rate): the simulator's codec profile maps a frame's rate,
frame rate and ROI level to that equivalent bitrate, exactly as for the population curves.

Each point is the share of ``segment_s`` segments, one starting every ``every_s`` seconds over the
clip, whose judged frame (the segment's newest frame at the judge's 2 fps sampling, after the
encoder has settled) is answered correctly: a clip that pans shows each sign at many positions
and scales, and the curve averages over them. The encodes are the harness's
(:class:`~artic_rl.mllm.media.ProjectDegrader`: libx264 CBR at the same bits per pixel as the
1080p stream the profile describes).

Segments are cut from the clip as the streamer's camera plays it, forwards then backwards
(:func:`segment_starts`), so they may outlast the clip. Each segment is encoded from its first
frame, a keyframe, so its judged frame shows a picture refined for ``segment_s`` less one judge
period (0.5 s for 1 s segments). A stream refines a
still scene's picture for as long as its chain of frames since the last keyframe lasts (a whole
minute on a steady link), so one segment length describes one age of the picture. Several
lengths (:func:`merge_aged`) give one curve per age, which the simulator reads at each answering
frame's age since its keyframe (:func:`artic_rl.mllm.accuracy.curve_value`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from artic_rl.errors import InputError

FORMAT = "artic-rl-clip-curves"
CURVE_KEYS = ("floor", "ceiling", "mid_kbps", "steepness")


def clip_samples(questions_path: str | Path, video: str, every_s: float, segment_s: float) -> list:
    """One harness sample per (segment start, question) of an ``artic-rl clips`` questions JSON."""
    from artic_rl.mllm.devibench import Sample
    from artic_rl.mllm.judges import Box

    path = Path(questions_path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        w, h = float(doc["width"]), float(doc["height"])
        items = doc["questions"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise InputError(f"not a clip questions file: {err}", path) from err
    starts, _ = segment_starts(video, every_s, segment_s)
    boxes = []
    for q in items:
        r = q.get("region")
        boxes.append(
            Box(max(r["x"] / w, 0.0), max(r["y"] / h, 0.0),
                min((r["x"] + r["w"]) / w, 1.0), min((r["y"] + r["h"]) / h, 1.0)) if r else None
        )  # fmt: skip
    samples = []  # a segment's questions are adjacent, so the harness encodes it once per bitrate
    for s in starts:
        for k, (q, box) in enumerate(zip(items, boxes, strict=True), start=1):
            samples.append(
                Sample(str(doc.get("clip_id", path.stem)), round(float(s), 6), q["question"],
                       str(q["answer"]), "text", False, video=Path(video).name, roi=box, line=k)
            )  # fmt: skip
    return samples


def segment_starts(video: str | Path, every_s: float, segment_s: float) -> tuple[np.ndarray, bool]:
    """The starts of the measured segments and whether they are cut from the clip as played.

    A clip the streamer's camera plays forwards then backwards (at most ``PINGPONG_MAX_FRAMES``
    frames, :mod:`artic_rl.video.playback`) is measured as played: a segment starts every
    ``every_s`` over one cycle and may outlast the clip, so that a picture may be as old as a
    stream's. A longer clip restarts with a scene cut: its segments start every ``every_s`` over
    the clip and must fit in it.
    """
    from artic_rl.video.playback import PINGPONG_MAX_FRAMES, played_period_frames
    from artic_rl.video.probe import probe_video, video_fps

    seconds = probe_video(Path(video))[1]  # as far as its packets reach
    fps = video_fps(Path(video))
    n_frames = int(round(seconds * fps))
    if n_frames <= PINGPONG_MAX_FRAMES:
        return np.arange(0.0, played_period_frames(n_frames) / fps - 1e-9, every_s), True
    starts = np.arange(0.0, seconds - segment_s + 1e-9, every_s)
    if starts.size == 0:
        raise InputError(
            f"the video ({seconds:.1f} s, more than the {PINGPONG_MAX_FRAMES} frames the streamer "
            f"plays forwards then backwards) is shorter than one {segment_s:g} s segment",
            video,
        )
    return starts, False


def fit_clip_curves(
    rows: Sequence[Any], samples: Sequence[Any], kbps: Sequence[float], source: dict[str, Any]
) -> dict[str, Any]:
    """The clip-curves document from harness rows (``sample`` key, ``kbps``, ``correct``) about
    ``samples``: per question, the share answered correctly at each bitrate and its fitted curve."""
    from artic_rl.mllm.fit import fit_curve

    by_key = {s.key: s for s in samples}
    by_q: dict[int, dict[float, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        by_q[by_key[r.sample].line][float(r.kbps)].append(bool(r.correct))
    first = {s.line: s for s in reversed(samples)}
    questions = []
    for line in sorted(by_q):
        points = by_q[line]
        if any(not points.get(float(k)) for k in kbps):
            raise InputError(f"question {line}: no measurement at some bitrate")
        measured = [float(np.mean(points[float(k)])) for k in kbps]
        original = points.get(0.0, [])
        questions.append(
            {
                "question": first[line].question,
                "answer": first[line].answer,
                "original": round(float(np.mean(original)), 6) if original else None,
                "measured": [round(v, 6) for v in measured],
                "samples": len(points[float(kbps[0])]),
                **fit_curve(np.asarray(kbps, dtype=float), np.asarray(measured)),
            }
        )
    return {"format": FORMAT, **source, "kbps": [float(k) for k in kbps], "questions": questions}


def measure_clip_curves(
    video: str | Path,
    questions_path: str | Path,
    judge: Any,
    grader: Any,
    kbps: Sequence[float],
    every_s: float = 1.0,
    segment_s: float = 1.0,
    preset: str = "veryfast",
    cache_path: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Measure ``judge`` on the clip's questions at ``kbps`` (and the original) and fit curves."""
    from artic_rl.mllm.harness import AnswerCache, HarnessConfig, run_harness
    from artic_rl.mllm.media import ProjectDegrader

    video = Path(video)
    samples = clip_samples(questions_path, str(video), every_s, segment_s)
    played = segment_starts(video, every_s, segment_s)[1]
    config = HarnessConfig(
        kbps=(0.0, *kbps), roi_levels=(0,), max_frames=1, segment_s=segment_s, max_height=None,
        played=played,
    )  # fmt: skip
    if cache_path is None:  # the answers' key holds the sample, bitrate and judge, not these
        cache_path = video.with_name(f"{video.stem}.clip-answers-{preset}-{segment_s:g}s.jsonl")
    cache = AnswerCache(cache_path)
    result = run_harness(
        samples, video.parent, judge, grader, ProjectDegrader(preset), config, cache,
        progress=progress,
    )  # fmt: skip
    if result.missing_videos:
        raise InputError("video not found", video)
    source = {
        "clip_id": samples[0].sample_id if samples else video.stem,
        "video": video.name,
        "judge": judge.name,
        "every_s": every_s,
        "segment_s": segment_s,
        "played": played,
        "encoder": f"{ProjectDegrader.name} libx264 {preset}, 1080p-equivalent kbps, ROI level 0",
    }
    return fit_clip_curves(result.rows, samples, list(kbps), source)


def judged_age_s(segment_s: float, fps: float, judge_fps: float = 2.0) -> float:
    """The age of a segment's judged frame since its keyframe (the segment's first frame): the
    newest frame a judge sampling at ``judge_fps`` sees."""
    from artic_rl.mllm.media import sample_indices

    n = max(int(round(segment_s * fps)), 1)
    return sample_indices(n, fps, judge_fps, 1)[0] / fps


def merge_aged(docs: Sequence[dict[str, Any]], fps: float) -> dict[str, Any]:
    """One clip-curves document from measurements at several segment lengths (the shortest
    first): its curves are the shortest's, and ``aged`` holds every length's curves with their
    judged frames' age (:func:`judged_age_s`), youngest first."""
    docs = sorted(docs, key=lambda d: float(d["segment_s"]))
    aged = [
        {
            "segment_s": d["segment_s"],
            "age_s": round(judged_age_s(float(d["segment_s"]), fps), 6),
            "questions": d["questions"],
        }
        for d in docs
    ]
    ages = [a["age_s"] for a in aged]
    if len(set(ages)) != len(ages):
        raise InputError(f"two segment lengths judge pictures of one age: {ages}")
    return {**docs[0], "aged": aged} if len(docs) > 1 else docs[0]


def write_clip_curves(doc: dict[str, Any], path: str | Path) -> None:
    """Write the document whole (a temporary file renamed into place)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)


def load_clip_curves(path: str | Path) -> dict[str, dict[str, Any]]:
    """``question text -> curve parameters`` of a clip-curves file, with ``aged`` (the
    :class:`~artic_rl.mllm.accuracy.Question` field) when it holds several picture ages;
    InputError names the file."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read clip curves: {err}", path) from err
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(f"not a clip-curves file (format is not {FORMAT!r})", path, field="format")
    out: dict[str, dict[str, Any]] = {}
    for i, q in enumerate(doc.get("questions", [])):
        try:
            out[str(q["question"])] = {k: float(q[k]) for k in CURVE_KEYS}
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"bad curve: {err}", path, field=f"questions[{i}]") from err
    aged: dict[str, list[tuple[float, ...]]] = {text: [] for text in out}
    for a, entry in enumerate(doc.get("aged", [])):
        try:
            age_ms = 1000.0 * float(entry["age_s"])
            for i, q in enumerate(entry["questions"]):
                where = f"aged[{a}].questions[{i}]"
                if str(q["question"]) not in aged:
                    raise InputError("a question the file's curves lack", path, field=where)
                curve = tuple(float(q[k]) for k in CURVE_KEYS)
                aged[str(q["question"])].append((age_ms, *curve))
        except InputError:
            raise
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"bad aged curve: {err}", path, field=f"aged[{a}]") from err
    for text, rows in aged.items():
        if rows:
            rows.sort()
            if any(r[0] <= 0.0 for r in rows) or len({r[0] for r in rows}) != len(rows):
                raise InputError(
                    f"{text!r}: ages must be positive and distinct", path, field="aged"
                )
            out[text]["aged"] = tuple(rows)
    return out
