"""Random region leads: per-question leads in the question book and in the episode plan."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from artic_rl.receiver.questions import QuestionBook

TRACES = str(Path(__file__).resolve().parents[2] / "traces")  # the repository's shipped traces


def test_each_question_has_its_own_lead() -> None:
    book = QuestionBook([2000.0, 5000.0], [500.0, 3000.0])
    assert book.region_at(1400.0) == -1
    assert book.region_at(1500.0) == 0  # 2000 - 500
    assert book.region_at(2000.0) == 1  # 5000 - 3000: the next region is known from 2000 on


def test_a_later_region_known_first_takes_over() -> None:
    # question 1's region is known (at 1000) before question 0's (at 1500): the cloud holds the
    # newest prediction, so question 0's region is never held
    book = QuestionBook([2000.0, 3500.0], [500.0, 2500.0])
    assert book.region_start_ms == [1000.0, 1000.0]
    assert book.region_at(1200.0) == 1


def test_one_lead_per_question_or_an_error() -> None:
    with pytest.raises(ValueError, match="one roi_lead_ms per question"):
        QuestionBook([1000.0, 2000.0], [500.0])


def test_a_lead_range_draws_after_everything_else() -> None:
    from artic_rl.envs.video_chat import VideoChatEnv

    fixed = VideoChatEnv(traces_root=TRACES, preset="lte", split="test")
    ranged = VideoChatEnv(traces_root=TRACES, preset="lte", split="test", roi_lead_ms=[500, 3000])
    fixed.reset(seed=4)
    ranged.reset(seed=4)
    a, b = fixed._plan, ranged._plan
    assert a is not None and b is not None
    assert (a.trace_index, a.start_ms, a.dynamics_seed) == (
        b.trace_index,
        b.start_ms,
        b.dynamics_seed,
    )
    np.testing.assert_array_equal(a.question_ms, b.question_ms)
    np.testing.assert_array_equal(a.inference_ms, b.inference_ms)
    assert np.all(a.roi_lead_ms == 1500.0)
    assert np.all((b.roi_lead_ms >= 500.0) & (b.roi_lead_ms <= 3000.0))
    assert np.ptp(b.roi_lead_ms) > 0.0


@pytest.mark.parametrize("bad", [-1.0, [3000.0, 500.0], [-5.0, 10.0]])
def test_a_bad_lead_is_one_error(bad: object) -> None:
    from artic_rl.envs.video_chat import VideoChatEnv

    with pytest.raises(ValueError, match="roi_lead_ms must be"):
        VideoChatEnv(traces_root=TRACES, preset="lte", split="test", roi_lead_ms=bad)
