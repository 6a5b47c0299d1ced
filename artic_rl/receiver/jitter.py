"""libwebrtc's jitter estimator: a Kalman filter on frame delay against frame size, plus noise.

After ``modules/video_coding/timing/jitter_estimator.cc`` and
``frame_delay_delta_kalman_filter.cc`` (constants and commits: ../shared/research/webrtc-receiver.md,
section 1). Fed, at the moment each frame not delayed by retransmission is released for decoding,
with its delay variation ``d = (recv_k - recv_j) - (ts_k - ts_j)`` against the previous such frame
``j`` and its size. The estimate ``J`` is the jitter buffer's hold: the Kalman filter's size term
for a frame as large as the largest recent one, a noise threshold, 10 ms of operating-system
jitter, ``min(0.9 RTT, 200 ms)`` once 3 frames were NACKed within 60 s, and a scale to zero below
5 fps. ``jitter_model="fixed"`` replaces the first three by a constant and keeps the rest.
"""

from __future__ import annotations

import math
from collections import deque

from artic_rl.receiver.config import WebRtcReceiverConfig

PHI = 0.97  # frame-size EWMA weight
PSI = 0.9999  # decay of the maximum frame size
FS_STARTUP_FRAMES = 5  # the first frame sizes are averaged
DEFAULT_AVG_FRAME_BYTES = 500.0  # frame-size average before the startup frames
MAX_FRAME_SIZE_SIGMA = 2.0  # only frames below avg + 2 sigma update the average
SIZE_OUTLIER_SIGMA = 3.0  # a frame above avg + 3 sigma is always used (a keyframe, say)
DELAY_OUTLIER_SIGMA = 15.0  # larger deviations are outliers
DELAY_CLAMP_SIGMA = 3.5  # the delay is clamped to +-(3.5 sigma + 0.5)
ALPHA_COUNT_MAX = 400  # the noise EWMA's memory, in frames
STARTUP_DELAY_SAMPLES = 30  # the noise weight's frame-rate scale ramps in over these samples
STARTUP_FILTER_FRAMES = 30  # the filtered estimate starts after these frames
NOISE_STD_DEVS = 2.33
NOISE_STD_DEV_OFFSET_MS = 30.0
MAX_ESTIMATE_MS = 10_000.0
FPS_SAMPLES = 30  # frame rate: mean of the last 30 update intervals
MAX_FPS_HZ = 200.0
MS_PER_S = 1000.0
# Kalman filter (frame_delay_delta_kalman_filter.cc): state [slope ms/byte, offset ms]
KALMAN_INIT_SLOPE = 1.0 / (512e3 / 8.0)  # 1 / 64000: a 512 kbit/s channel
KALMAN_INIT_COV = (1e-4, 1e2)
KALMAN_PROCESS_NOISE = (2.5e-10, 1e-10)
KALMAN_MIN_SLOPE = 1e-6


class FrameDelayKalman:
    """Delay variation = slope * size variation + offset, tracked by a two-state Kalman filter."""

    def __init__(self) -> None:
        self.slope, self.offset = KALMAN_INIT_SLOPE, 0.0
        self.p = [[KALMAN_INIT_COV[0], 0.0], [0.0, KALMAN_INIT_COV[1]]]

    def predict_ms(self, size_delta_bytes: float) -> float:
        return self.slope * size_delta_bytes + self.offset

    def update(
        self, delay_ms: float, size_delta_bytes: float, max_size_bytes: float, var_noise: float
    ) -> None:
        if max_size_bytes < 1.0 or var_noise <= 0.0:
            return
        p = self.p
        p[0][0] += KALMAN_PROCESS_NOISE[0]
        p[1][1] += KALMAN_PROCESS_NOISE[1]
        ds = size_delta_bytes
        mh0 = p[0][0] * ds + p[0][1]
        mh1 = p[1][0] * ds + p[1][1]
        sigma = (300.0 * math.exp(-abs(ds) / max_size_bytes) + 1.0) * math.sqrt(var_noise)
        sigma = max(sigma, 1.0)
        denom = ds * mh0 + mh1 + sigma
        if abs(denom) < 1e-9:
            return
        k0, k1 = mh0 / denom, mh1 / denom
        residual = delay_ms - self.predict_ms(ds)
        self.slope = max(self.slope + k0 * residual, KALMAN_MIN_SLOPE)
        self.offset += k1 * residual
        t00, t01 = p[0][0], p[0][1]
        p[0][0] = (1.0 - k0 * ds) * t00 - k0 * p[1][0]
        p[0][1] = (1.0 - k0 * ds) * t01 - k0 * p[1][1]
        p[1][0] = p[1][0] * (1.0 - k1) - k1 * ds * t00
        p[1][1] = p[1][1] * (1.0 - k1) - k1 * ds * t01


