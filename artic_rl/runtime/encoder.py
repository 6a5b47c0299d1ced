"""The streamer's encoder: the project's :class:`~artic_rl.video.encoder.Encoder`, opened so that
bitrate increases do not re-open it.

The base encoder opens x264 in CBR at the current bitrate; x264 takes a higher bitrate live only up
to the ``maxrate`` it was opened with, so every increase above it re-opens the codec, and a new codec
starts with an IDR. The simulator never sends those keyframes (its keyframes are the first frame and
the receiver's PLIs), so a policy sees ``since_keyframe`` reset, and pays a keyframe's bytes, on each
increase: inputs it never met in training. :class:`LiveRateEncoder` opens with ``maxrate`` at
``ceiling_kbps`` (the top bitrate tier, in the rate controller's frame-rate-compensated units) and
the VBV buffer sized in real time at the current bitrate (``max(vbv_buffer_s, vbv_min_frames /
fps)`` seconds, as the codec profile was measured); x264 keeps a stream opened in CBR in CBR when
the bitrate changes (``maxrate`` follows it), so every later bitrate up to the ceiling applies live
on the next frame. PyAV cannot change the VBV buffer live, so the codec is re-opened only when the
buffer would hold fewer than ``vbv_min_frames`` frames at the new bitrate (a rise of 2.5x at 10 fps,
7.5x at 30 fps), or when a frame-rate drop takes the compensated bitrate above the ceiling.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from artic_rl.sender.actions import MAX_RATE_KBPS
from artic_rl.video.encoder import Encoder, EncoderSettings, _open_codec
from artic_rl.video.roi import Region


class LiveRateEncoder(Encoder):
    """An :class:`Encoder` whose bitrate rises live up to ``ceiling_kbps`` (bits per second sent)."""

    def __init__(
        self,
        settings: EncoderSettings,
        kbps: float,
        fps: float | None = None,
        roi_level: int = 0,
        region: Region | None = None,
        ceiling_kbps: float = MAX_RATE_KBPS,
    ) -> None:
        self.ceiling_kbps = float(ceiling_kbps)
        self.buffer_kbit = 0.0  # the VBV buffer the codec was opened with (real kbit)
        self.reopens = 0
        super().__init__(settings, kbps, fps, roi_level, region)

    def _ensure_open(self) -> bool:
        s = self.settings
        need_kbit = s.vbv_min_frames / self.sent_fps * self.kbps
        if (
            self._ctx is not None
            and self.encoder_kbps <= self._ceiling_kbps * (1 + 1e-9)
            and need_kbit <= self.buffer_kbit * (1 + 1e-9)
        ):
            return False
        compensation = s.nominal_fps / self.sent_fps
        self._ceiling_kbps = max(self.ceiling_kbps * compensation, self.encoder_kbps)
        self.buffer_kbit = self.kbps * max(s.vbv_buffer_s, s.vbv_min_frames / self.sent_fps)
        # the base opener sizes the buffer as buffer_s x the ceiling's real rate: scale buffer_s
        ceiling_real = self._ceiling_kbps / compensation
        opener = replace(s, vbv_buffer_s=self.buffer_kbit / ceiling_real, vbv_min_frames=0.0)
        self._ctx = _open_codec(opener, self._ceiling_kbps, self.sent_fps)
        self.reopens += 1
        return True


def make_encoder(settings: EncoderSettings, kbps: float, fps: float, live_rate: bool = True) -> Any:
    """The streamer's encoder: :class:`LiveRateEncoder`, or the base one (``live_rate=False``)."""
    if live_rate:
        return LiveRateEncoder(settings, kbps=kbps, fps=fps)
    return Encoder(settings, kbps=kbps, fps=fps)
