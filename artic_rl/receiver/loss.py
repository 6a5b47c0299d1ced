"""When the ``artic`` receiver notices a lost packet: what a real receiver can know, and when.

A receiver learns of a loss in two ways only:

1. **A later packet reveals the gap**: a packet with a higher sequence number arrives while an
   earlier one is missing (the link here is FIFO, so nothing is reordered and the gap is certain at
   once). This is how a lost packet's transport feedback is known, too: a receiver reports
   sequence numbers only up to the newest one it received.
2. **A timer on a frame it has started**: a frame whose first packets arrived but whose last one
   did not is given up ``frame_timeout_ms`` after its first packet arrived (the streamer's
   :class:`~artic_rl.runtime.jitter.FrameAssembler` ``max_age_ms``; see
   :class:`~artic_rl.receiver.config.ArticReceiverConfig`). A frame none of whose packets arrived
   is unknown to the receiver, so only a later packet can reveal it.

:class:`LossNotice` holds the losses no later packet has revealed yet, each with its timer
(``inf``: none), and resolves them when the next packet arrives or the timer fires.
"""

from __future__ import annotations

import math


class LossNotice:
    """Losses waiting to be noticed: ``key`` (a frame or a packet) and its timer."""

    def __init__(self) -> None:
        self._waiting: list[tuple[int, float]] = []  # (key, timer_ms), in the order lost

    def __len__(self) -> int:
        return len(self._waiting)

    def wait(self, key: int, timer_ms: float = math.inf) -> None:
        """``key`` was lost after the last packet that arrived; give it up at ``timer_ms``."""
        self._waiting.append((key, timer_ms))

    def on_arrival(self, arrival_ms: float) -> list[tuple[int, float]]:
        """A later packet arrived at ``arrival_ms``: every waiting loss is noticed (key, when)."""
        out = [(key, min(timer, arrival_ms)) for key, timer in self._waiting]
        self._waiting = []
        return out

    def expire(self, now_ms: float) -> list[tuple[int, float]]:
        """The losses whose timer fired by ``now_ms`` (no packet arrived since: they are waiting)."""
        if not self._waiting or min(t for _, t in self._waiting) > now_ms:
            return []
        out = [(key, timer) for key, timer in self._waiting if timer <= now_ms]
        self._waiting = [(key, timer) for key, timer in self._waiting if timer > now_ms]
        return out
