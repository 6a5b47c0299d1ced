"""Artic's loss-resilient decode rule, its keyframe requests, and the log of decodable frames.

Nothing is retransmitted: a frame is decodable when all its packets arrived and its reference
chain is intact (it is a keyframe, or every frame since the last keyframe was decodable). A lost
frame breaks the chain until the next keyframe, which the receiver asks for (PLI) when it notices
the loss. The freshest decodable frame stands in for a missing one (:class:`DecodeLog`).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right


class DecodeChain:
    """Which frames decode, in arrival order, and when to ask for a keyframe.

    Args:
        pli_interval_ms: the least time between two keyframe requests; 0 asks at every noticed
            loss (the simulator, whose sender ignores a request about a frame older than its last
            keyframe); the streamer repeats its request while the chain stays broken, so it spaces
            them (``Receiver(pli_interval_ms=...)``).
    """

    def __init__(self, pli_interval_ms: float = 0.0) -> None:
        self.pli_interval_ms = pli_interval_ms
        self.chain_ok = False
        self.last_decodable_ms = -math.inf
        self._last_pli_ms = -math.inf

    def decodable_ms(self, arrival_ms: float, *, complete: bool, keyframe: bool) -> float:
        """When a frame whose last packet arrived at ``arrival_ms`` is decodable; NaN: never.

        Frames decode in order, so a frame is never decodable before the one decoded before it.
        """
        if complete and (keyframe or self.chain_ok):
            dec = max(arrival_ms, self.last_decodable_ms)
            self.chain_ok = True
            self.last_decodable_ms = dec
            return dec
        self.chain_ok = False
        return math.nan

    def break_chain(self) -> None:
        """A frame since the last one was lost, or the decoder rejected one: wait for a keyframe."""
        self.chain_ok = False

    def request_keyframe(self, now_ms: float) -> bool:
        """Whether to send a PLI now, for a loss or an undecodable frame noticed at ``now_ms``."""
        if self.pli_interval_ms > 0.0 and now_ms - self._last_pli_ms < self.pli_interval_ms:
            return False
        self._last_pli_ms = now_ms
        return True


class DecodeLog:
    """The decodable frames in decoding order: frame id, decodable time, capture time.

    Decodable and capture times are both non-decreasing (frames decode in order), so every lookup
    is a binary search.
    """

    def __init__(self) -> None:
        self.frame_id: list[int] = []
        self.decodable_ms: list[float] = []
        self.capture_ms: list[float] = []

    def __len__(self) -> int:
        return len(self.frame_id)

    def add(self, frame_id: int, decodable_ms: float, capture_ms: float) -> None:
        self.frame_id.append(frame_id)
        self.decodable_ms.append(decodable_ms)
        self.capture_ms.append(capture_ms)

    def freshest_at(self, t_ms: float) -> int:
        """Position of the freshest frame decodable by ``t_ms`` (-1: none yet)."""
        return bisect_right(self.decodable_ms, t_ms) - 1

    def first_captured_from(self, capture_ms: float) -> int:
        """Position of the first decodable frame captured at or after ``capture_ms`` (len: none)."""
        return bisect_left(self.capture_ms, capture_ms)

    def delays_ms(self, t0_ms: float, t1_ms: float) -> list[float]:
        """Capture-to-decodable delays of the frames that became decodable in [t0, t1)."""
        d, cap = self.decodable_ms, self.capture_ms
        lo, hi = bisect_left(d, t0_ms), bisect_left(d, t1_ms)
        return [d[k] - cap[k] for k in range(lo, hi)]
