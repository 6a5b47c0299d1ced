"""``artic_rl.net.rescale``: the capacity factors that move extra traces into the regime of the
traces they join, worked out by hand."""

from __future__ import annotations

import pytest

from artic_rl.net.rescale import MATCH, checked_scale, extra_factors, quantile_means_mbps


def test_each_trace_gets_the_reference_quantile_of_its_rank() -> None:
    # ranks of [40, 10, 30, 20]: 3 0 2 1; as many traces as reference means: exactly those, sorted
    assert quantile_means_mbps([40, 10, 30, 20], [4, 1, 2, 8]).tolist() == [8, 1, 4, 2]
    # two traces over four means: hazen quantiles 0.25 and 0.75 sit at positions 0.5 and 2.5
    # of the sorted means 1 2 4 8: 1.5 and 6
    assert quantile_means_mbps([50, 30], [4, 1, 2, 8]).tolist() == [6.0, 1.5]
    # one trace: the median; equal means keep the order given
    assert quantile_means_mbps([7], [1, 2, 9]).tolist() == [2.0]
    assert quantile_means_mbps([5, 5], [1, 3]).tolist() == [1.0, 3.0]
    with pytest.raises(ValueError, match="no reference traces"):
        quantile_means_mbps([5], [])


def test_extra_factors_by_scale() -> None:
    assert extra_factors([10, 20], [1, 2], None).tolist() == [1.0, 1.0]
    assert extra_factors([10, 20], [1, 2], 0.1).tolist() == [0.1, 0.1]
    # match: targets 1 and 2 (the reference's own means), over the means 20 and 10
    assert extra_factors([20, 10], [1, 2], MATCH) == pytest.approx([0.1, 0.1])
    assert extra_factors([10, 20], [1, 2], MATCH) == pytest.approx([0.1, 0.1])
    assert extra_factors([40, 10], [1, 2], MATCH) == pytest.approx([0.05, 0.1])


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), "abc", True, [1.0]])
def test_a_scale_is_a_positive_number_or_match(bad: object) -> None:
    with pytest.raises(ValueError, match="must be a number > 0 or 'match'"):
        checked_scale(bad)
    assert checked_scale(None) is None and checked_scale(MATCH) == MATCH
    assert checked_scale(2) == 2.0 and isinstance(checked_scale(2), float)
