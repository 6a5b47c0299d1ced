"""How a clip file plays as a live camera: forwards, then backwards, for ever.

A short clip (at most :data:`PINGPONG_MAX_FRAMES` frames) is played forwards then backwards, so
that looping never makes a scene cut: a cut is a huge P-frame, which a simulator fed with a
steady codec profile never sees. The streamer's camera (``artic_rl.runtime.sender.video_frames``)
and the judge's measurements of pictures older than the clip
(:func:`artic_rl.mllm.media.read_played_segment`) both play a clip by :func:`played_index`.
"""

from __future__ import annotations

PINGPONG_MAX_FRAMES = 900


def played_index(k: int, n_frames: int) -> int:
    """The clip frame shown at the ``k``-th capture of a clip of ``n_frames`` frames played
    forwards then backwards: 0, 1, ..., n-1, n-2, ..., 1, 0, 1, ... (period ``2n - 2``).

    >>> [played_index(k, 4) for k in range(9)]
    [0, 1, 2, 3, 2, 1, 0, 1, 2]
    """
    if n_frames <= 1:
        return 0
    period = 2 * n_frames - 2
    m = k % period
    return m if m < n_frames else period - m


def played_period_frames(n_frames: int) -> int:
    """Frames in one forwards-and-backwards cycle of a clip of ``n_frames`` frames."""
    return max(2 * n_frames - 2, 1)
