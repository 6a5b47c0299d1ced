"""The sender's three knobs (bitrate, region-of-interest level, frame rate) and their discrete encoding.

The environment's action space is ``MultiDiscrete([n_bitrates, n_roi_levels, n_fps])``. Heuristic
agents that compute a continuous rate map it onto the grid with :meth:`ActionCodec.encode`
(nearest in log-rate), so PPO and the heuristics act through the very same codec.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from gymnasium import spaces

MIN_RATE_KBPS = 100.0
MAX_RATE_KBPS = 4000.0
N_RATES = 20
# 20 log-spaced tiers from 100 kbps to 4 Mbps (ratio 1.214 between neighbours).
BITRATES_KBPS: tuple[float, ...] = tuple(
    float(round(r)) for r in np.geomspace(MIN_RATE_KBPS, MAX_RATE_KBPS, N_RATES)
)
FPS_CHOICES: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 15.0, 30.0)
ROI_LEVELS: tuple[int, ...] = (0, 1, 2, 3)


@dataclass(frozen=True)
class SenderAction:
    """What the sender applies for the next control interval."""

    rate_kbps: float
    roi_level: int
    fps: float


@dataclass(frozen=True)
class ActionCodec:
    """Maps ``MultiDiscrete`` actions to :class:`SenderAction` and back."""

    bitrates_kbps: tuple[float, ...] = BITRATES_KBPS
    roi_levels: tuple[int, ...] = ROI_LEVELS
    fps_choices: tuple[float, ...] = FPS_CHOICES

    @property
    def nvec(self) -> tuple[int, int, int]:
        return (len(self.bitrates_kbps), len(self.roi_levels), len(self.fps_choices))

    def space(self) -> spaces.MultiDiscrete:
        return spaces.MultiDiscrete(np.array(self.nvec, dtype=np.int64))

    def decode(self, action: np.ndarray | tuple[int, int, int]) -> SenderAction:
        """Indices -> knobs; raises ``ValueError`` for an index outside the grid."""
        try:
            i, j, k = (int(x) for x in action)
        except (TypeError, ValueError):
            raise ValueError(f"action {action!r} is not three integers") from None
        nb, nr, nf = self.nvec
        if not (0 <= i < nb and 0 <= j < nr and 0 <= k < nf):
            raise ValueError(f"action {[i, j, k]} outside MultiDiscrete{list(self.nvec)}")
        return SenderAction(self.bitrates_kbps[i], self.roi_levels[j], self.fps_choices[k])

    def encode(self, rate_kbps: float, roi_level: int = 0, fps: float = 30.0) -> np.ndarray:
        """Knobs -> nearest indices (rate nearest in log space, fps nearest, ROI level clamped)."""
        log_rates = np.log(np.asarray(self.bitrates_kbps))
        i_rate = int(np.argmin(np.abs(log_rates - np.log(max(rate_kbps, 1e-3)))))
        i_roi = int(np.argmin(np.abs(np.asarray(self.roi_levels) - roi_level)))
        i_fps = int(np.argmin(np.abs(np.asarray(self.fps_choices) - fps)))
        return np.array([i_rate, i_roi, i_fps], dtype=np.int64)

    def floor_rate(self, rate_kbps: float) -> float:
        """The highest tier not above ``rate_kbps`` (the lowest tier if all are above)."""
        below = [r for r in self.bitrates_kbps if r <= rate_kbps]
        return below[-1] if below else self.bitrates_kbps[0]
