"""The rules the simulator and the streamer share, on numbers worked out by hand."""

from __future__ import annotations

import math

import pytest

from artic_rl.receiver import DecodeChain, DecodeLog, MllmSampler, QuestionBook
from artic_rl.receiver.questions import UNANSWERED
from artic_rl.sender.pacer import Pacer

RATE_KBPS = 8.0  # 8 bit/ms = 1 byte/ms: a packet of n bytes takes n ms


def test_pacer_sends_back_to_back_never_before_ready() -> None:
    pacer = Pacer()
    # a frame ready at 5: 10 + 10 + 4 bytes leave at 5, 15, 25; the pacer is free at 29
    assert pacer.pace(5.0, [10, 10, 4], RATE_KBPS) == [5.0, 15.0, 25.0]
    assert pacer.free_ms == 29.0
    assert pacer.departure_ms(20.0) == 29.0  # ready at 20, the pacer is still busy
    pacer.sent(10, RATE_KBPS, 29.0)
    assert pacer.free_ms == 39.0
    assert pacer.departure_ms(50.0) == 50.0  # idle time is never credited


def test_pacer_rebase_keeps_the_schedule() -> None:
    pacer = Pacer()
    pacer.pace(0.0, [10], RATE_KBPS)
    pacer.rebase()  # the simulator's interval boundary: the next packet still waits until 10
    assert pacer.pace(3.0, [10], RATE_KBPS) == [10.0]


def test_pacer_catch_up_credit_absorbs_lateness_up_to_five_ms() -> None:
    pacer = Pacer()
    assert pacer.departure_ms(0.0) == 0.0
    pacer.sent(10, RATE_KBPS, 3.0)  # 3 ms late: within the credit, the schedule holds
    assert pacer.departure_ms(0.0) == 10.0
    pacer.sent(10, RATE_KBPS, 18.0)  # 8 ms late: the 3 ms beyond the credit delay the rest
    assert pacer.departure_ms(0.0) == 18.0 - 5.0 + 10.0
    assert pacer.free_ms == 23.0


def test_decode_chain_breaks_at_a_loss_until_a_keyframe() -> None:
    chain = DecodeChain()
    assert chain.decodable_ms(10.0, complete=True, keyframe=True) == 10.0
    assert chain.decodable_ms(8.0, complete=True, keyframe=False) == 10.0  # decoded in order
    assert math.isnan(chain.decodable_ms(30.0, complete=False, keyframe=False))
    assert math.isnan(chain.decodable_ms(40.0, complete=True, keyframe=False))  # chain broken
    assert chain.decodable_ms(50.0, complete=True, keyframe=True) == 50.0


def test_decode_chain_spaces_its_keyframe_requests() -> None:
    every = DecodeChain()
    assert every.request_keyframe(0.0) and every.request_keyframe(0.0)
    spaced = DecodeChain(pli_interval_ms=300.0)
    assert [spaced.request_keyframe(t) for t in (0.0, 100.0, 299.0, 300.0)] == [
        True,
        False,
        False,
        True,
    ]


def _log(*frames: tuple[int, float, float]) -> DecodeLog:
    log = DecodeLog()
    for frame_id, dec, cap in frames:
        log.add(frame_id, dec, cap)
    return log


def test_question_book_regions_activity_and_answers() -> None:
    book = QuestionBook([1000.0, 3000.0], roi_lead_ms=1500.0)
    assert [book.region_at(t) for t in (-501.0, -500.0, 1499.0, 1500.0)] == [-1, 0, 0, 1]
    assert not book.active(999.0) and book.active(1000.0)
    log = _log((0, 900.0, 800.0), (1, 1200.0, 1100.0), (2, 1500.0, 1400.0))
    # question 0 (asked 1000): frame 1 is the first captured after it, decodable 1200, + 50 ms
    assert book.answer(1249.0, log, [50.0, 50.0]) == []
    assert book.answer(1250.0, log, [50.0, 50.0]) == [(0, 1)]
    assert not book.active(2000.0)
    assert book.answer(3500.0, log, [50.0, 50.0]) == []  # no frame captured after 3000 yet
    assert book.answer(3500.0, log, [50.0, 50.0], final=True) == [(1, UNANSWERED)]


