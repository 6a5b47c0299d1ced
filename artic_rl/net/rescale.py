"""Capacity scales that move one set of traces into another's regime: the rule by which the
training-only extra traces (``VideoChatEnv(extra_scale=...)``, ``traces.extra_scale``) join the
traces they are mixed with. Pure functions of the traces' mean capacities; no randomness.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

MATCH = "match"
"""``extra_scale`` value: each extra trace to a quantile of the other traces' means
(:func:`quantile_means_mbps`)."""


def checked_scale(value: object) -> float | str | None:
    """An ``extra_scale`` value as given: None (as recorded), a finite number > 0 or
    :data:`MATCH`. Raises ValueError (``"must be ..."``, for the caller to prefix its key)."""
    if value is None:
        return None
    if value == MATCH:
        return MATCH
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0.0
    ):
        raise ValueError(f"must be a number > 0 or {MATCH!r}, got {value!r}")
    return float(value)


def quantile_means_mbps(means_mbps: Sequence[float], reference_mbps: Sequence[float]) -> np.ndarray:
    """Each of ``n`` traces' target mean capacity, spread over the reference's distribution of
    means: ranked by its own mean (ascending, equal means in the order given), the ``k``-th
    (from 0) gets the reference means' quantile ``(k + 0.5) / n`` (numpy's ``hazen`` method).

    So the targets keep the traces' order, their distribution is the reference's as closely as
    ``n`` points allow (``n`` equal to the reference's size: exactly its sorted means; one trace:
    its median), and the same traces get the same targets on every run.
    """
    means = np.asarray(means_mbps, dtype=np.float64)
    reference = np.asarray(reference_mbps, dtype=np.float64)
    if reference.size == 0:
        raise ValueError("no reference traces to take the means from")
    n = means.size
    targets = np.empty(n)
    order = np.argsort(means, kind="stable")
    targets[order] = np.quantile(reference, (np.arange(n) + 0.5) / n, method="hazen")
    return targets


def extra_factors(
    extra_mbps: Sequence[float], base_mbps: Sequence[float], scale: float | str | None
) -> np.ndarray:
    """The factor by which each extra trace's capacity is multiplied, given the extras' and the
    base traces' mean capacities (as the base traces are used): ``None`` 1 each, a number that
    number each, :data:`MATCH` each extra's :func:`quantile_means_mbps` target over its mean."""
    means = np.asarray(extra_mbps, dtype=np.float64)
    if scale is None:
        return np.ones(means.size)
    if scale == MATCH:
        return quantile_means_mbps(extra_mbps, base_mbps) / means
    return np.full(means.size, float(scale))
