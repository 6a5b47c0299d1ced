"""Accuracy models: the probability that the cloud MLLM answers a question correctly.

The simulator's reward. No model is called here: every question carries a *saturation curve*
fitted to real MLLM measurements, and a query is a handful of float operations (about a
microsecond), so the environment can ask for every question at thousands of steps per second.

The curve of a question, in the equivalent bitrate ``k`` (kbps) its region received::

    c(k) = floor + (ceiling - floor) / (1 + (mid_kbps / k) ** steepness)

a logistic in log-bitrate: ``floor`` is what the model still gets right from a smear,
``ceiling`` what it gets right on a clean frame, ``mid_kbps`` the bitrate half-way between and
``steepness`` how abruptly the text becomes readable. Above about ``mid_kbps * 3 ** (1/steepness)``
the curve is within 10% of its ceiling: more bits buy nothing but queueing risk.

Two parameter sets ship in ``artic_rl/data/accuracy/``: ``artic`` (fitted to the Artic authors'
per-question readability confidence, ``confidence.csv``, 167 DeViBench questions at six bitrates;
``artic-rl accuracy fit`` remakes it) and ``ocr`` (the project's offline OCR judge measured on
its own synthetic chat scenes).
"""

from __future__ import annotations

import json
import math
from bisect import bisect_right
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from artic_rl.errors import InputError

#: Short category names, in DeViBench's order of frequency, and the task types they stand for.
CATEGORIES: dict[str, str] = {
    "text": "Text-Rich Understanding",
    "attribute": "Attribute Perception",
    "object": "Object Perception",
    "counting": "Counting",
    "action": "Action Perception",
    "spatial": "Spatial Understanding",
}

MS_PER_S = 1000.0


@dataclass(frozen=True)
class Question:
    """One question about the video, as the simulator sees it.

    Attributes:
        category: short category name (a key of ``CATEGORIES``).
        multi_frame: the answer needs motion across frames (DeViBench's ``Frame == "Multi"``).
        roi_area: area of the region the question is about, as a fraction of the frame.
        floor: accuracy the curve tends to as the bitrate tends to zero.
        ceiling: accuracy on a clean frame.
        mid_kbps: equivalent bitrate half-way between floor and ceiling.
        steepness: exponent of the logistic in log-bitrate.
        curve_id: index of the fitted curve this question was drawn from (-1: none).
        aged: curves measured at several picture ages, ``(age_ms, floor, ceiling, mid_kbps,
            steepness)`` in increasing age (``artic-rl accuracy clip-curves --segment-s 1 2 4``);
            empty: the one curve above holds at every age.
    """

    category: str
    multi_frame: bool
    roi_area: float
    floor: float
    ceiling: float
    mid_kbps: float
    steepness: float
    curve_id: int = -1
    aged: tuple[tuple[float, float, float, float, float], ...] = ()


@runtime_checkable
class AccuracyModel(Protocol):
    """What the environment needs from an accuracy model (docs/ARCHITECTURE.md)."""

    def sample_question(self, np_random: np.random.Generator) -> Question: ...

    def p_correct(
        self,
        q: Question,
        equivalent_kbps: float,
        staleness_ms: float = 0.0,
        fps: float = 30.0,
        age_ms: float = math.nan,
    ) -> float: ...

    def confidence_at(self, q: Question, kbps: np.ndarray) -> np.ndarray: ...


def _logistic(
    floor: float, ceiling: float, mid_kbps: float, steepness: float, kbps: float
) -> float:
    if kbps <= 0.0:
        return floor
    return floor + (ceiling - floor) / (1.0 + (mid_kbps / kbps) ** steepness)


def curve_value(q: Question, kbps: float, age_ms: float = math.nan) -> float:
    """The question's saturation curve at one bitrate (``floor`` at or below 0 kbps).

    ``age_ms``: how long the picture has been refined since its keyframe. A question with curves
    measured at several ages (``q.aged``) reads the two measured ages around it and interpolates
    linearly in log age, holding the youngest and the oldest curve beyond them; NaN, or a
    question with one curve: ``q``'s own curve."""
    aged = q.aged
    if not aged or age_ms != age_ms:
        return _logistic(q.floor, q.ceiling, q.mid_kbps, q.steepness, kbps)
    ages = [a[0] for a in aged]
    k = bisect_right(ages, age_ms)
    if k == 0:
        return _logistic(*aged[0][1:], kbps)
    if k == len(aged):
        return _logistic(*aged[-1][1:], kbps)
    lo, hi = aged[k - 1], aged[k]
    w = math.log(age_ms / lo[0]) / math.log(hi[0] / lo[0])
    return (1.0 - w) * _logistic(*lo[1:], kbps) + w * _logistic(*hi[1:], kbps)


