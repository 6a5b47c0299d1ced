"""The judge interface (frames + question -> answer) and the graders (answer vs reference).

A judge is anything with ``answer(frames, question, region) -> Answer``: the OpenAI-compatible
chat backend (``openai_judge.OpenAIJudge``), the offline OCR judge (``ocr_judge.OcrJudge``), or a
stub in a test. A grader is anything with ``grade(question, answer, reference) -> bool``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

#: DeViBench's prompt: this line, then ``Question: <question>``.
DEVIBENCH_PROMPT = "Answer the following question concisely based on the video."

REFUSAL_PATTERNS = (
    r"\b(i )?(can ?not|can't|unable to|am not able to|could not|couldn't) "
    r"(determine|tell|see|read|identify|answer|make out|discern|be determined)",
    r"\bnot (clearly )?(visible|legible|readable|discernible|possible to (tell|determine))\b",
    r"\b(too )?(blurry|blurred|pixelated|unclear)\b",
    r"\bno (visible )?(text|answer)\b",
    r"^\s*(unknown|n/?a|none|unanswerable|sorry)\W*$",
    r"\bi('m| am) sorry\b",
)
_REFUSAL_RE = re.compile("|".join(REFUSAL_PATTERNS), re.IGNORECASE)
_ARTICLES = {"a", "an", "the"}


@dataclass(frozen=True)
class Box:
    """A region of the frame as fractions of its width and height, ``0 <= x0 < x1 <= 1``."""

    x0: float
    y0: float
    x1: float
    y1: float

    def __post_init__(self) -> None:
        if not (0.0 <= self.x0 < self.x1 <= 1.0 and 0.0 <= self.y0 < self.y1 <= 1.0):
            raise ValueError(f"not a box inside the unit square: {self}")

    @property
    def area(self) -> float:
        return (self.x1 - self.x0) * (self.y1 - self.y0)

    def crop(self, frame: np.ndarray, margin: float = 0.0) -> np.ndarray:
        """The pixels of the box (grown by ``margin`` of its size on each side) in ``frame``."""
        h, w = frame.shape[:2]
        dx, dy = margin * (self.x1 - self.x0), margin * (self.y1 - self.y0)
        c0, c1 = int(max(self.x0 - dx, 0.0) * w), int(np.ceil(min(self.x1 + dx, 1.0) * w))
        r0, r1 = int(max(self.y0 - dy, 0.0) * h), int(np.ceil(min(self.y1 + dy, 1.0) * h))
        return frame[r0 : max(r1, r0 + 1), c0 : max(c1, c0 + 1)]


@dataclass(frozen=True)
class Answer:
    """What a judge said: the text, how long it took, which model; ``error`` when it failed."""

    text: str
    latency_ms: float
    model: str
    error: str | None = None


@runtime_checkable
class Judge(Protocol):
    """Answers a question about the frames sampled for it (RGB uint8, H x W x 3)."""

    name: str

    def answer(
        self, frames: Sequence[np.ndarray], question: str, region: Box | None = None
    ) -> Answer: ...


@runtime_checkable
class Grader(Protocol):
    """Says whether an answer matches the reference answer."""

    def grade(self, question: str, answer: str, reference: str) -> bool: ...


def is_refusal(answer: str) -> bool:
    """Whether an answer declines to answer ("cannot determine", "too blurry", empty)."""
    return not answer.strip() or _REFUSAL_RE.search(answer) is not None


def normalise(text: str) -> list[str]:
    """Tokens for exact matching: NFKC, lower case, punctuation to spaces, no articles."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 1,000 -> 1000
    tokens = re.sub(r"[^\w]+", " ", text).split()
    return [t for t in tokens if t not in _ARTICLES]


class ExactMatchGrader:
    """Normalised exact match; optionally the reference may appear inside a longer answer.

    With ``allow_containment`` (default) "The time shown is 61:30" matches "61:30": the reference's
    tokens must appear contiguously in the answer's. With ``ignore_spaces`` the comparison is on
    the characters alone (OCR often merges or splits words: "PHARMACY894"). A refusal is always
    wrong.
    """

    def __init__(self, allow_containment: bool = True, ignore_spaces: bool = False) -> None:
        self.allow_containment = allow_containment
        self.ignore_spaces = ignore_spaces

    def grade(self, question: str, answer: str, reference: str) -> bool:
        ref, ans = normalise(reference), normalise(answer)
        if not ref or is_refusal(answer):
            return False
        if self.ignore_spaces:
            r, a = "".join(ref), "".join(ans)
            return a == r or (self.allow_containment and r in a)
        if ans == ref:
            return True
        if not self.allow_containment or len(ref) > len(ans):
            return False
        n = len(ref)
        return any(ans[i : i + n] == ref for i in range(len(ans) - n + 1))
