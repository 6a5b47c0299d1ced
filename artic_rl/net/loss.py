"""Random loss after the bottleneck (mm-loss style): independent and Gilbert-Elliott bursty loss.

Every model draws from the ``np_random`` it is given; a model that has state (Gilbert-Elliott)
carries it from one batch of packets to the next.
"""

from __future__ import annotations

import enum
from typing import Protocol

import numpy as np


class LossModel(Protocol):
    """Decides which of the next ``n`` packets are lost (True = lost)."""

    def sample(self, n: int, np_random: np.random.Generator) -> np.ndarray: ...


class BernoulliLoss:
    """Each packet is lost independently with probability ``p`` (mm-loss)."""

    def __init__(self, p: float) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"loss probability must be in [0, 1], got {p}")
        self.p = float(p)

    def sample(self, n: int, np_random: np.random.Generator) -> np.ndarray:
        if self.p == 0.0:
            return np.zeros(n, dtype=bool)
        return np_random.random(n) < self.p

    def __repr__(self) -> str:
        return f"BernoulliLoss(p={self.p})"


class ChannelState(enum.Enum):
    GOOD = 0
    BAD = 1


class GilbertElliottLoss:
    """Two-state Markov (Gilbert-Elliott) bursty loss.

    Each packet is lost with ``loss_good`` or ``loss_bad`` according to the current state; after
    each packet the state moves GOOD -> BAD with ``p_good_to_bad`` and BAD -> GOOD with
    ``p_bad_to_good``. The mean loss rate is ``(p_gb * loss_bad + p_bg * loss_good) /
    (p_gb + p_bg)`` and the mean burst (BAD sojourn) is ``1 / p_bg`` packets. The chain starts in
    GOOD.
    """

    def __init__(
        self,
        p_good_to_bad: float,
        p_bad_to_good: float,
        loss_good: float = 0.0,
        loss_bad: float = 1.0,
    ) -> None:
        for name, value in (
            ("p_good_to_bad", p_good_to_bad),
            ("p_bad_to_good", p_bad_to_good),
            ("loss_good", loss_good),
            ("loss_bad", loss_bad),
        ):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        self.p_good_to_bad = float(p_good_to_bad)
        self.p_bad_to_good = float(p_bad_to_good)
        self.loss_good = float(loss_good)
        self.loss_bad = float(loss_bad)
        self.state = ChannelState.GOOD
        self._left_in_state = 0  # packets left in the current sojourn (0 = draw a new one)

    @property
    def mean_loss(self) -> float:
        total = self.p_good_to_bad + self.p_bad_to_good
        if total == 0.0:
            return self.loss_good
        return (self.p_good_to_bad * self.loss_bad + self.p_bad_to_good * self.loss_good) / total

    def _sojourn(self, np_random: np.random.Generator) -> int:
        leave = self.p_good_to_bad if self.state is ChannelState.GOOD else self.p_bad_to_good
        if leave == 0.0:
            return 1 << 62
        return int(np_random.geometric(leave))

    def states(self, n: int, np_random: np.random.Generator) -> np.ndarray:
        """The state (True = BAD) of each of the next ``n`` packets, advancing the chain."""
        bad = np.empty(n, dtype=bool)
        filled = 0
        while filled < n:
            if self._left_in_state == 0:
                self._left_in_state = self._sojourn(np_random)
            run = min(self._left_in_state, n - filled)
            bad[filled : filled + run] = self.state is ChannelState.BAD
            filled += run
            self._left_in_state -= run
            if self._left_in_state == 0:
                self.state = (
                    ChannelState.BAD if self.state is ChannelState.GOOD else ChannelState.GOOD
                )
        return bad

    def sample(self, n: int, np_random: np.random.Generator) -> np.ndarray:
        bad = self.states(n, np_random)
        p = np.where(bad, self.loss_bad, self.loss_good)
        return np_random.random(n) < p

    def __repr__(self) -> str:
        return (
            f"GilbertElliottLoss(p_good_to_bad={self.p_good_to_bad}, "
            f"p_bad_to_good={self.p_bad_to_good}, loss_good={self.loss_good}, "
            f"loss_bad={self.loss_bad})"
        )


def as_loss_model(loss: float | LossModel | None) -> LossModel | None:
    """``None`` or 0 -> no loss; a float -> :class:`BernoulliLoss`; a model stays itself."""
    if loss is None:
        return None
    if isinstance(loss, int | float):
        return None if loss == 0 else BernoulliLoss(float(loss))
    return loss