@dataclass(frozen=True)
class CurveSet:
    """Fitted curve parameters, one row per measured question (loaded from JSON)."""

    floor: np.ndarray
    ceiling: np.ndarray
    mid_kbps: np.ndarray
    steepness: np.ndarray

    def __len__(self) -> int:
        return len(self.floor)


@dataclass(frozen=True)
class CategoryMix:
    """How often each category occurs, and how often its questions need several frames."""

    names: tuple[str, ...]
    share: tuple[float, ...]
    multi_share: tuple[float, ...]


@dataclass(frozen=True)
class RegionPrior:
    """Log-normal prior of the question region's area (fraction of the frame), clipped.

    DeViBench records no boxes, so this is an assumption: text questions are about a label, a
    sign, a score (median 2% of the frame); the others about an object or a person (median 8%).
    Both are clipped to [0.5%, 30%].
    """

    median_text: float = 0.02
    median_other: float = 0.08
    sigma_log: float = 0.8
    low: float = 0.005
    high: float = 0.30


class CurveAccuracyModel:
    """An accuracy model made of per-question saturation curves.

    ``p_correct`` is the question's curve at the equivalent bitrate its region received, reduced by
    the age of the frame and, for a question that needs motion, by a frame rate below its need::

        p = c(equivalent_kbps) * stale_factor * rate_factor
        stale_factor = exp(-max(0, staleness_ms - grace_ms) / tau_ms)
        rate_factor  = min(1, fps / need_fps)        (multi-frame questions only; 1 otherwise)

    Why: the MLLM samples about ``need_fps`` = 2 frames/s, so a frame up to ``grace_ms`` = 500 ms
    old is what it would have looked at anyway. Beyond that the view may have changed under the
    question: a still scene (a label, a sign) persists for seconds (``tau_single_ms`` = 3000,
    DeViBench's segments last 5 s), whereas motion changes within about a second
    (``tau_multi_ms`` = 1000). A question about motion (``multi_frame``) answered from fewer frames
    than the model samples sees proportionally less of it, hence ``fps / need_fps``. These decay
    constants are modelling choices, not measurements; they are constructor arguments.

    ``confidence_at`` is the curve itself: the cloud's readability confidence that ReCapABR acts on
    (the authors' confidence.csv *is* such a score), unaffected by staleness.
    """

    def __init__(
        self,
        curves: CurveSet,
        mix: CategoryMix,
        region: RegionPrior | None = None,
        jitter_log: float = 0.0,
        need_fps: float = 2.0,
        grace_ms: float = 500.0,
        tau_single_ms: float = 3000.0,
        tau_multi_ms: float = 1000.0,
        name: str = "custom",
    ) -> None:
        if len(curves) == 0:
            raise ValueError("an accuracy model needs at least one curve")
        self.curves = curves
        self.mix = mix
        self.region = region or RegionPrior()
        self.jitter_log = float(jitter_log)
        self.need_fps = float(need_fps)
        self.grace_ms = float(grace_ms)
        self.tau_single_ms = float(tau_single_ms)
        self.tau_multi_ms = float(tau_multi_ms)
        self.name = name
        self._cum_share: list[float] = (np.cumsum(mix.share) / float(np.sum(mix.share))).tolist()

    def sample_question(self, np_random: np.random.Generator) -> Question:
        """A random question: a fitted curve, a category from the mix, a region area."""
        u = np_random.random(3)
        index = min(int(u[0] * len(self.curves)), len(self.curves) - 1)
        cat = min(bisect_right(self._cum_share, u[1]), len(self.mix.names) - 1)
        category = self.mix.names[cat]
        multi = bool(u[2] < self.mix.multi_share[cat])
        median = self.region.median_text if category == "text" else self.region.median_other
        area = median * math.exp(self.region.sigma_log * float(np_random.standard_normal()))
        mid = float(self.curves.mid_kbps[index])
        if self.jitter_log > 0.0:
            mid *= math.exp(self.jitter_log * float(np_random.standard_normal()))
        return Question(
            category=category,
            multi_frame=multi,
            roi_area=min(max(area, self.region.low), self.region.high),
            floor=float(self.curves.floor[index]),
            ceiling=float(self.curves.ceiling[index]),
            mid_kbps=mid,
            steepness=float(self.curves.steepness[index]),
            curve_id=index,
        )

    def p_correct(
        self,
        q: Question,
        equivalent_kbps: float,
        staleness_ms: float = 0.0,
        fps: float = 30.0,
        age_ms: float = math.nan,
    ) -> float:
        """Probability of a correct answer (see the class docstring for the formula); ``age_ms``,
        the picture's age since its keyframe, matters only to a question with aged curves."""
        p = curve_value(q, equivalent_kbps, age_ms)
        late_ms = staleness_ms - self.grace_ms
        if q.multi_frame:
            if late_ms > 0.0:
                p *= math.exp(-late_ms / self.tau_multi_ms)
            if fps < self.need_fps:
                p *= max(fps, 0.0) / self.need_fps
        elif late_ms > 0.0:
            p *= math.exp(-late_ms / self.tau_single_ms)
        return p

    def confidence_at(self, q: Question, kbps: np.ndarray) -> np.ndarray:
        """The cloud's readability confidence at each bitrate (the bare curve), float64."""
        k = np.asarray(kbps, dtype=np.float64)
        safe = np.where(k > 0.0, k, 1.0)
        rise = 1.0 / (1.0 + (q.mid_kbps / safe) ** q.steepness)
        return np.where(k > 0.0, q.floor + (q.ceiling - q.floor) * rise, q.floor)

    def population(self) -> list[Question]:
        """One question per fitted curve (text, single-frame, median area): the measured set."""
        return [
            Question(
                category="text",
                multi_frame=False,
                roi_area=self.region.median_text,
                floor=float(self.curves.floor[i]),
                ceiling=float(self.curves.ceiling[i]),
                mid_kbps=float(self.curves.mid_kbps[i]),
                steepness=float(self.curves.steepness[i]),
                curve_id=i,
            )
            for i in range(len(self.curves))
        ]

    def table(self, kbps: np.ndarray, threshold: float = 0.8) -> dict[str, list[float]]:
        """Mean curve value and share of questions at or above ``threshold`` at each bitrate."""
        k = np.asarray(kbps, dtype=np.float64)[None, :]
        c = self.curves
        values = c.floor[:, None] + (c.ceiling - c.floor)[:, None] / (
            1.0 + (c.mid_kbps[:, None] / k) ** c.steepness[:, None]
        )
        return {
            "kbps": [float(x) for x in k[0]],
            "mean": [float(x) for x in values.mean(axis=0)],
            "share_at_threshold": [float(x) for x in (values >= threshold).mean(axis=0)],
        }


