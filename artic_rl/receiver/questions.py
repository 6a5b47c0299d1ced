"""The cloud's questions: the region it knows ahead, the question awaiting its answer, the answer."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from artic_rl.receiver.chain import DecodeLog

UNANSWERED = -1  # the frame position of a question that no frame answered


class QuestionBook:
    """Questions asked at ``asked_ms`` (sorted), answered in order.

    The cloud predicts each question's region ``roi_lead_ms`` before it is asked (Artic's
    zero-overhead ROI) and holds it until the next question's region is known. A question is
    answered with the first decodable frame captured at or after it was asked, once that frame is
    decodable and the MLLM's inference (``inference_ms``) is done.
    """

    def __init__(self, asked_ms: Sequence[float], roi_lead_ms: float | Sequence[float]) -> None:
        self.asked_ms = [float(t) for t in asked_ms]
        if self.asked_ms != sorted(self.asked_ms):
            raise ValueError("QuestionBook: asked_ms must be sorted")
        leads = (
            [float(roi_lead_ms)] * len(self.asked_ms)
            if isinstance(roi_lead_ms, int | float)
            else [float(x) for x in roi_lead_ms]
        )
        if len(leads) != len(self.asked_ms):
            raise ValueError("QuestionBook: one roi_lead_ms per question")
        # a region is held until the next one is known; a later question's region known earlier
        # than an earlier one's (random leads) takes over from then, as the cloud would switch
        self.region_start_ms = [t - lead for t, lead in zip(self.asked_ms, leads, strict=True)]
        for i in range(len(self.region_start_ms) - 2, -1, -1):
            self.region_start_ms[i] = min(self.region_start_ms[i], self.region_start_ms[i + 1])
        self.answered = 0  # questions answered (or given up) so far, in order

    def region_at(self, t_ms: float) -> int:
        """Index of the question whose predicted region the cloud holds at ``t_ms`` (-1: none)."""
        return bisect_right(self.region_start_ms, t_ms) - 1

    def active(self, t_ms: float) -> bool:
        """Whether a question asked by ``t_ms`` still awaits its answer."""
        return self.answered < len(self.asked_ms) and self.asked_ms[self.answered] <= t_ms

    def answer(
        self,
        t_ms: float,
        log: DecodeLog,
        inference_ms: Sequence[float] | None = None,
        final: bool = False,
    ) -> list[tuple[int, int]]:
        """Questions asked before ``t_ms`` whose answer is ready by then: (question, frame position).

        With ``final`` the questions still waiting are given up (position :data:`UNANSWERED`).
        """
        out: list[tuple[int, int]] = []
        asked = self.asked_ms
        decodable = log.decodable_ms
        while self.answered < len(asked) and asked[self.answered] < t_ms:
            j = self.answered
            k = log.first_captured_from(asked[j])
            infer = 0.0 if inference_ms is None else inference_ms[j]
            if not (k < len(decodable) and decodable[k] + infer <= t_ms):
                if not final:
                    break
                k = UNANSWERED
            out.append((j, k))
            self.answered += 1
        return out
