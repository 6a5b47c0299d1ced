"""``log_rate`` and ``saturation_kbps``: values worked out by hand (ln 40 = 3.688879).

Confidence tiers (BRIEF.md): 200, 400, 610, 910, 1710, 3150 kbps. The saturation bitrate is the
lowest rate whose confidence reaches 0.8, interpolated in log-rate between the tier below and the
first tier that reaches it: ``exp(ln r0 + frac * ln(r1 / r0))`` with
``frac = (0.8 - c0) / (c1 - c0)``; one tier step above the top (3150 x 3150 / 1710) when none does.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from artic_rl.sender.feedback import CONFIDENCE_TIERS_KBPS
from artic_rl.sender.observation import log_rate, saturation_kbps


@pytest.mark.parametrize(
    ("kbps", "expected"),
    [
        (100.0, 0.0),  # ln 1 = 0
        (4000.0, 1.0),  # ln 40 / ln 40
        (160_000.0, 2.0),  # ln 1600 = 2 ln 40
        (200.0, 0.187902),  # ln 2 / ln 40 = 0.693147 / 3.688879
        (50.0, -0.187902),  # ln 0.5 / ln 40
        (300.0, 0.297817),  # ln 3 = 1.098612
        (10.0, -0.624196),  # ln 0.1 = -2.302585
        # below 10 kbps the rate is floored at 10 kbps (not in the docstring's table)
        (5.0, -0.624196),
        (0.0, -0.624196),
        (-3.0, -0.624196),
    ],
)
def test_log_rate_by_hand(kbps: float, expected: float) -> None:
    assert log_rate(kbps) == pytest.approx(expected, abs=1e-6)


def test_confidence_tiers_are_the_authors() -> None:
    assert CONFIDENCE_TIERS_KBPS == (200.0, 400.0, 610.0, 910.0, 1710.0, 3150.0)


@pytest.mark.parametrize(
    ("confidence", "expected"),
    [
        # the first tier already reaches 0.8: 200 kbps, no interpolation
        ([0.9, 1.0, 1.0, 1.0, 1.0, 1.0], 200.0),
        ([0.8, 0.0, 0.0, 0.0, 0.0, 0.0], 200.0),  # exactly 0.8 counts; later tiers ignored
        # 400 (0.7) .. 610 (0.9): frac = 0.1 / 0.2 = 0.5 -> sqrt(400 * 610) = sqrt(244000) = 493.964
        ([0.5, 0.7, 0.9, 1.0, 1.0, 1.0], 493.963561),
        # 610 (0.4) .. 910 (0.8): frac = 0.4 / 0.4 = 1 -> 910 itself
        ([0.1, 0.2, 0.4, 0.8, 0.9, 1.0], 910.0),
        # 1710 (0.5) .. 3150 (0.9): frac = 0.3 / 0.4 = 0.75 -> exp(0.25 ln 1710 + 0.75 ln 3150)
        # = exp(0.25 x 7.444249 + 0.75 x 8.055158) = exp(7.902431) = 2703.846
        ([0.0, 0.0, 0.0, 0.0, 0.5, 0.9], 2703.845941),
        # not monotone: the first tier reaching 0.8 is 400 (0.85), from 200 (0.5):
        # frac = 0.3 / 0.35 = 6/7 -> 200 x 2 ** (6/7) = 200 x 1.811447 = 362.289
        ([0.5, 0.85, 0.6, 0.9, 1.0, 1.0], 362.289466),
        # no tier reaches 0.8: 3150 x 3150 / 1710 = 9922500 / 1710 = 5802.632 (x 1.842105)
        ([0.79, 0.79, 0.79, 0.79, 0.79, 0.79], 5802.631579),
        ([0.0, 0.0, 0.0, 0.0, 0.0, 0.0], 5802.631579),
    ],
)
def test_saturation_kbps_by_hand(confidence: list[float], expected: float) -> None:
    assert saturation_kbps(np.array(confidence)) == pytest.approx(expected, rel=1e-8)


def test_saturation_kbps_accepts_a_list() -> None:
    # 910 (0.6) .. 1710 (1.0): frac 0.5 -> sqrt(910 * 1710) = sqrt(1556100) = 1247.437
    conf = [0.0, 0.0, 0.0, 0.6, 1.0, 1.0]
    assert saturation_kbps(conf) == pytest.approx(1247.437373, rel=1e-8)  # type: ignore[arg-type]


def test_saturation_kbps_with_other_tiers() -> None:
    tiers = (100.0, 1000.0)
    # 100 (0.6) .. 1000 (1.0): frac 0.5 -> sqrt(100 * 1000) = 316.228
    assert saturation_kbps(np.array([0.6, 1.0]), tiers) == pytest.approx(316.227766, rel=1e-8)
    # 0.8 reached nowhere: 1000 x 1000 / 100 = 10000
    assert saturation_kbps(np.array([0.0, 0.4]), tiers) == pytest.approx(10_000.0, rel=1e-12)
    # frac 0.25: 100 x 10 ** 0.25 = 177.828
    assert saturation_kbps(np.array([0.7, 1.1]), tiers) == pytest.approx(177.827941, rel=1e-8)


def test_no_tier_step_is_the_ratio_of_the_two_top_tiers() -> None:
    # the docstring's "x 1.84": 3150 / 1710 = 1.842105
    top = saturation_kbps(np.zeros(6))
    assert top / 3150.0 == pytest.approx(1.842105, abs=1e-6)
    # its log rate stays inside the feature's bounds [-1, 2]: ln 58.026 / ln 40 = 1.100848
    assert log_rate(top) == pytest.approx(1.100848, abs=1e-6)
    assert math.isfinite(top)
