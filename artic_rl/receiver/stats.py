"""Where a receiver's frame latency goes: retransmission wait, jitter-buffer hold, freezes."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

# libwebrtc's freeze statistic (video/video_quality_observer2.cc; research note, section 1)
FREEZE_WINDOW_FRAMES = 30  # the average inter-frame gap is over the last 30 rendered frames
FREEZE_MIN_FRAMES = 5  # no freeze is detected before 5 gaps
FREEZE_RATIO = 3.0  # a gap of at least 3x the average ...
FREEZE_MIN_INCREASE_MS = 150.0  # ... and at least the average + 150 ms is a freeze


def frozen_ms(shown_ms: Sequence[float], end_ms: float) -> float:
    """Total duration of the freezes among frames shown at ``shown_ms`` (in order), counting a
    freeze still going on at ``end_ms``; each freeze counts its whole gap, as libwebrtc does."""
    gaps: deque[float] = deque(maxlen=FREEZE_WINDOW_FRAMES)
    total = 0.0
    times = [*shown_ms, end_ms] if shown_ms else []
    for prev, t in zip(times, times[1:], strict=False):
        gap = t - prev
        if len(gaps) >= FREEZE_MIN_FRAMES:
            avg = sum(gaps) / len(gaps)
            if gap >= max(FREEZE_RATIO * avg, avg + FREEZE_MIN_INCREASE_MS):
                total += gap
        gaps.append(gap)
    return total
