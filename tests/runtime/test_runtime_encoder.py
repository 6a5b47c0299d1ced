"""The streamer's encoder: bitrate increases apply live, without the re-open IDR of the base encoder."""

from __future__ import annotations

import numpy as np
import pytest

from artic_rl.runtime.encoder import LiveRateEncoder, make_encoder
from artic_rl.video.encoder import Encoder, EncoderSettings


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    from artic_rl.video.clips import make_clip

    return list(make_clip(3, 320, 180, 4.0).frames)


def _stream(
    enc: Encoder, frames: list[np.ndarray], rises: dict[int, float]
) -> tuple[list[int], list[int]]:
    """Encode at 10 fps with bitrate changes at capture indices; keyframe indices and sizes."""
    keys, sizes = [], []
    for i, frame in enumerate(frames):
        if i in rises:
            enc.set_bitrate(rises[i])
        out = enc.encode(frame, i * 1000.0 / 30.0)
        if out is not None:
            sizes.append(out.record.size_bytes)
            if out.record.keyframe:
                keys.append(i)
    return keys, sizes


def test_bitrate_rise_is_live_without_idr(frames: list[np.ndarray]) -> None:
    settings = EncoderSettings(320, 180, threads=1)
    base_keys, _ = _stream(Encoder(settings, 100.0, 10.0), frames, {60: 200.0})
    assert base_keys == [0, 60]  # the base encoder re-opens above its opening rate: an IDR
    live = LiveRateEncoder(settings, 100.0, 10.0)
    keys, sizes = _stream(live, frames, {60: 200.0})
    assert keys == [0] and live.reopens == 1
    before, after = sum(sizes[5:20]), sum(sizes[25:40])
    assert after > 1.5 * before  # the higher bitrate took effect


def test_rise_beyond_the_buffer_reopens(frames: list[np.ndarray]) -> None:
    # at 10 fps the 0.5 s buffer holds 2 frames up to 2.5x the opening rate; 3x needs a new codec
    live = LiveRateEncoder(EncoderSettings(320, 180, threads=1), 100.0, 10.0)
    keys, _ = _stream(live, frames, {30: 240.0, 60: 300.0})
    assert keys == [0, 60] and live.reopens == 2
    assert isinstance(make_encoder(live.settings, 100.0, 10.0, live_rate=False), Encoder)
    assert not isinstance(
        make_encoder(live.settings, 100.0, 10.0, live_rate=False), LiveRateEncoder
    )