class JitterEstimator:
    """The jitter delay ``J`` (ms) of libwebrtc's receiver."""

    def __init__(self, config: WebRtcReceiverConfig) -> None:
        self.config = config
        self.kalman = FrameDelayKalman()
        self.avg_size = DEFAULT_AVG_FRAME_BYTES
        self.var_size = 100.0
        self.max_size = 0.0
        self._startup_sizes: list[float] = []
        self._startup_done = False
        self._prev_size: float | None = None
        self.avg_noise, self.var_noise = 0.0, 4.0
        self._alpha_count = 1
        self._prev_estimate = 0.0
        self._filtered = 0.0
        self._startup_count = 0
        self._last_update_ms: float | None = None
        self._intervals: deque[float] = deque(maxlen=FPS_SAMPLES)
        self.nacked_frames = 0
        self._last_nack_ms = -math.inf

    def fps_hz(self) -> float:
        """Frame rate of the updates: 0 before the second one."""
        if not self._intervals:
            return 0.0
        mean_ms = sum(self._intervals) / len(self._intervals)
        return min(MS_PER_S / mean_ms, MAX_FPS_HZ) if mean_ms > 0.0 else 0.0

    def prewarm_fps(self, fps_hz: float) -> None:
        """Fill the frame-rate window as if frames had come at ``fps_hz`` (a running stream)."""
        self._intervals.extend([MS_PER_S / fps_hz] * FPS_SAMPLES)

    def frame_nacked(self, now_ms: float) -> None:
        """A frame delayed by retransmission was released at ``now_ms``."""
        if self.nacked_frames < self.config.rtt_mult_nacked_frames:
            self.nacked_frames += 1
        self._last_nack_ms = now_ms

    def update(self, delay_ms: float | None, size_bytes: float, now_ms: float) -> None:
        """A frame not delayed by retransmission is released at ``now_ms``; ``delay_ms`` is its
        delay variation against the previous one (None for the first)."""
        if size_bytes <= 0:
            return
        self._update_sizes(size_bytes)
        if self._prev_size is None or delay_ms is None:
            self._prev_size = size_bytes
            return
        size_delta = size_bytes - self._prev_size
        self._prev_size = size_bytes
        sigma_n = math.sqrt(self.var_noise)
        bound = DELAY_CLAMP_SIGMA * sigma_n + 0.5
        delay_ms = min(max(delay_ms, -bound), bound)
        deviation = delay_ms - self.kalman.predict_ms(size_delta)
        big = size_bytes > self.avg_size + SIZE_OUTLIER_SIGMA * math.sqrt(self.var_size)
        if abs(deviation) < DELAY_OUTLIER_SIGMA * sigma_n or big:
            self._noise(deviation, now_ms)
            if size_delta > -0.25 * self.max_size:
                self.kalman.update(delay_ms, size_delta, self.max_size, self.var_noise)
        else:
            self._noise(math.copysign(DELAY_OUTLIER_SIGMA, deviation) * sigma_n, now_ms)
        if self._startup_count >= STARTUP_FILTER_FRAMES:
            self._filtered = self._estimate()
        else:
            self._startup_count += 1

    def _update_sizes(self, size: float) -> None:
        """The first 5 sizes are summed and the 6th frame sets their mean; after that the mean
        (not from frames above it + 2 sigma: keyframes) and the variance are EWMAs."""
        if len(self._startup_sizes) < FS_STARTUP_FRAMES:
            self._startup_sizes.append(size)
        elif not self._startup_done:
            self.avg_size = sum(self._startup_sizes) / FS_STARTUP_FRAMES
            self._startup_done = True
        else:
            avg = PHI * self.avg_size + (1.0 - PHI) * size
            if size < self.avg_size + MAX_FRAME_SIZE_SIGMA * math.sqrt(self.var_size):
                self.avg_size = avg
            dev = size - avg
            self.var_size = max(PHI * self.var_size + (1.0 - PHI) * dev * dev, 1.0)
        self.max_size = max(PSI * self.max_size, size)

    def _noise(self, deviation: float, now_ms: float) -> None:
        if self._last_update_ms is not None:
            self._intervals.append(now_ms - self._last_update_ms)
        self._last_update_ms = now_ms
        alpha = (self._alpha_count - 1) / self._alpha_count
        self._alpha_count = min(self._alpha_count + 1, ALPHA_COUNT_MAX)
        fps = self.fps_hz()
        if fps > 0.0:
            scale = 30.0 / fps
            if self._alpha_count < STARTUP_DELAY_SAMPLES:
                n = self._alpha_count
                scale = (n * scale + (STARTUP_DELAY_SAMPLES - n)) / STARTUP_DELAY_SAMPLES
            alpha = alpha**scale
        avg = alpha * self.avg_noise + (1.0 - alpha) * deviation
        dev = deviation - self.avg_noise
        self.var_noise = max(alpha * self.var_noise + (1.0 - alpha) * dev * dev, 1.0)
        self.avg_noise = avg

    def _estimate(self) -> float:
        """E: the size term for the largest frame plus the noise threshold (>= 1 ms)."""
        noise = max(NOISE_STD_DEVS * math.sqrt(self.var_noise) - NOISE_STD_DEV_OFFSET_MS, 1.0)
        e = self.kalman.slope * (self.max_size - self.avg_size) + noise
        if e < 1.0:
            e = 1.0 if self._prev_estimate <= 0.01 else self._prev_estimate
        e = min(e, MAX_ESTIMATE_MS)
        self._prev_estimate = e
        return e

    def jitter_ms(self, rtt_ms: float, now_ms: float) -> float:
        """The jitter delay J at ``now_ms``."""
        cfg = self.config
        if cfg.jitter_model == "fixed":
            j = cfg.fixed_jitter_ms
        else:
            j = max(self._estimate() + cfg.os_jitter_ms, self._filtered)
        if now_ms - self._last_nack_ms > cfg.rtt_mult_timeout_ms:
            self.nacked_frames = 0
        if self.nacked_frames >= cfg.rtt_mult_nacked_frames:
            j += min(cfg.rtt_mult * rtt_ms, cfg.rtt_mult_cap_ms)
        fps = self.fps_hz()
        if fps == 0.0:
            return max(j, 0.0)
        if fps < cfg.low_fps_hz:
            return 0.0
        if fps < cfg.high_fps_hz:
            j *= (fps - cfg.low_fps_hz) / (cfg.high_fps_hz - cfg.low_fps_hz)
        return max(j, 0.0)
