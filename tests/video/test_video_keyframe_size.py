"""The codec profile's keyframes: the measured keyframe size, not scaled by a P-frame residual.

x264's keyframes at a bitrate are nearly constant in size; the P frames' residuals the profile
resamples span 0.1x to 2.5x. Scaling a keyframe by one made the simulator's first keyframe at
264 kbps about 3 kB against a real encoder's 11-15 kB (issue 16), and the webrtc receiver's jitter
buffer, which holds frames by the largest one it has seen, then held the simulated stream's frames
far less than the streamed ones.
"""

from __future__ import annotations

import numpy as np
import pytest

from artic_rl.video.profile import CodecProfile


def test_keyframe_takes_the_measured_keyframe_size() -> None:
    prof = CodecProfile.default()
    key = np.zeros(6, bool)
    key[0] = key[3] = True
    for kbps in (100.0, 264.0, 910.0):
        expected = round(prof._cell(kbps, 30.0, 0).key_bytes)
        for seed in range(20):
            sizes = prof.frame_sizes_bytes(kbps, 30.0, 0, 6, np.random.default_rng(seed), key)
            assert sizes[0] == expected and sizes[3] == expected
    # the P frames still vary (the residuals are drawn as before)
    p = prof.frame_sizes_bytes(264.0, 30.0, 0, 200, np.random.default_rng(0))
    assert p.std() > 0.2 * p.mean()


@pytest.mark.parametrize("kbps", [35.0, 389.0, 401.73, 2222.2, 4000.0, 9000.0])
@pytest.mark.parametrize("fps", [30.0, 10.0, 12.0])
def test_the_compiled_row_holds_the_memoised_cells_values(kbps: float, fps: float) -> None:
    """``sizes_row`` (the compiled timeline's row, built for the encoder's off-grid rates) gives
    each value of ``_cell`` bit for bit, on and between the grid's rates."""
    profile = CodecProfile.default()
    for level in profile.roi_levels:
        cell = profile._cell(kbps, fps, level)
        row = profile.sizes_row(kbps, fps, level, 0.5)
        head = [cell.p_bytes, cell.key_bytes, cell.payback, float(cell.settle), 0.5]
        assert row.tolist() == head + list(cell.pool)
