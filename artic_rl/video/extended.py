"""A codec profile continued above its top bitrate, for rate ceilings beyond the profiled grid.

:class:`~artic_rl.video.profile.CodecProfile` clamps outside its grid (the shipped profile ends at
4000 kbps): asked for 20 Mbps, it returns 4 Mbps frames, so a sender whose target climbs above
the grid would put no more bytes on the wire than at the grid's top. :class:`ExtendedProfile`
continues the frame sizes in proportion to the target above the top grid point, the behaviour of
the constant-bitrate rate control the profile was measured with (CBR, maxrate = bitrate): the
top cell's frames (its keyframe ratio, pay-back and rate-control noise) scaled by
``kbps / top_kbps``, so the encoder keeps its measured share of the target (0.79-0.96 at
4000 kbps, by frame rate and ROI level). The equivalent bitrate needs nothing: the profile
already extrapolates it in proportion to the target above the grid (the top cell's ROI gain),
and the accuracy curves saturate there. At or below the top grid point everything is the
profile's own, number for number.
"""

from __future__ import annotations

import numpy as np

from artic_rl.video.profile import CodecProfile


class ExtendedProfile:
    """``profile`` with frame sizes proportional to the target above its top grid bitrate.

    Args:
        profile: the measured profile (its ``kbps_grid`` ends at ``top_kbps``).
    """

    def __init__(self, profile: CodecProfile) -> None:
        self.profile = profile
        self.top_kbps = float(profile.kbps_grid[-1])

    def frame_sizes_bytes(
        self,
        kbps: float,
        fps: float,
        roi_level: int,
        n: int,
        np_random: np.random.Generator,
        keyframe: np.ndarray | None = None,
    ) -> np.ndarray:
        """:meth:`CodecProfile.frame_sizes_bytes`; above ``top_kbps`` the top cell's sizes (the
        same random draws) times ``kbps / top_kbps``, rounded half to even, at least one byte."""
        if kbps <= self.top_kbps:
            return self.profile.frame_sizes_bytes(kbps, fps, roi_level, n, np_random, keyframe)
        sizes = self.profile.frame_sizes_bytes(
            self.top_kbps, fps, roi_level, n, np_random, keyframe
        )
        scaled = np.rint(sizes.astype(np.float64) * (kbps / self.top_kbps))
        return np.maximum(scaled, 1.0).astype(np.int64)

    def mean_frame_bytes(self, kbps: float, fps: float, roi_level: int) -> float:
        """Mean steady P-frame size in bytes (no noise), proportional above ``top_kbps``."""
        if kbps <= self.top_kbps:
            return self.profile.mean_frame_bytes(kbps, fps, roi_level)
        return self.profile.mean_frame_bytes(self.top_kbps, fps, roi_level) * kbps / self.top_kbps

    def equivalent_kbps(
        self, kbps: float, fps: float, roi_level: int, roi_area: float, roi_hit: bool = True
    ) -> float:
        """:meth:`CodecProfile.equivalent_kbps` (already proportional to ``kbps`` above the grid)."""
        return self.profile.equivalent_kbps(kbps, fps, roi_level, roi_area, roi_hit)
