"""When the receiver's batched feedback reports an event: its next feedback tick.

The streamer's receiver (:mod:`artic_rl.runtime.receiver`) sends its packet and frame reports in
one batch every ``feedback_interval_ms``; only NACKs and PLIs leave at once. The simulator's
timeline (``feedback_interval_ms`` of :class:`~artic_rl.envs.video_chat.VideoChatEnv`) holds each
report to the tick that carries it with :func:`report_tick_ms`, in its reference
(:mod:`artic_rl.envs.timeline`) and, compiled by numba, in its kernels
(:mod:`artic_rl.envs._timeline_kernels`, through numba's ``njit``): one rule for both backends.
Plain Python, so that the reference needs no numba. The kernels compile this function in, so
their cache must go when it changes: :func:`artic_rl.backend.kernel_sources` counts this file
among the kernel sources (it names ``njit``), and :func:`artic_rl.backend.guard_kernel_cache`
drops the caches when any of them changed.
"""

from __future__ import annotations

import math


def report_tick_ms(event_ms: float, interval_ms: float) -> float:
    """The first feedback tick at or after ``event_ms``: the ticks are the multiples of
    ``interval_ms`` from the episode's start, and an event exactly on a tick goes in that tick
    (the streamer's receiver handles what arrived before it checks whether a report is due).
    ``interval_ms`` 0 (no batching), or an event at no finite time (NaN, infinity: not learned
    yet), gives ``event_ms`` itself."""
    if interval_ms > 0.0 and math.isfinite(event_ms):
        return math.ceil(event_ms / interval_ms) * interval_ms
    return event_ms


def held_report_ms(now_ms: float, interval_ms: float, delay_ms: float) -> float:
    """The tick of the newest report the sender holds at ``now_ms``: the latest feedback tick at or
    before ``now_ms - delay_ms`` (``delay_ms``: the feedback path's). ``interval_ms`` 0 gives
    ``now_ms - delay_ms`` itself. The cloud's question fields (region, whether a question awaits
    its answer and how long it has) are those of that tick, as the streamer's receiver sends them
    with each batch; negative means no report has arrived yet."""
    t = now_ms - delay_ms
    if interval_ms > 0.0 and math.isfinite(t):
        return math.floor(t / interval_ms) * interval_ms
    return t