def test_question_book_rejects_unsorted_questions() -> None:
    with pytest.raises(ValueError, match="sorted"):
        QuestionBook([2.0, 1.0], 0.0)


def test_mllm_sampler_takes_the_freshest_frame_and_flags_substitutes() -> None:
    log = _log((0, 100.0, 0.0), (1, 700.0, 600.0))
    sampler = MllmSampler(fps=2.0)
    got = [(s.at_ms, s.position, s.stale) for s in sampler.due(1001.0, log)]
    assert got == [(0.0, -1, True), (500.0, 0, False), (1000.0, 1, False)]
    got = [(s.at_ms, s.position, s.stale) for s in sampler.due(1600.0, log)]
    assert got == [(1500.0, 1, True)]  # frame 1 again: a substitute


def test_loss_notice_waits_for_a_later_packet_or_the_timer() -> None:
    from artic_rl.receiver.loss import LossNotice

    notice = LossNotice()
    notice.wait(1, timer_ms=5226.0)
    notice.wait(2)  # no packet of it arrived: no timer
    assert notice.expire(5225.0) == []
    assert notice.on_arrival(426.0) == [(1, 426.0), (2, 426.0)]
    assert len(notice) == 0
    notice.wait(3, timer_ms=700.0)
    notice.wait(4)
    assert notice.expire(700.0) == [(3, 700.0)]  # the timer fired first
    assert notice.on_arrival(900.0) == [(4, 900.0)]


def test_frozen_time_follows_libwebrtcs_freeze_rule() -> None:
    """Five gaps of 100 ms, then 400 >= max(3 x 100, 100 + 150): a freeze of 400 ms; the gap of
    50 ms to the end is not. A gap of 299 ms after the same history would not be one either."""
    from artic_rl.receiver.stats import frozen_ms

    shown = [0.0, 100.0, 200.0, 300.0, 400.0, 500.0, 900.0]
    assert frozen_ms(shown, 950.0) == 400.0
    assert frozen_ms([*shown[:6], 799.0], 800.0) == 0.0
    assert frozen_ms(shown[:6], 1500.0) == 1000.0  # still frozen at the end
    assert frozen_ms([], 1000.0) == 0.0


def test_a_report_waits_for_the_next_feedback_tick() -> None:
    """Ticks at 0, 50, 100, ...: an event between two goes in the later, one on a tick in that
    tick; interval 0 (no batching) and an event at no finite time give the event's own time."""
    from artic_rl.receiver.reports import report_tick_ms

    assert [report_tick_ms(t, 50.0) for t in (0.0, 0.5, 26.0, 50.0, 50.001, 149.9)] == [
        0.0, 50.0, 50.0, 50.0, 100.0, 150.0,
    ]  # fmt: skip
    assert report_tick_ms(41.0, 13.0) == 52.0 and report_tick_ms(26.0, 13.0) == 26.0
    assert report_tick_ms(26.3, 0.0) == 26.3
    assert report_tick_ms(math.inf, 50.0) == math.inf
    assert math.isnan(report_tick_ms(math.nan, 50.0))
    pytest.importorskip("numba")
    from pathlib import Path

    from artic_rl.backend import kernel_sources
    from artic_rl.envs._timeline_kernels import report_tick_ms as compiled
    from artic_rl.receiver import reports

    # compiled into the timeline's kernels: a change to the rule must drop their numba cache
    assert Path(reports.__file__).resolve() in kernel_sources()

    for t in (0.0, 0.5, 26.0, 50.0, 50.001, 149.9, 1e6 + 1.0 / 3.0, math.inf):
        for every in (0.0, 7.5, 13.0, 50.0):
            assert compiled(t, every) == report_tick_ms(t, every)
    assert math.isnan(compiled(math.nan, 50.0))
