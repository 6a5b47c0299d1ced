"""``Trace.opportunities_through``: the per-millisecond count table equals a binary search per entry."""

from __future__ import annotations

import numpy as np
import pytest

from artic_rl.net import Trace


@pytest.mark.parametrize("seed", range(5))
def test_table_equals_a_search_per_millisecond(seed: int) -> None:
    rng = np.random.default_rng(seed)
    period = int(rng.integers(1, 3000))
    opps = np.sort(rng.integers(0, period + 1, size=int(rng.integers(1, 4000))))  # 0 and period too
    trace = Trace("rand", opps, period)
    expected = np.searchsorted(opps, np.arange(period, dtype=np.int64), side="right")
    table = trace.opportunities_through
    assert table is not None and table.dtype == np.int64
    assert np.array_equal(table, expected)


def test_hand_worked_table() -> None:
    # opportunities at 0, 2, 2 and 5 ms, repeating every 5 ms: the one at 5 belongs to no entry
    trace = Trace("hand", np.array([0, 2, 2, 5]), 5)
    assert trace.opportunities_through.tolist() == [1, 1, 3, 3, 3]
