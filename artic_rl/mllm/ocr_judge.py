"""The offline OCR judge: PP-OCR (rapidocr-onnxruntime) reads the question's region.

The embedded default judge: the ONNX models (PP-OCRv4 detection and recognition, the mobile
direction classifier) ship inside the ``rapidocr_onnxruntime`` wheel, it runs on CPU and downloads
nothing. It answers text-reading questions, which are most of DeViBench (82%), with the text it
reads; graded by ``ExactMatchGrader`` (containment) it stands in for an MLLM that can read.

Speed (one core): on the known region, detection + recognition of the crop takes about 0.1 to
0.3 s per frame (the crop is upscaled ``upscale`` times: small text reads better). With
``detect=False`` a region that is one tight text line is recognised directly (about 20 ms), but a
loose region (the synthetic scenes' regions are the sign's extent over the camera's motion) reads
badly that way. Without a region the whole frame is detected (long side capped at
``det_max_side`` pixels, about 0.3 to 1 s per 1080p frame).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from artic_rl.mllm.judges import Answer, Box


class OcrJudge:
    """Reads text in the question's region of the newest frame(s) and answers with it.

    Args:
        detect: run text detection inside the region (False: the region is one tight text line).
        upscale: the region's crop is enlarged this many times before reading.
        frames_to_read: how many of the newest sampled frames to read; the most confident
            reading wins (a blurred frame can be outvoted by a clearer one).
        min_score: recognitions below this confidence are dropped (an empty answer is a refusal).
        det_max_side: long side of the image the detector sees, pixels.
        threads: onnxruntime threads per session (the project runs on shared cores).
        clock: seconds counter for the latency figure (injectable for tests).
    """

    name = "ocr"

    def __init__(
        self,
        detect: bool = True,
        upscale: float = 2.0,
        frames_to_read: int = 1,
        min_score: float = 0.5,
        det_max_side: int = 960,
        threads: int = 1,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.detect = detect
        self.upscale = upscale
        self.frames_to_read = max(int(frames_to_read), 1)
        self.min_score = min_score
        self.det_max_side = det_max_side
        self.threads = threads
        self.clock = clock
        self._engine: Any = None  # built on first use: no work in the constructor

    def _ocr(self) -> Any:
        if self._engine is None:
            from rapidocr_onnxruntime import RapidOCR

            self._engine = RapidOCR(
                intra_op_num_threads=self.threads,
                inter_op_num_threads=1,
                det_limit_type="max",
                det_limit_side_len=self.det_max_side,
                text_score=self.min_score,
            )
        return self._engine

    def read(self, image: np.ndarray, detect: bool) -> tuple[str, float]:
        """Text read in an RGB image and its mean confidence ("" and 0 when none)."""
        bgr = np.ascontiguousarray(image[:, :, ::-1])
        if detect:
            result, _ = self._ocr()(bgr, use_det=True, use_cls=False, use_rec=True)
            lines = [(r[1], float(r[2])) for r in (result or [])]
        else:
            result, _ = self._ocr()(bgr, use_det=False, use_cls=False, use_rec=True)
            lines = [(r[0], float(r[1])) for r in (result or [])]
        lines = [(t, s) for t, s in lines if s >= self.min_score and t.strip()]
        if not lines:
            return "", 0.0
        return " ".join(t for t, _ in lines), float(np.mean([s for _, s in lines]))

    def _enlarge(self, crop: np.ndarray) -> np.ndarray:
        if self.upscale == 1.0:
            return crop
        import cv2

        return cv2.resize(
            crop, None, fx=self.upscale, fy=self.upscale, interpolation=cv2.INTER_CUBIC
        )

    def answer(
        self, frames: Sequence[np.ndarray], question: str, region: Box | None = None
    ) -> Answer:
        """The most confident reading of the region over the newest ``frames_to_read`` frames."""
        start = self.clock()
        best_text, best_score = "", -1.0
        for frame in list(frames)[-self.frames_to_read :]:
            if region is None:
                text, score = self.read(frame, detect=True)
            else:
                text, score = self.read(self._enlarge(region.crop(frame, 0.1)), self.detect)
            if score > best_score:
                best_text, best_score = text, score
        latency_ms = (self.clock() - start) * 1000.0
        return Answer(text=best_text, latency_ms=latency_ms, model="rapidocr-ppocrv4")
