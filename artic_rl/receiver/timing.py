"""libwebrtc's render timing: when a frame should be shown, and the current playout delay.

After ``modules/video_coding/timing/timing.cc`` and ``timestamp_extrapolator.cc`` (commits in
../shared/research/webrtc-receiver.md, section 1). A frame's render time is the local time its
capture timestamp is expected to complete (:class:`TimestampExtrapolator`) plus the current delay;
the current delay starts at the first jitter delay and grows only with lateness, up to the target
``J + decode + render`` (:class:`PlayoutDelay`).
"""

from __future__ import annotations

from artic_rl.receiver.config import WebRtcReceiverConfig

TICKS_PER_MS = 90.0  # RTP video clock, 90 kHz
EXTRAPOLATOR_IDLE_RESET_MS = 10_000.0  # reset after 10 s without an update
EXTRAPOLATOR_START_PACKETS = 2  # before this many updates, extrapolate from the last one
EXTRAPOLATOR_P_RESET = 1e10  # the offset's variance at (re)start and on a CUSUM alarm
CUSUM_CLIP_TICKS = 7000.0  # the residual is clipped to +-7000 ticks
CUSUM_DRIFT_TICKS = 6600.0
CUSUM_ALARM_TICKS = 60_000.0


class TimestampExtrapolator:
    """Local completion time of an RTP timestamp: recursive least squares (forgetting 1) of the
    completion times of frames not delayed by retransmission against their timestamps, with a
    CUSUM detector that reopens the offset on a jump in delay."""

    def __init__(self) -> None:
        self._reset(0.0)
        self.updates = 0

    def _reset(self, now_ms: float) -> None:
        self.start_ms = now_ms
        self.w = [TICKS_PER_MS, 0.0]
        self.p = [[1.0, 0.0], [0.0, EXTRAPOLATOR_P_RESET]]
        self.first_ts: float | None = None
        self.prev_ts = 0.0
        self.prev_ms = now_ms
        self.updates = 0
        self._pos, self._neg = 0.0, 0.0

    def update(self, now_ms: float, ts_ticks: float) -> None:
        """A frame with timestamp ``ts_ticks`` completed at ``now_ms``."""
        if self.updates and now_ms - self.prev_ms > EXTRAPOLATOR_IDLE_RESET_MS:
            self._reset(now_ms)
        if self.first_ts is None:
            self.start_ms = now_ms
            self.first_ts = ts_ticks
        if self.updates and ts_ticks < self.prev_ts:
            return  # reordered
        self.prev_ms = now_ms
        t = now_ms - self.start_ms
        ts = ts_ticks - self.first_ts
        residual = ts - self.w[0] * t - self.w[1]
        if self._delay_change(residual) and self.updates >= EXTRAPOLATOR_START_PACKETS:
            self.p[1][1] = EXTRAPOLATOR_P_RESET
        p = self.p
        ph0 = p[0][0] * t + p[0][1]
        ph1 = p[1][0] * t + p[1][1]
        denom = 1.0 + t * ph0 + ph1
        k0, k1 = ph0 / denom, ph1 / denom
        self.w = [self.w[0] + k0 * residual, self.w[1] + k1 * residual]
        self.p = [
            [
                p[0][0] - (k0 * t * p[0][0] + k0 * p[1][0]),
                p[0][1] - (k0 * t * p[0][1] + k0 * p[1][1]),
            ],
            [
                p[1][0] - (k1 * t * p[0][0] + k1 * p[1][0]),
                p[1][1] - (k1 * t * p[0][1] + k1 * p[1][1]),
            ],
        ]
        self.prev_ts = ts_ticks
        self.updates += 1

    def _delay_change(self, residual: float) -> bool:
        error = min(max(residual, -CUSUM_CLIP_TICKS), CUSUM_CLIP_TICKS)
        self._pos = max(self._pos + error - CUSUM_DRIFT_TICKS, 0.0)
        self._neg = min(self._neg + error + CUSUM_DRIFT_TICKS, 0.0)
        if self._pos > CUSUM_ALARM_TICKS or -self._neg > CUSUM_ALARM_TICKS:
            self._pos, self._neg = 0.0, 0.0
            return True
        return False

    def local_ms(self, ts_ticks: float) -> float | None:
        """Expected completion time of ``ts_ticks`` (None before any update)."""
        if self.first_ts is None or self.updates == 0:
            return None
        if self.updates < EXTRAPOLATOR_START_PACKETS:
            return self.prev_ms + (ts_ticks - self.prev_ts) / TICKS_PER_MS
        if self.w[0] < 1e-3:
            return self.start_ms
        return self.start_ms + (ts_ticks - self.first_ts - self.w[1]) / self.w[0]


class PlayoutDelay:
    """The current delay (ms) and the render time of a frame (VCMTiming)."""

    def __init__(self, config: WebRtcReceiverConfig) -> None:
        self.config = config
        self.jitter_ms = 0.0
        self.current_ms = 0.0
        self.decode_ms = 0.0  # the decode-time estimate D
        self._started = False

    def target_ms(self) -> float:
        cfg = self.config
        return max(cfg.min_playout_delay_ms, self.jitter_ms + self.decode_ms + cfg.render_delay_ms)

    def set_jitter(self, jitter_ms: float) -> None:
        self.jitter_ms = jitter_ms
        if not self._started and self.current_ms == 0.0:
            self.current_ms = jitter_ms
        self._started = True

    def render_ms(self, completion_ms: float) -> float:
        cfg = self.config
        delay = min(max(self.current_ms, cfg.min_playout_delay_ms), cfg.max_playout_delay_ms)
        return completion_ms + delay

    def on_release(self, render_ms: float, now_ms: float) -> None:
        """A frame not delayed by retransmission is released: lateness grows the current delay."""
        late = (now_ms - render_ms) + self.decode_ms + self.config.render_delay_ms
        if late < 0.0:
            return
        target = self.target_ms()
        self.current_ms = self.current_ms + late if self.current_ms + late <= target else target


def render_at_ms(render_ms: float, done_ms: float, render_delay_ms: float) -> float:
    """When a frame decoded by ``done_ms`` reaches the sink (prerenderer smoothing)."""
    return max(done_ms, render_ms - render_delay_ms)
