"""The sender's three knobs (bitrate, region-of-interest level, frame rate) and their discrete encoding.

The environment's action space is ``MultiDiscrete([n_bitrates, n_roi_levels, n_fps])``. Heuristic
agents that compute a continuous rate map it onto the grid with :meth:`ActionCodec.encode`
(nearest in log-rate), so PPO and the heuristics act through the very same codec.

The default grid has 20 bitrate tiers from 100 kbps to 4 Mbps. A higher rate ceiling
(``env.kwargs.max_rate_kbps``, :meth:`ActionCodec.up_to`) continues the same log spacing above
4 Mbps: the first 20 tiers stay exactly as they are, and tiers are added while they stay at or
below the ceiling (32 Mbps: 30 tiers, the top one 27,877 kbps).
"""

from __future__ import annotations

import math
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
TIER_RATIO = (MAX_RATE_KBPS / MIN_RATE_KBPS) ** (1.0 / (N_RATES - 1))  # 40 ** (1/19) = 1.214280
FPS_CHOICES: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 15.0, 30.0)
ROI_LEVELS: tuple[int, ...] = (0, 1, 2, 3)


def check_max_rate_kbps(max_rate_kbps: object) -> float:
    """``max_rate_kbps`` as a float; ValueError naming the key unless it is a finite number of
    at least 4000 kbps (the default grid's top tier: a lower ceiling would drop tiers that every
    trained policy uses)."""
    ok = isinstance(max_rate_kbps, int | float) and not isinstance(max_rate_kbps, bool)
    if not ok or not MAX_RATE_KBPS <= float(max_rate_kbps) < math.inf:  # type: ignore[arg-type]
        raise ValueError(
            f"max_rate_kbps must be a number >= {MAX_RATE_KBPS:g} kbps (the top of the"
            f" {N_RATES} default bitrate tiers), got {max_rate_kbps!r}"
        )
    return float(max_rate_kbps)  # type: ignore[arg-type]


def bitrate_tiers(max_rate_kbps: float = MAX_RATE_KBPS) -> tuple[float, ...]:
    """The bitrate tiers up to ``max_rate_kbps``: :data:`BITRATES_KBPS`, then
    ``round(100 * TIER_RATIO ** k)`` for k = 20, 21, ... while the unrounded rate stays at or
    below the ceiling (4000: the 20 default tiers; 32000: 30 tiers, up to 27,877 kbps)."""
    ceiling = check_max_rate_kbps(max_rate_kbps)
    extra: list[float] = []
    k = N_RATES
    while MIN_RATE_KBPS * TIER_RATIO**k <= ceiling * (1.0 + 1e-9):
        extra.append(float(round(MIN_RATE_KBPS * TIER_RATIO**k)))
        k += 1
    return BITRATES_KBPS + tuple(extra)


@dataclass(frozen=True)
class SenderAction:
    """What the sender applies for the next control interval."""

    rate_kbps: float
    roi_level: int
    fps: float


@dataclass(frozen=True)
class ActionCodec:
    """Maps ``MultiDiscrete`` actions to :class:`SenderAction` and back.

    ``ceiling_kbps`` is the rate ceiling the rate controllers (GCC and the agents built on it)
    clamp their target to; None: the top tier. :meth:`up_to` builds the codec of an environment's
    ``max_rate_kbps``.
    """

    bitrates_kbps: tuple[float, ...] = BITRATES_KBPS
    roi_levels: tuple[int, ...] = ROI_LEVELS
    fps_choices: tuple[float, ...] = FPS_CHOICES
    ceiling_kbps: float | None = None

    @classmethod
    def up_to(cls, max_rate_kbps: float = MAX_RATE_KBPS) -> ActionCodec:
        """The codec whose tiers continue the default spacing up to ``max_rate_kbps``
        (:func:`bitrate_tiers`), with the controllers' ceiling at ``max_rate_kbps``; equal to
        ``ActionCodec()`` at 4000 kbps."""
        tiers = bitrate_tiers(max_rate_kbps)
        ceiling = float(max_rate_kbps)
        return cls(bitrates_kbps=tiers, ceiling_kbps=None if ceiling == tiers[-1] else ceiling)

    @property
    def max_rate_kbps(self) -> float:
        """The rate controllers' ceiling: ``ceiling_kbps``, else the top tier."""
        return self.bitrates_kbps[-1] if self.ceiling_kbps is None else self.ceiling_kbps

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
