"""Robust model-predictive bitrate control (Yin et al., SIGCOMM 2015; the Pensieve paper's "robust MPC").

Each interval it enumerates every sequence of bitrate tiers over a short horizon, rolls a fluid
queue forward at a predicted capacity, scores each sequence with a QoE model shaped like the
environment's reward, and applies the first rate of the best sequence. "Robust": the capacity
prediction is the harmonic mean of recent throughput divided by ``1 + max recent relative error``
(:meth:`artic_rl.control.throughput.ThroughputHistory.robust_predict`).

QoE of one interval at rate ``r`` (weights from :class:`MpcWeights`)::

    accuracy(r) * w_acc - w_delay * max(0, delay_ms - budget_ms) / 1000 - w_bits * r / 1000

``accuracy(r)`` is the cloud's readability confidence at ``r`` (log-interpolated between its tiers,
falling linearly in log-rate to 0 at ``ZERO_ACCURACY_KBPS`` below the lowest), ``delay_ms`` the
fluid queue's mean delay over the interval plus the base delay.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from artic_rl.sender.feedback import CONFIDENCE_TIERS_KBPS

ZERO_ACCURACY_KBPS = 50.0
# The authors' mean confidence per tier (BRIEF.md), used while the cloud has not reported one.
MEAN_CONFIDENCE: tuple[float, ...] = (0.47, 0.81, 0.89, 0.95, 0.97, 0.98)


@dataclass(frozen=True)
class MpcWeights:
    """QoE weights per interval, derived from the environment's default reward.

    ``accuracy``: question weight 1 x (0.2 s / 4 s mean question gap) + sample weight 0.1;
    ``delay_per_s``: frame-delay weight 0.5 + latency weight 1 x 0.05 questions per interval.
    """

    accuracy: float = 0.15
    delay_per_s: float = 0.55
    delay_budget_ms: float = 150.0
    bits_per_mbps: float = 0.02


def accuracy_curve(
    rates_kbps: np.ndarray,
    confidence: np.ndarray | None,
    tiers_kbps: tuple[float, ...] = CONFIDENCE_TIERS_KBPS,
) -> np.ndarray:
    """Expected accuracy at each rate from the cloud's confidence (or the authors' mean curve)."""
    conf = np.asarray(MEAN_CONFIDENCE if confidence is None else confidence, dtype=np.float64)
    xs = np.log(np.concatenate(([ZERO_ACCURACY_KBPS], tiers_kbps)))
    ys = np.concatenate(([0.0], conf))
    return np.interp(np.log(np.maximum(rates_kbps, 1e-3)), xs, ys)


class RobustMpc:
    """Exhaustive search over ``len(tiers) ** horizon`` tier sequences (8000 for 20 tiers, horizon 3).

    Args:
        tiers_kbps: the sender's bitrate tiers.
        horizon: intervals looked ahead.
        interval_ms: control interval.
        weights: QoE weights.
    """

    def __init__(
        self,
        tiers_kbps: tuple[float, ...],
        horizon: int = 3,
        interval_ms: float = 200.0,
        weights: MpcWeights | None = None,
    ) -> None:
        self.tiers_kbps = np.asarray(tiers_kbps, dtype=np.float64)
        self.horizon = horizon
        self.interval_ms = interval_ms
        self.weights = weights or MpcWeights()
        self.plans = np.array(
            list(itertools.product(range(len(tiers_kbps)), repeat=horizon)), dtype=np.int64
        )

    def plan(
        self,
        capacity_kbps: float,
        queue_ms: float,
        confidence: np.ndarray | None,
        base_delay_ms: float = 0.0,
    ) -> float:
        """The first rate (kbps) of the best sequence given the predicted capacity and current queue."""
        w = self.weights
        cap = max(capacity_kbps, 1.0)
        acc = accuracy_curve(self.tiers_kbps, confidence)
        queue_bits = np.full(len(self.plans), max(queue_ms, 0.0) * cap)
        score = np.zeros(len(self.plans))
        for k in range(self.horizon):
            rate = self.tiers_kbps[self.plans[:, k]]
            new_bits = np.maximum(0.0, queue_bits + (rate - cap) * self.interval_ms)
            delay_ms = 0.5 * (queue_bits + new_bits) / cap + base_delay_ms
            score += (
                w.accuracy * acc[self.plans[:, k]]
                - w.delay_per_s * np.maximum(0.0, delay_ms - w.delay_budget_ms) / 1000.0
                - w.bits_per_mbps * rate / 1000.0
            )
            queue_bits = new_bits
        best = int(np.argmax(score))
        return float(self.tiers_kbps[self.plans[best, 0]])


def queue_delay_ms(
    send_ms: np.ndarray, arrival_ms: np.ndarray, min_owd_ms: float
) -> tuple[float, float]:
    """(queueing delay of the latest received packet, updated minimum one-way delay)."""
    ok = ~np.isnan(arrival_ms)
    if not ok.any():
        return math.nan, min_owd_ms
    owd = arrival_ms[ok] - send_ms[ok]
    low = min(min_owd_ms, float(owd.min()))
    return float(owd[np.argmax(arrival_ms[ok])]) - low, low
