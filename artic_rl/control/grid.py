"""Mapping continuous rates onto the sender's bitrate tiers."""

from __future__ import annotations


def floor_tier(tiers_kbps: tuple[float, ...], rate_kbps: float) -> float:
    """The highest tier not above ``rate_kbps`` (the lowest tier if all are above)."""
    below = [r for r in tiers_kbps if r <= rate_kbps]
    return below[-1] if below else tiers_kbps[0]


def ceil_tier(tiers_kbps: tuple[float, ...], rate_kbps: float) -> float:
    """The lowest tier not below ``rate_kbps`` (the highest tier if all are below)."""
    above = [r for r in tiers_kbps if r >= rate_kbps]
    return above[0] if above else tiers_kbps[-1]
