"""ReCapABR, the Artic authors' accuracy-saturation cap on top of a congestion controller.

Their rule, applied each control interval with the cloud's readability confidence at the
bitrate tiers ``CONFIDENCE_TIERS_KBPS``:

1. if the current bitrate exceeds the controller's, drop to the controller's;
2. else if the confidence at the current bitrate is at least 0.8, keep it (do not climb, even
   if the controller allows);
3. else move to the bitrate where the confidence reaches 0.8 (log-interpolated between tiers;
   one tier above the top when none reaches it), never above the controller.

Without a confidence report (no question, or the cloud has not answered yet) the controller's
rate is used unchanged: the cap is the only thing ReCapABR adds.
"""

from __future__ import annotations

import math

import numpy as np

from artic_rl.sender.feedback import CONFIDENCE_TIERS_KBPS
from artic_rl.sender.observation import SATURATION_CONFIDENCE, saturation_kbps


def confidence_at(
    rate_kbps: float,
    confidence: np.ndarray,
    tiers_kbps: tuple[float, ...] = CONFIDENCE_TIERS_KBPS,
) -> float:
    """Confidence at ``rate_kbps``, interpolated in log-rate; 0 below the lowest tier, the top value above."""
    if rate_kbps < tiers_kbps[0]:
        return 0.0  # not measured below the lowest tier: never "confident enough"
    return float(np.interp(math.log(rate_kbps), np.log(tiers_kbps), np.asarray(confidence)))


def recap_kbps(
    current_kbps: float,
    controller_kbps: float,
    confidence: np.ndarray | None,
    tiers_kbps: tuple[float, ...] = CONFIDENCE_TIERS_KBPS,
) -> float:
    """The bitrate ReCapABR chooses (continuous; the caller maps it onto its grid)."""
    if current_kbps > controller_kbps or confidence is None:
        return controller_kbps
    if confidence_at(current_kbps, confidence, tiers_kbps) >= SATURATION_CONFIDENCE:
        return current_kbps
    return min(saturation_kbps(confidence, tiers_kbps), controller_kbps)