def _model_from_dict(doc: dict[str, Any], path: str, **kwargs: Any) -> CurveAccuracyModel:
    """Build a model from a parameter document (the JSON written by ``save_params``)."""
    try:
        rows = doc["curves"]
        curves = CurveSet(
            floor=np.array([r["floor"] for r in rows], dtype=np.float64),
            ceiling=np.array([r["ceiling"] for r in rows], dtype=np.float64),
            mid_kbps=np.array([r["mid_kbps"] for r in rows], dtype=np.float64),
            steepness=np.array([r["steepness"] for r in rows], dtype=np.float64),
        )
        cats = doc["category_mix"]
        names = tuple(cats)
        counts = [float(cats[n]["count"]) for n in names]
        mix = CategoryMix(
            names=names,
            share=tuple(c / sum(counts) for c in counts),
            multi_share=tuple(
                float(cats[n]["multi"]) / max(float(cats[n]["count"]), 1.0) for n in names
            ),
        )
    except (KeyError, TypeError) as err:
        raise InputError(f"malformed accuracy parameters: missing {err}", path) from err
    bad = (curves.mid_kbps <= 0) | (curves.floor > curves.ceiling) | (curves.ceiling > 1.0)
    if np.any(bad):
        raise InputError(f"curve {int(np.argmax(bad))} is not a valid saturation curve", path)
    return CurveAccuracyModel(curves, mix, name=str(doc.get("name", "custom")), **kwargs)


def load_params(path: str | Path, **kwargs: Any) -> CurveAccuracyModel:
    """An accuracy model from a parameter JSON file; ``kwargs`` go to ``CurveAccuracyModel``."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(f"cannot read accuracy parameters: {err}", path) from err
    return _model_from_dict(doc, str(path), **kwargs)


def shipped_params_path(name: str) -> Path:
    """Path of a shipped parameter file, ``artic_rl/data/accuracy/<name>.json``."""
    return Path(str(resources.files("artic_rl"))) / "data" / "accuracy" / f"{name}.json"


def load_accuracy_model(name: str, **kwargs: Any) -> CurveAccuracyModel:
    """A shipped accuracy model by name (``"artic"`` or ``"ocr"``) or a parameter file's path.

    Keyword arguments (``jitter_log``, ``need_fps``, ``grace_ms``, ``tau_single_ms``,
    ``tau_multi_ms``, ``region``) are passed to ``CurveAccuracyModel``.
    """
    if name.endswith(".json"):
        return load_params(name, **kwargs)
    path = shipped_params_path(name)
    if not path.is_file():
        raise InputError(f"unknown accuracy model {name!r} (no {path.name} shipped)", path)
    return load_params(path, **kwargs)
